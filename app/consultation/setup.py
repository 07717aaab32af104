"""What connects consultations to the other features when a desk starts (the manifest's
``setup``): the intake asks ``claim_reply`` about every mail, the template editor knows the
consultation notices' placeholders. Neither feature imports this one."""

from __future__ import annotations

from app.consultation import services, texts
from app.mail import side_replies


def connect() -> None:
    services.install_hooks()
    side_replies.install(services.claim_reply)
    texts.register_placeholders()
