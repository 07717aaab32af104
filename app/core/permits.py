"""The one narrow exception to the closed loop: erasing a person's data on request (GDPR).

Events are never edited and closed-loop rows never deleted: the ORM refuses it
(``app.audit.tracking``) and so do database triggers (migrations 0001 and 0032). Erasure must
nevertheless overwrite what an Event says about the person. It does so inside
``erasure_permit(session)``, which lets *updates of Event rows* through, for the current
transaction only, and nothing else (deletes stay refused everywhere):

* PostgreSQL: ``set_config('loopdesk.erasure', 'on', true)``, a transaction-local setting the
  trigger function ``loopdesk_forbid()`` honours for ``UPDATE`` (``SET LOCAL``: it ends with
  the transaction, whatever happens, and no other connection sees it);
* SQLite: the trigger asks ``loopdesk_erasing()``, a function the desk registers on its own
  connections (``app.extensions``) that answers 1 only inside the permit. Any other client
  (the ``sqlite3`` shell) has no such function, so the trigger still refuses the update.

Only ``app.privacy.services.erase_customer`` opens a permit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import scoped_session

_erasing: ContextVar[bool] = ContextVar("loopdesk_erasing", default=False)

POSTGRES_SETTING = "loopdesk.erasure"


def erasing() -> bool:
    """True inside ``erasure_permit``: Event rows may be overwritten (never deleted)."""
    return _erasing.get()


def sqlite_erasing() -> int:
    """``loopdesk_erasing()`` of the SQLite trigger."""
    return 1 if _erasing.get() else 0


@contextmanager
def erasure_permit(session) -> Iterator[None]:
    """Let this transaction overwrite Event rows (see the module docstring). The caller
    commits inside the block, or the permit ends with the rollback."""
    if isinstance(session, scoped_session):
        session = session.registry()
    postgres = session.get_bind().dialect.name == "postgresql"
    token = _erasing.set(True)
    try:
        if postgres:
            session.execute(
                text("SELECT set_config(:name, 'on', true)"), {"name": POSTGRES_SETTING}
            )
        yield
    finally:
        _erasing.reset(token)
        if postgres and session.in_transaction():
            try:
                session.execute(
                    text("SELECT set_config(:name, 'off', true)"), {"name": POSTGRES_SETTING}
                )
            except SQLAlchemyError:
                pass  # a failed transaction: its rollback ends the setting anyway
