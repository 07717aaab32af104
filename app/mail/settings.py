"""Intake settings: the app config wins, then an environment variable of the same name, then
the default. (They are not in config.py so the mail intake stays one self-contained feature.)

* ``INBOUND_MAX_BYTES`` (50 MB): largest message the webhook and the pipe accept.
* ``INTAKE_ATTACHMENTS_MAX_BYTES`` (30 MB): attachments taken in per message; above it the raw
  mail is kept, the case flagged and the sender told.
* ``AUTO_MAIL_LIMITS`` (``10:10,30:15,60:25,180:50,600:100``): per recipient, at most N
  automatic mails in M minutes (``M:N`` pairs).
* ``MAIL_ALLOW_REMOTE_IMAGES`` (off): let https images in mail HTML load (tracking pixels!).
"""

from __future__ import annotations

import os

from flask import current_app

DEFAULTS = {
    "INBOUND_MAX_BYTES": 50 << 20,
    "INTAKE_ATTACHMENTS_MAX_BYTES": 30 << 20,
    "AUTO_MAIL_LIMITS": ((10, 10), (30, 15), (60, 25), (180, 50), (600, 100)),
    "MAIL_ALLOW_REMOTE_IMAGES": False,
}


def _parse(name: str, text: str):
    if name == "AUTO_MAIL_LIMITS":
        pairs = [p.split(":") for p in text.split(",") if p.strip()]
        return tuple((int(m), int(n)) for m, n in pairs)
    if name == "MAIL_ALLOW_REMOTE_IMAGES":
        return text.strip().lower() in ("1", "true", "yes", "on")
    return int(text)


def setting(name: str):
    value = current_app.config.get(name)
    if value not in (None, ""):
        return value
    env = os.environ.get(name)
    if env:
        try:
            return _parse(name, env)
        except ValueError:
            pass
    return DEFAULTS[name]
