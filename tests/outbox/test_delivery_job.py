"""The immediate delivery job: a commit that queues mail puts one job on the ``mail`` queue,
and a worker running it delivers the mail at once (not only the periodic round)."""

from __future__ import annotations

import pytest
from rq import SimpleWorker

from app.extensions import db
from app.jobs.queue import connection, enqueue, get_queue
from app.outbox.models import OutboxMail, OutboxStatus
from app.outbox.services import queue_mail


@pytest.fixture
def app_config(app_config):
    app_config["OUTBOX_ENQUEUE_ON_COMMIT"] = True
    return app_config


def test_the_job_queued_by_a_commit_delivers_the_mail(app, desk, sink):
    row = queue_mail(
        kind="reply",
        to="alice@customer.test",
        subject="Re: question",
        text="The answer.",
        case=desk.case_a,
    )
    db.session.commit()
    queue = get_queue("mail")
    [job] = queue.get_jobs()
    assert job.func_name == "app.outbox.tasks.deliver_outbox"
    assert job.kwargs == {}  # RQ's options are not the function's arguments
    assert job.result_ttl == 60

    SimpleWorker([queue], connection=connection()).work(burst=True)

    assert job.get_status(refresh=True) == "finished"
    db.session.expire_all()
    assert db.session.get(OutboxMail, row.id).status == OutboxStatus.SENT
    assert [m["To"] for m in sink.messages] == ["alice@customer.test"]


def test_an_unknown_job_option_is_refused_when_queued(app):
    with pytest.raises(TypeError, match="job_result_tll"):
        enqueue(print, "x", queue="mail", job_result_tll=60)
    assert get_queue("mail").count == 0
