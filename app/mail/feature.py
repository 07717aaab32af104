"""Manifest of the mail intake: mailboxes, channels, raw mail, quarantine, category rules
(see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, READ, SUPERVISOR, WRITE

FEATURE = Feature(
    name="mail",
    models=("app.mailcore.models", "app.mail.models", "app.mail.channels.models"),
    views="app.mail.views:register",
    cli="app.mail.cli:register",
    jobs="app.mail.tasks:periodic_jobs",
    settings="app.mail.settings:SETTINGS",
    record_rules="app.mail.record_rules:RULES",
    write_rules="app.mail.record_rules:WRITE_RULES",
    permissions={
        AGENT: [["Mailbox", READ]],
        SUPERVISOR: [
            ["(Mailbox|CategoryRule)", WRITE],
            ["RawMessage", READ],
            ["RawMessage", "can_reprocess"],
            ["AutomaticMail", "can_(list|show|open_as_case)"],
        ],
        MANAGER: [["(Mailbox|RawMessage|CategoryRule)", READ]],
    },
)
