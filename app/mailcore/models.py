"""The mailbox: where mail comes in and whom replies go out from (shared by intake and outbox)."""

from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

from app.core.encryption import EncryptedText


class Mailbox(Model):
    """A supervised mailbox: where mail comes from (inbound) and whom replies come from."""

    __tablename__ = "mailbox"

    id = Column(Integer, primary_key=True)
    address = Column(String(320), nullable=False, unique=True)
    display_name = Column(String(256), nullable=True)
    pool_id = Column(Integer, ForeignKey("pool.id"), nullable=False, index=True)
    pool = relationship("Pool", back_populates="mailboxes")
    active = Column(Boolean, nullable=False, default=True)

    # Inbound: imap, pop3, pipe, webhook or none.
    inbound_protocol = Column(String(16), nullable=False, default="pipe")
    inbound_host = Column(String(256), nullable=True)
    inbound_port = Column(Integer, nullable=True)
    inbound_security = Column(String(16), nullable=False, default="ssl")  # ssl, starttls, none
    inbound_username = Column(String(256), nullable=True)
    # Secrets are stored encrypted (app.core.encryption) and never shown again.
    inbound_secret = Column(
        EncryptedText(sqlite_length=512), nullable=True
    )  # password or OAuth2 token
    inbound_auth = Column(String(16), nullable=False, default="password")  # password, xoauth2
    inbound_folder = Column(String(256), nullable=False, default="INBOX")
    webhook_secret = Column(EncryptedText(sqlite_length=128), nullable=True)
    last_fetch_at = Column(DateTime, nullable=True)
    last_success_at = Column(DateTime, nullable=True)
    last_error = Column(Text, nullable=True)
    # Fetching (IMAP/POP3, app.mail.channels): what happens on the server once a message is
    # stored: keep, flag (IMAP: set inbound_flag), move (IMAP: to inbound_processed_folder)
    # or delete (POP3 only).
    inbound_after_fetch = Column(String(16), nullable=False, default="flag")
    inbound_flag = Column(String(64), nullable=False, default="\\Seen")
    inbound_processed_folder = Column(String(256), nullable=True)
    inbound_max_size = Column(Integer, nullable=True)  # bytes; empty: MAIL_FETCH_MAX_SIZE
    fetch_failures = Column(Integer, nullable=False, default=0)  # failed rounds in a row

    # Outbound identity; empty relay fields fall back to the desk's MAIL_* settings.
    sender_name = Column(String(256), nullable=True)
    smtp_host = Column(String(256), nullable=True)
    smtp_port = Column(Integer, nullable=True)
    smtp_security = Column(String(16), nullable=True)
    smtp_username = Column(String(256), nullable=True)
    smtp_secret = Column(EncryptedText(sqlite_length=512), nullable=True)

    # OAuth2 (app.mailcore.oauth): connected from the mailbox page. The access token lives in
    # inbound_secret (XOAUTH2 for IMAP, POP3 and SMTP), the refresh token here; both encrypted.
    oauth_provider = Column(String(16), nullable=True)  # microsoft, google
    oauth_refresh_token = Column(EncryptedText(), nullable=True)
    oauth_expires_at = Column(DateTime, nullable=True)  # of the access token (UTC)
    # The grant was revoked or expired (invalid_grant): fetching stops and outgoing mail
    # waits until an admin connects the mailbox again.
    oauth_needs_reconnect = Column(Boolean, nullable=False, default=False)
    oauth_reconnect_reason = Column(Text, nullable=True)

    # Auto-response for new cases from this mailbox; empty: the pool's setting decides.
    auto_response_enabled = Column(Boolean, nullable=True)
    auto_response_text = Column(Text, nullable=True)

    @property
    def oauth_state(self) -> str:
        """What the mailbox list shows about OAuth2."""
        if self.oauth_needs_reconnect:
            return f"needs reconnect: {self.oauth_reconnect_reason or ''}".strip()
        return f"connected ({self.oauth_provider})" if self.oauth_provider else ""

    def __repr__(self) -> str:
        return self.address


class OAuthState(Model):
    """One started authorisation (the ``state`` parameter): single use, bound to the admin
    and his session, with the PKCE verifier (encrypted)."""

    __tablename__ = "mailbox_oauth_state"

    id = Column(Integer, primary_key=True)
    nonce = Column(String(64), nullable=False, unique=True)
    mailbox_id = Column(Integer, ForeignKey("mailbox.id"), nullable=False, index=True)
    mailbox = relationship("Mailbox")
    provider = Column(String(16), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    session_binding = Column(String(64), nullable=False)  # sha256 of a value in the session
    code_verifier = Column(EncryptedText(), nullable=False)
    created_at = Column(DateTime, nullable=False)
    used_at = Column(DateTime, nullable=True)
