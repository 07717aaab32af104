"""Errors that services raise and that views, the API and the CLI turn into clear messages."""


class DeskError(Exception):
    """Base class of every error a user may see; its message is meant for people."""

    status_code = 400


class IllegalTransition(DeskError):
    """A case was asked to move between two statuses that the state machine does not link."""

    status_code = 409


class AccessDenied(DeskError):
    """The acting user may not see or change this record (record rules)."""

    status_code = 404  # do not reveal that the record exists


class DeletionForbidden(DeskError):
    """Cases, messages, raw messages and events are never deleted: the loop stays closed."""

    status_code = 405


class ConfigurationError(DeskError):
    """A setting is wrong or a server it names cannot be reached; one line says which."""
