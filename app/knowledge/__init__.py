"""The knowledge base: articles of standard answers, inserted into replies, suggested in the
portal."""
