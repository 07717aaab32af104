"""Mailboxes, raw mail and attachments: everything that arrives is stored before it is parsed."""
