"""DeskApiKey: one key of the REST API; only its SHA-256 is stored."""

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

from app.core.timeutil import utcnow


class DeskApiKey(Model):
    """A key ``ldk_<43 random characters>`` (32 random bytes) that acts as ``user`` with only
    ``role`` (one of the user's roles). The key is shown once, when it is made; the desk keeps
    its SHA-256 (``key_hash``) and its first characters (``prefix``) to tell keys apart.
    Keys are revoked, never deleted: the Events and the last use stay readable."""

    __tablename__ = "desk_api_key"

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    user = relationship("User", foreign_keys=[user_id])
    role_id = Column(Integer, ForeignKey("ab_role.id"), nullable=False)
    role = relationship("Role")
    prefix = Column(String(16), nullable=False)
    key_hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    created_by = relationship("User", foreign_keys=[created_by_id])
    last_used_at = Column(DateTime, nullable=True)
    revoked_at = Column(DateTime, nullable=True)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
