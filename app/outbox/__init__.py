"""The transactional outbox: every mail the desk sends is first a row, written in the same
transaction as the change that caused it; a job delivers the rows with retries."""
