"""The job that finishes mail a crash left stored but unprocessed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.core.timeutil import utcnow
from app.extensions import db
from app.mail.intake import IncomingMail, receive_many
from app.mail.models import RawMessage
from app.mail.tasks import process_stale_stored
from tests.mail.helpers import make_mail


def test_mail_left_stored_by_a_crash_is_processed_by_the_job(desk):
    stored = receive_many(
        [IncomingMail(make_mail(subject=f"left {n}"), desk.mailbox_a, "import") for n in range(3)],
        process=False,  # the process died right after the store commit
    )
    fresh = receive_many([IncomingMail(make_mail(), desk.mailbox_a, "pipe")], process=False)
    old_ids = [r.raw_id for r in stored]
    db.session.execute(
        update(RawMessage)
        .where(RawMessage.id.in_(old_ids))
        .values(received_at=utcnow() - timedelta(minutes=30))
    )
    db.session.commit()

    assert process_stale_stored() == {"processed": 3}

    rows = {row.id: row for row in db.session.query(RawMessage)}
    assert all(rows[i].status == "processed" and rows[i].case_id for i in old_ids)
    # A mail stored moments ago may still be on its way through its batch: left alone.
    assert rows[fresh[0].raw_id].status == "stored"
    assert process_stale_stored() == {}
