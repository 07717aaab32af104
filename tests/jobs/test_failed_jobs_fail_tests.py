"""A job that raises fails the test that ran it (tests/support/jobs.py, checked by the ``app``
fixture and the production fixture): a broken job can no longer pass unnoticed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rq import SimpleWorker

from app.jobs.queue import connection, enqueue, get_queue
from tests.support.jobs import check_no_failed_jobs, failed_jobs


def broken_job(word):
    raise RuntimeError(f"the job is broken: {word}")


def _request(*markers):
    return SimpleNamespace(
        node=SimpleNamespace(get_closest_marker=lambda name: name if name in markers else None)
    )


@pytest.mark.job_failure_expected
def test_a_failed_job_is_reported_with_its_error(app):
    enqueue(broken_job, "sprocket", queue="default")
    SimpleWorker([get_queue("default")], connection=connection()).work(burst=True)

    [line] = failed_jobs(connection())
    assert "broken_job" in line and "the job is broken: sprocket" in line
    with pytest.raises(pytest.fail.Exception, match="a job raised during this test"):
        check_no_failed_jobs(_request(), [line])
    check_no_failed_jobs(_request("job_failure_expected"), [line])  # marked: allowed


def test_a_desk_without_failed_jobs_passes(app):
    enqueue(print, "fine", queue="default")
    SimpleWorker([get_queue("default")], connection=connection()).work(burst=True)
    assert failed_jobs(connection()) == []
