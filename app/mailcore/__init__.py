"""What the intake (``app.mail``) and the outbox (``app.outbox``) share: the mailbox, the desk's
signed identities (Message-IDs, case tags, reply tokens, the loop header) and the desk's own
addresses.

The outbox stamps outgoing mail with these and the intake recognises them on the way back, so
both import this package and neither imports the other's (import-linter keeps it so).
"""
