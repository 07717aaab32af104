"""Failed jobs fail the test that caused them: a job that raises in a worker (the embedded one,
a ``SimpleWorker`` in a test, or a real ``rq worker``) lands in RQ's failed-job registry, which
nobody would look at, so the fixtures look at it after every test. A test that means a job to
fail says so with ``@pytest.mark.job_failure_expected``."""

from __future__ import annotations

from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry

QUEUES = ("default", "mail", "reports")


def failed_job_ids(connection, queues=QUEUES) -> set[str]:
    return {
        job_id
        for name in queues
        for job_id in FailedJobRegistry(queue=Queue(name, connection=connection)).get_job_ids()
    }


def failed_jobs(connection, queues=QUEUES, before: frozenset[str] = frozenset()) -> list[str]:
    """One line per failed job on ``queues`` (not counting those in ``before``): the queue,
    the function and the last line of its error."""
    found = []
    for name in queues:
        registry = FailedJobRegistry(queue=Queue(name, connection=connection))
        for job_id in registry.get_job_ids():
            if job_id in before:
                continue
            try:
                job = Job.fetch(job_id, connection=connection)
                error = (job.latest_result().exc_string or "").strip().splitlines()
                found.append(f"{name}: {job.func_name}: {error[-1] if error else 'failed'}")
            except Exception as exc:  # noqa: BLE001 - still a failed job, whatever its record
                found.append(f"{name}: job {job_id}: {exc}")
    return found


def check_no_failed_jobs(request, failed: list[str]) -> None:
    """Fail ``request``'s test when a job failed, unless it is marked as expecting that."""
    if request.node.get_closest_marker("job_failure_expected"):
        return
    if failed:
        import pytest

        pytest.fail("a job raised during this test:\n  " + "\n  ".join(failed), pytrace=False)
