"""The embedded default: jobs run in a thread of the web process, no Redis server needed."""

import time

from app.audit.models import Event
from app.extensions import db


def test_embedded_worker_runs_enqueued_jobs(app_config):
    from app import create_app
    from app.jobs.queue import enqueue
    from app.jobs.tasks import heartbeat

    app_config["EMBEDDED_WORKER"] = True
    app = create_app(app_config)
    worker = app.extensions["loopdesk_embedded_worker"]
    try:
        with app.app_context():
            job = enqueue(heartbeat, "embedded-token")
            deadline = time.time() + 30
            while time.time() < deadline and str(job.get_status(refresh=True).value) != "finished":
                time.sleep(0.1)
            assert str(job.get_status().value) == "finished"
            db.session.expire_all()
            beats = db.session.query(Event).filter_by(action="worker.heartbeat").all()
            assert any(b.details == {"token": "embedded-token"} for b in beats)
    finally:
        worker.stop()
        worker.join(timeout=10)
    assert not worker.is_alive()


def test_embedded_worker_is_off_without_the_flag(app):
    assert "loopdesk_embedded_worker" not in app.extensions


def test_rq_cron_config_registers_the_periodic_jobs():
    from rq import cron

    from app.schedule import PERIODIC_JOBS

    cron._job_data_registry.clear()
    import importlib

    import app.cron_config as cfg

    importlib.reload(cfg)
    registered = {d["func"].__name__ for d in cron._job_data_registry}
    assert {f.__name__ for f, _q, _i in PERIODIC_JOBS} <= registered
