"""Errors that services raise and that views, the API and the CLI turn into clear messages."""


class DeskError(Exception):
    """Base class of every error a user may see; its message is meant for people."""

    status_code = 400


class Conflict(DeskError):
    """The request does not fit the record's present state (a closed case, a case someone
    else has just claimed); the same request may succeed once the state changes."""

    status_code = 409


class CaseChanged(Conflict):
    """The case changed since the user loaded it (another agent replied, closed it, took
    it, …): his form was written for a state that is gone. The message says what changed, who
    changed it and when; reloading shows it."""


class IllegalTransition(Conflict):
    """A case was asked to move between two statuses that the state machine does not link."""


class AccessDenied(DeskError):
    """The acting user may not see this record (record rules): reported as "not found", so
    nobody learns that a record outside his pools exists."""

    status_code = 404  # do not reveal that the record exists


class Forbidden(DeskError):
    """The acting user may see the record but may not do this with it (a role or a rule of
    the service says no); the message says which rule."""

    status_code = 403


class DeletionForbidden(DeskError):
    """Cases, messages, raw messages and events are never deleted: the loop stays closed."""

    status_code = 405


class ConfigurationError(DeskError):
    """A setting is wrong or a server it names cannot be reached; one line says which."""
