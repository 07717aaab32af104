"""The one-time login links of the customer portal."""

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

from app.core.timeutil import utcnow


class PortalLoginLink(Model):
    """A login link mailed to a customer: it opens a portal session listing all his cases,
    once, until ``expires_at``. Only the hash of its secret is kept, so a copy of the
    database opens nobody's cases."""

    __tablename__ = "portal_login_link"

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False, index=True)
    secret_sha256 = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)
    used_at = Column(DateTime, nullable=True)
    # The client address that asked for it and the one that used it (abuse reviews).
    requested_from = Column(String(64), nullable=True)
    used_from = Column(String(64), nullable=True)

    customer = relationship("Customer")
