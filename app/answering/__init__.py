"""Answering: canned responses, pool headers and footers, agent signatures, the document
library, customer notifications and the agent's case actions (reply, forward, postpone, close,
reopen, approval of replies)."""
