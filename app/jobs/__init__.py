"""Background jobs on RQ: the queue connection, the embedded worker and the job functions.

The database is the source of truth: a job only carries the id of a row (an outbox mail, a
report run) or nothing at all, so a job lost with Redis is rebuilt from the database.
"""
