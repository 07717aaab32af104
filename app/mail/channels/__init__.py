"""Fetching channels: IMAP (imap-tools) and POP3 (poplib) hand raw bytes to the intake service.

``app.mail.fetch`` runs one round per mailbox; the channels here only talk to the server and
keep the bookkeeping (UIDVALIDITY/UID per folder, seen UIDLs) that makes a round repeatable.
"""
