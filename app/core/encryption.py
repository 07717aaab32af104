"""Secrets at rest: mailbox passwords, OAuth tokens and webhook tokens are stored encrypted.

A column declared ``EncryptedText`` holds ``fernet:<token>`` (Fernet from ``cryptography``:
AES-128-CBC with an HMAC-SHA256, so a changed value is refused, not decrypted to garbage).
Code reads and writes plain text; only the database and its backups see the tokens.

The keys come from ``SECRETS_KEY``: one or more Fernet keys, separated by commas
(``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``).
The first encrypts; every one of them decrypts (``MultiFernet``). To rotate: put the new key
first and keep the old one after it, run ``flask desk rotate-secrets`` (re-encrypts every
stored secret under the first key), then drop the old key. Without ``SECRETS_KEY`` (a
development desk) the key is derived from ``SECRET_KEY`` and a warning says so: changing
``SECRET_KEY`` would then make the stored secrets unreadable.

A value without the prefix is plain text from before encryption: it is read as it is, and
the migration (0009) and ``rotate-secrets`` encrypt it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Iterator
from typing import Any

from flask import current_app
from sqlalchemy import String, Text, literal, select, type_coerce, update
from sqlalchemy.types import TypeDecorator

from app.errors import ConfigurationError

log = logging.getLogger(__name__)

PREFIX = "fernet:"
_EXTENSION = "loopdesk_fernet"


class SecretUnreadable(ConfigurationError):
    """A stored secret that none of the configured keys decrypts."""


def parse_keys(value: Any) -> tuple[str, ...]:
    """``SECRETS_KEY``: comma-separated Fernet keys (the setting's parser)."""
    keys = tuple(part.strip() for part in str(value).split(",") if part.strip())
    if not keys:
        raise ValueError("no key given")
    for key in keys:
        # Fernet's own check, without importing cryptography when the desk starts.
        try:
            valid = len(base64.urlsafe_b64decode(key.encode())) == 32
        except (binascii.Error, ValueError):
            valid = False
        if not valid:
            raise ValueError("each key must be a Fernet key (32 url-safe base64-encoded bytes)")
    return keys


def derived_key(secret_key: str) -> str:
    """The development key: a Fernet key derived from ``SECRET_KEY``."""
    digest = hashlib.sha256(b"loopdesk secrets at rest\0" + str(secret_key).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def keys_of(config) -> tuple[str, ...]:
    configured = config.get("SECRETS_KEY")
    if configured:
        return tuple(configured)
    return (derived_key(config["SECRET_KEY"]),)


def install_encryption(app) -> None:
    """Take the app's keys as configured now. The cipher is built when a secret is first
    read or written: a process that touches none (``mail pipe``) does not import
    cryptography, and the warning about a derived key comes where it matters."""
    app.extensions.pop(_EXTENSION, None)


def _fernet():
    fernet = current_app.extensions.get(_EXTENSION)
    if fernet is None:
        # Not at the top: imported on first use (see install_encryption).
        from cryptography.fernet import Fernet, MultiFernet

        config = current_app.config
        if not config.get("SECRETS_KEY") and not config.get("TESTING"):
            log.warning(
                "SECRETS_KEY is unset: mailbox passwords and tokens are encrypted with a key "
                "derived from SECRET_KEY; set SECRETS_KEY in production (see README, Security)"
            )
        fernet = MultiFernet([Fernet(k.encode()) for k in keys_of(config)])
        current_app.extensions[_EXTENSION] = fernet
    return fernet


def _invalid_token() -> type[Exception]:
    from cryptography.fernet import InvalidToken  # not at the top: see install_encryption

    return InvalidToken


def encrypt(text: str) -> str:
    return PREFIX + _fernet().encrypt(text.encode()).decode()


def is_encrypted(stored: str | None) -> bool:
    return bool(stored) and str(stored).startswith(PREFIX)


def decrypt(stored: str) -> str:
    if not is_encrypted(stored):
        return stored  # plain text from before encryption
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except _invalid_token():
        raise SecretUnreadable(
            "a stored secret cannot be decrypted with SECRETS_KEY: keep the old key after "
            "the new one until `flask desk rotate-secrets` has run"
        ) from None


def reencrypt(stored: str) -> str:
    """``stored`` under the first key (plain text is encrypted)."""
    if not is_encrypted(stored):
        return encrypt(stored)
    try:
        return PREFIX + _fernet().rotate(stored[len(PREFIX) :].encode()).decode()
    except _invalid_token():
        raise SecretUnreadable(
            "a stored secret cannot be decrypted with any key of SECRETS_KEY"
        ) from None


class EncryptedText(TypeDecorator):
    """Text stored encrypted (see the module doc); ``None`` and ``""`` stay as they are.

    The column is ``TEXT`` (a token is about 1.4 times the text plus 60 characters). SQLite
    keeps the declaration the column had before encryption (``sqlite_length``): SQLite
    ignores declared lengths, and changing a declaration there means rebuilding the table,
    which the foreign keys that point at it make unsafe on a live desk."""

    impl = Text
    cache_ok = True

    def __init__(self, sqlite_length: int | None = None):
        super().__init__()
        self.sqlite_length = sqlite_length

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite" and self.sqlite_length:
            return String(self.sqlite_length)
        return Text()

    def process_bind_param(self, value, dialect):
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def process_result_value(self, value, dialect):
        if value is None or value == "":
            return value
        return decrypt(value)


def encrypted_columns(metadata) -> Iterator[tuple[Any, list[Any]]]:
    """(table, [its EncryptedText columns]) for every table that has any."""
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, EncryptedText)]
        if columns:
            yield table, columns


def rotate_secrets(connection, metadata) -> int:
    """Re-encrypt every stored secret under the first key (plain text too); returns how
    many values were rewritten."""
    rewritten = 0
    for table, columns in encrypted_columns(metadata):
        key = next(iter(table.primary_key.columns))
        # type_coerce: the stored text, past the type's decryption.
        raw = [type_coerce(c, Text()) for c in columns]
        for row in connection.execute(select(key, *raw)):
            changes = {}
            for column, stored in zip(columns, row[1:], strict=True):
                if stored:
                    changes[column.name] = literal(reencrypt(stored), Text())
            if changes:
                connection.execute(update(table).where(key == row[0]).values(changes))
                rewritten += len(changes)
    return rewritten
