"""The periodic jobs of the desk: every feature's (its manifest's ``jobs``), in one list used
by ``rq cron`` (``app.cron_config``) and the embedded worker."""

from app.features import periodic_jobs

PERIODIC_JOBS = periodic_jobs()
