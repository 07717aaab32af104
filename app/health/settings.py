"""Settings of health and metrics (see ``app.core.settings``).

* ``METRICS_TOKEN`` (unset): the token a Prometheus scrape of ``/metrics`` presents; unset,
  ``/metrics`` does not exist (404), so a desk never publishes its figures by accident.
"""

from __future__ import annotations

from app.core.settings import Setting, define, text
from app.core.settings import setting as setting  # the one reader, re-exported

SETTINGS = define(
    [
        Setting(
            "METRICS_TOKEN",
            None,
            text,
            "token of /metrics (Bearer header or ?token=); unset: /metrics answers 404",
            secret=True,
        ),
    ]
)
