"""Health and metrics of a running desk: ``GET /health`` for load balancers and ``GET /metrics``
for Prometheus. Both are computed from the database (and Redis) when asked, so every gunicorn
process answers the same, whichever one the request reaches."""
