"""Settings of the mail intake and of fetching (see ``app.core.settings``).

* ``INBOUND_MAX_BYTES`` (50 MB): largest message the webhook and the pipe accept.
* ``INTAKE_ATTACHMENTS_MAX_BYTES`` (30 MB): attachments taken in per message; above it the raw
  mail is kept, the case flagged and the sender told.
* ``MAIL_ALLOW_REMOTE_IMAGES`` (off): let https images in mail HTML load (tracking pixels!).
* ``MAIL_SPOOL_DIR`` (unset): the spool of ``bin/loopdesk-pipe``, drained every minute.
* ``MAIL_FETCH_*``: how IMAP and POP3 mailboxes are fetched.
"""

from __future__ import annotations

from app.core.settings import Setting, boolean, define, integer, number, text
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
    ]
)
