"""Settings of the mail intake and of fetching (see ``app.core.settings``).

* ``INBOUND_MAX_BYTES`` (50 MB): largest message the webhook and the pipe accept.
* ``INTAKE_ATTACHMENTS_MAX_BYTES`` (30 MB): attachments taken in per message; above it the raw
  mail is kept, the case flagged and the sender told.
* ``MAIL_ALLOW_REMOTE_IMAGES`` (off): let https images in mail HTML load (tracking pixels!).
* ``MAIL_SPOOL_DIR`` (unset): the spool of ``bin/loopdesk-pipe``, drained every minute.
* ``MAIL_FETCH_*``: how IMAP and POP3 mailboxes are fetched.
* ``OAUTH_*``: the desk's OAuth2 clients for cloud mailboxes (``app.mailcore.oauth``).
"""

from __future__ import annotations

from app.core.settings import Setting, boolean, define, integer, number, text, url
from app.core.settings import setting as setting  # the one reader, re-exported for the intake

SETTINGS = define(
    [
        Setting(
            "INBOUND_MAX_BYTES",
            50 << 20,
            integer(minimum=1024),
            "largest message the webhook and the pipe accept",
        ),
        Setting(
            "INTAKE_ATTACHMENTS_MAX_BYTES",
            30 << 20,
            integer(minimum=0),
            "attachments taken in per message (beyond: raw kept, case flagged, sender told)",
        ),
        Setting(
            "MAIL_ALLOW_REMOTE_IMAGES",
            False,
            boolean,
            "load https images in mail HTML (they are tracking pixels)",
        ),
        Setting(
            "MAIL_SPOOL_DIR",
            None,
            text,
            "spool directory of bin/loopdesk-pipe the desk drains (unset: no spool)",
        ),
        Setting(
            "MAIL_FETCH_INTERVAL",
            60,
            integer(minimum=10),
            "seconds between two scheduled IMAP/POP3 rounds",
        ),
        Setting(
            "MAIL_FETCH_TIMEOUT",
            60.0,
            number(minimum=1),
            "seconds an IMAP/POP3 server may take to answer",
        ),
        Setting(
            "MAIL_FETCH_MAX_SIZE",
            50 << 20,
            integer(minimum=1024),
            "mail larger than this is not downloaded (headers quarantined)",
        ),
        Setting(
            "MAIL_FETCH_ALLOW_PLAINTEXT",
            False,
            boolean,
            "allow unencrypted IMAP/POP3 to hosts other than loopback",
        ),
        Setting("MAIL_FETCH_CA_FILE", None, text, "CA bundle for private IMAP/POP3 servers"),
        *[
            item
            for name, label, authorize, token, scopes in (
                (
                    "MICROSOFT",
                    "Microsoft 365",
                    "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
                    "https://login.microsoftonline.com/common/oauth2/v2.0/token",
                    "offline_access https://outlook.office.com/IMAP.AccessAsUser.All "
                    "https://outlook.office.com/POP.AccessAsUser.All "
                    "https://outlook.office.com/SMTP.Send",
                ),
                (
                    "GOOGLE",
                    "Google",
                    "https://accounts.google.com/o/oauth2/v2/auth",
                    "https://oauth2.googleapis.com/token",
                    "https://mail.google.com/",
                ),
            )
            for item in (
                Setting(f"OAUTH_{name}_CLIENT_ID", None, text, f"{label} OAuth2 client id"),
                Setting(
                    f"OAUTH_{name}_CLIENT_SECRET",
                    None,
                    text,
                    f"{label} OAuth2 client secret (may be a fernet: token)",
                    secret=True,
                ),
                Setting(
                    f"OAUTH_{name}_AUTHORIZE_URL",
                    authorize,
                    url("https", "http"),
                    f"{label} authorisation endpoint",
                ),
                Setting(
                    f"OAUTH_{name}_TOKEN_URL",
                    token,
                    url("https", "http"),
                    f"{label} token endpoint",
                ),
                Setting(f"OAUTH_{name}_SCOPES", scopes, text, f"{label} scopes (space-separated)"),
            )
        ],
        Setting(
            "OAUTH_REFRESH_MINUTES",
            5,
            integer(minimum=0),
            "refresh an OAuth2 access token this many minutes before it expires",
        ),
        Setting(
            "OAUTH_HOLD_SECONDS",
            600,
            integer(minimum=10),
            "outgoing mail of a mailbox that needs reconnecting waits this long between checks",
        ),
    ]
)
