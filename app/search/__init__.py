"""Search over cases, messages, customers, intake answers and attachment names."""
