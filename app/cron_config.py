"""Configuration file for ``rq cron app.cron_config --url $REDIS_URL``."""

from rq import cron

from app.schedule import PERIODIC_JOBS

for func, queue_name, interval in PERIODIC_JOBS:
    cron.register(func, queue_name, interval=interval)
