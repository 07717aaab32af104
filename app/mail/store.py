"""Content-addressed file store for big raw mail and for attachments.

Files live under ``FILE_STORE`` as ``ab/cd/<sha256>``. A file is written to a temporary name in
the store, fsync'd and renamed into place, so a crash never leaves a half-written file under a
real name, and the same content is kept once however often it arrives. Input is streamed in
chunks, so a 25 MB mail never sits in memory more than once.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

CHUNK = 1 << 20
# Raw mail above this size goes to disk; smaller mail stays in RawMessage.content.
INLINE_LIMIT = 1 << 20


def root() -> Path:
    return Path(current_app.config["FILE_STORE"])


def path_for(sha256: str) -> Path:
    return root() / sha256[:2] / sha256[2:4] / sha256


def relative_path(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


@dataclass
class Stored:
    sha256: str
    size: int
    path: str | None  # relative path in the store, None when kept in memory
    content: bytes | None  # the bytes, when small enough to keep inline
    created: bool = False  # this write put a new file into the store

    def discard(self) -> None:
        """Remove the file again if this write created it (its database row failed)."""
        if self.created and self.path:
            try:
                (root() / self.path).unlink()
            except OSError:
                pass


class StoreWriter:
    """Write a stream of chunks; hash as it goes; spill to a temp file past ``inline_limit``."""

    def __init__(self, inline_limit: int | None = None):
        self.inline_limit = INLINE_LIMIT if inline_limit is None else inline_limit
        self.hash = hashlib.sha256()
        self.size = 0
        self.buffer: bytearray | None = bytearray()
        self.file = None
        self.tmp_name: str | None = None

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.hash.update(chunk)
        self.size += len(chunk)
        if self.buffer is not None:
            self.buffer += chunk
            if len(self.buffer) > self.inline_limit:
                self._spill()
        else:
            self.file.write(chunk)

    def _spill(self) -> None:
        base = root()
        base.mkdir(parents=True, exist_ok=True)
        fd, self.tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=base)
        self.file = os.fdopen(fd, "wb")
        self.file.write(self.buffer)
        self.buffer = None

    def finish(self) -> Stored:
        """Rename the temp file to its content address (fsync'd) or return the bytes."""
        sha = self.hash.hexdigest()
        if self.file is None:
            return Stored(sha, self.size, None, bytes(self.buffer or b""))
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        target = path_for(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        created = not target.exists()
        os.replace(self.tmp_name, target)
        fsync_dir(target.parent)
        self.tmp_name = None
        return Stored(sha, self.size, relative_path(sha), None, created)

    def abort(self) -> None:
        if self.file is not None and not self.file.closed:
            self.file.close()
        if self.tmp_name and os.path.exists(self.tmp_name):
            os.unlink(self.tmp_name)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (where the platform allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def put_stream(stream, *, inline_limit: int | None = None, max_bytes: int | None = None) -> Stored:
    """Store a binary stream. ``max_bytes`` raises ``TooLarge`` once the stream exceeds it."""
    writer = StoreWriter(inline_limit)
    try:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            writer.write(chunk)
            if max_bytes is not None and writer.size > max_bytes:
                raise TooLarge(f"message larger than {max_bytes} bytes")
        return writer.finish()
    except BaseException:
        writer.abort()
        raise


def put_bytes(data: bytes, *, inline_limit: int | None = None) -> Stored:
    """Store bytes: inline when small, else as a file (written once per content)."""
    sha = hashlib.sha256(data).hexdigest()
    limit = INLINE_LIMIT if inline_limit is None else inline_limit
    if len(data) <= limit:
        return Stored(sha, len(data), None, data)
    target = path_for(sha)
    if not target.exists():
        writer = StoreWriter(inline_limit=0)
        try:
            view = memoryview(data)
            for start in range(0, len(data), CHUNK):
                writer.write(view[start : start + CHUNK])
            return writer.finish()
        except BaseException:
            writer.abort()
            raise
    return Stored(sha, len(data), relative_path(sha), None)


def put_file(data: bytes) -> str:
    """Store bytes as a file whatever their size (attachments); return the sha256."""
    return put_bytes(data, inline_limit=-1).sha256


def open_path(relative: str):
    return open(root() / relative, "rb")


def open_blob(sha256: str):
    return open(path_for(sha256), "rb")


def read_blob(sha256: str) -> bytes:
    with open_blob(sha256) as fh:
        return fh.read()


def open_raw(raw_message):
    """A binary stream of a RawMessage's bytes, wherever they are kept."""
    if raw_message.content is not None:
        return io.BytesIO(raw_message.content)
    return open_path(raw_message.path)


def raw_bytes(raw_message) -> bytes:
    with open_raw(raw_message) as fh:
        return fh.read()


class TooLarge(Exception):
    """The input exceeds a configured size limit."""
