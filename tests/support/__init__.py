"""Helpers that several test folders share (conftest files hold only fixtures)."""
