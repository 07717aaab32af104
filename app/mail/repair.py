"""Repairs for mail as real senders write it (issue 8 item 11), used by ``app.mail.parsing``.

Each function here takes something the stdlib parser mis-reads and gives back what the sender
meant, so the desk does not lose parts, names or senders:

* a ``boundary`` parameter folded inside its value (``"abc\\r\\n\\t.def"``): the candidates the
  body may really use;
* a header block with a garbage line before the real headers (or blank lines above it): the
  block without it, so ``From`` is not taken for body text;
* raw 8-bit header bytes that are UTF-8 except for a stray byte: decoded run by run;
* a sender line without angle brackets (``a@x b@x``, ``Big Bug bb@bug.com``): the first real
  address (and the words before it as the name);
* uuencoded files in a plain body (``begin 644 name`` … ``end``): cut out as attachments;
* file names with path parts (``/x/..\\y.gif``): the base name only;
* input that is not mail at all: why (empty, an Outlook ``.msg``, no header).

Everything here is pure (bytes and strings in, bytes and strings out) and runs only when the
cheap test for its problem hits, so ordinary mail pays nothing for it.
"""

from __future__ import annotations

import binascii
import mimetypes
import re

# --- input that is not mail --------------------------------------------------------------

NOT_MAIL = "not an RFC 5322 message"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Outlook .msg, .doc, .xls: an OLE container

# Headers that (almost) every mail has one of; a header block without any is not a mail.
MAIL_HEADERS = frozenset(
    {
        "from",
        "sender",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "reply-to",
        "return-path",
        "received",
        "delivered-to",
        "envelope-to",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "dkim-signature",
        "authentication-results",
        "x-mailer",
        "x-original-to",
        "user-agent",
    }
)


def why_not_mail(raw_head: bytes, header_names) -> str | None:
    """The quarantine reason when ``raw_head`` (the start of the input) is not a mail, else None.

    ``header_names`` are the names the parser found in the header block."""
    if not raw_head.strip():
        return f"{NOT_MAIL}: the input is empty"
    if raw_head.lstrip().startswith(OLE_MAGIC):
        return (
            f"{NOT_MAIL}: an Outlook .msg file (OLE compound document); "
            "save the mail as .eml and import that"
        )
    if not any(str(name).lower() in MAIL_HEADERS for name in header_names):
        return f"{NOT_MAIL}: no mail header (From, To, Subject, Date …) before the body"
    return None


# --- the header block ----------------------------------------------------------------------

_HEADER_LINE = re.compile(rb"([!-9;-~]+)[ \t]*:")
_MAX_GARBAGE_RUN = 3  # longer runs of non-header lines are the body (no blank line before it)
_HEAD_SCAN_LINES = 300


def repair_header_block(raw: bytes) -> bytes | None:
    """``raw`` without garbage lines among (or blank lines above) its headers, or None if
    there is nothing to repair.

    The stdlib parser ends the header block at the first line that is no header, so a junk
    line before ``From:`` turns every header into body text. A run of up to three such lines
    is dropped when a known mail header follows it in the block; a longer run (or one with no
    known header after it) is where the body begins, as before.
    """
    split = split_header_block(raw)
    if split is None or not split[2]:
        return None
    headers, body, _ = split
    return headers + b"\r\n" + body


def split_header_block(raw: bytes) -> tuple[bytes, bytes, bool] | None:
    """(the header lines, everything after the block, whether lines were dropped); the body
    part starts after the blank line, or at the line that began the body without one. None
    if there is no header line at all."""
    lines = raw[: 1 << 16].splitlines(keepends=True)[:_HEAD_SCAN_LINES]
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    kinds = []  # per line: "known", "header", "cont", "garbage"; the block ends at a blank line
    for index in range(start, len(lines)):
        line = lines[index]
        if not line.strip():
            break
        match = _HEADER_LINE.match(line)
        if match:
            name = match.group(1).decode("ascii").lower()
            kinds.append("known" if name in MAIL_HEADERS else "header")
        elif line[:1] in (b" ", b"\t") and kinds and kinds[-1] != "garbage":
            kinds.append("cont")
        elif index == start and line.startswith(b"From "):  # an mbox separator line
            kinds.append("header")
        else:
            kinds.append("garbage")
    keep: list[bytes] = []
    dropped = False
    end = len(kinds)  # the block's end: the blank line, or a garbage line the body begins at
    index = 0
    while index < len(kinds):
        if kinds[index] != "garbage":
            keep.append(lines[start + index])
            index += 1
            continue
        run_end = index
        while run_end < len(kinds) and kinds[run_end] == "garbage":
            run_end += 1
        if run_end - index <= _MAX_GARBAGE_RUN and "known" in kinds[run_end:]:
            dropped = True
            index = run_end
            continue
        end = index
        break
    if not keep:
        return None
    offset = sum(len(line) for line in lines[: start + end])
    if end == len(kinds) and start + end < len(lines):
        offset += len(lines[start + end])  # the blank line itself
    return b"".join(keep), raw[offset:], dropped or start > 0


# --- headers -------------------------------------------------------------------------------


def decode_runs(data: bytes) -> str:
    """8-bit header bytes: the UTF-8 runs as UTF-8, each byte that is not UTF-8 as cp1252.

    A header written in UTF-8 by a client that let one cp1252 byte slip in keeps its UTF-8
    text instead of becoming cp1252 mojibake as a whole; a header in cp1252 or latin-1
    throughout is read as such (its bytes are not UTF-8, one at a time)."""
    out = []
    position = 0
    while position < len(data):
        try:
            out.append(data[position:].decode("utf-8"))
            break
        except UnicodeDecodeError as exc:
            bad_start = position + exc.start
            bad_end = position + max(exc.end, exc.start + 1)
            out.append(data[position:bad_start].decode("utf-8"))
            out.append(data[bad_start:bad_end].decode("cp1252", "replace"))
            position = bad_end
    return "".join(out)


_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*")


def addresses_in(value: str) -> list[tuple[str, str]]:
    """(name, address) for every address written in ``value``, in order, for sender lines the
    address parser cannot read (``a@x b@x``, ``Big Bug bb@bug.com``); the name is the text
    before the first address when it holds no address itself."""
    found = []
    seen = set()
    previous_end = 0
    for match in _ADDRESS.finditer(value):
        address = match.group(0).strip(".").lower()
        local, _, domain = address.partition("@")
        if not local or not domain or address in seen:
            previous_end = match.end()
            continue
        name = value[previous_end : match.start()].strip(" \t<>\"',;:()")
        if "@" in name:
            name = ""
        seen.add(address)
        found.append((name, address))
        previous_end = match.end()
    return found


# --- file names ----------------------------------------------------------------------------


def base_filename(name: str | None) -> str | None:
    """The last part of a file name that may carry a path (``/x/..\\y.gif`` -> ``y.gif``):
    a sender's directories mean nothing here, and ``..`` must never reach a file system."""
    if not name:
        return name
    parts = [p.strip() for p in re.split(r"[\\/]", name)]
    parts = [p for p in parts if p and p not in (".", "..")]
    if not parts:
        return None
    base = parts[-1]
    if len(base) > 2 and base[1] == ":" and base[0].isalpha():  # C:file.txt
        base = base[2:]
    return base or None


# --- folded boundaries -----------------------------------------------------------------------


def boundary_candidates(value: str | None) -> list[str]:
    """The boundaries a folded ``boundary`` value may stand for, the likeliest first.

    Mailers that wrap long header lines sometimes break inside the value; the body then uses
    it without the line break and the indent (``abc\\r\\n\\t.def`` is ``abc.def``). RFC
    unfolding keeps the indent, so that reading is tried too."""
    if not value or "\n" not in value:
        return [value] if value else []
    candidates = [
        re.sub(r"\r?\n[ \t]*", "", value),
        re.sub(r"\r?\n", "", value),
        re.sub(r"\s+", "", value),
    ]
    out = []
    for candidate in candidates:
        candidate = candidate.strip()
        if candidate and candidate not in out:
            out.append(candidate)
    return out


def unfolded_boundary(value: str | None) -> str | None:
    """The boundary to use when the body cannot be searched first (the streaming reader)."""
    candidates = boundary_candidates(value)
    return candidates[0] if candidates else None


# --- uuencoded files ---------------------------------------------------------------------

_UU_BLOCK = re.compile(
    r"^begin[ \t]+[0-7]{3,4}[ \t]+([^\r\n]+?)[ \t]*\r?\n(.*?)^end[ \t]*(?:\r?\n|\Z)",
    re.MULTILINE | re.DOTALL,
)


def _uudecode(block: str) -> bytes | None:
    chunks = []
    for line in block.splitlines():
        line = line.rstrip("\r")
        if not line:
            continue
        try:
            raw = line.encode("ascii")
        except UnicodeEncodeError:
            return None
        try:
            chunks.append(binascii.a2b_uu(raw))
        except binascii.Error:
            # trailing junk some encoders add: keep just the bytes the length says
            count = (((raw[0] - 32) & 63) * 4 + 5) // 3
            try:
                chunks.append(binascii.a2b_uu(raw[:count]))
            except binascii.Error:
                return None
    return b"".join(chunks)


def extract_uuencoded(text: str) -> tuple[str, list[tuple[str, str, bytes]]]:
    """``text`` without its uuencoded files, and the files as (name, content type, bytes).

    Old clients (and some scanners' reports) put files into a plain body as ``begin 644
    name`` … ``end``; a mail client shows them as attachments, not as lines of noise. A
    block that does not decode stays in the text."""
    if "begin " not in text:
        return text, []
    files = []
    pieces = []
    position = 0
    for match in _UU_BLOCK.finditer(text):
        data = _uudecode(match.group(2))
        if data is None:
            continue
        name = base_filename(match.group(1).strip().strip('"')) or "attachment"
        ctype = mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
        files.append((name, ctype, data))
        pieces.append(text[position : match.start()])
        position = match.end()
    if not files:
        return text, []
    pieces.append(text[position:])
    remaining = re.sub(r"(?:[ \t]*\r?\n){3,}", "\n\n", "".join(pieces))
    return remaining, files
