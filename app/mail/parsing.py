"""Turn raw mail bytes into what the desk needs: addresses, subject, threading headers, the body
as text and sanitised HTML, attachments and delivery reports.

Real mail is messy (see the project notes): about one message in thirteen trips the stdlib
parser somewhere. So:

* the stdlib parser runs with ``policy.default`` and every step is guarded; if the structured
  walk fails, the message is parsed again with ``compat32`` and walked the legacy way;
* headers are read raw (``raw_items``) and decoded here: RFC 2047 words, and raw 8-bit bytes
  recovered run by run (UTF-8 where they are UTF-8, cp1252 for the stray bytes). This is also
  the lazy part: no header object is built for the dozens of headers nobody looks at;
* charset labels are mapped the way browsers do (WHATWG: latin-1 is cp1252, gb2312 is gb18030
  ...) but not trusted: strict decoding, then UTF-8, then detection; only what is left
  undecodable becomes U+FFFD, never an exception;
* what real senders get wrong (folded boundaries, junk before the headers, unparseable sender
  lines, uuencoded files, path names, input that is no mail) is repaired by ``app.mail.repair``
  when the cheap test for it hits; input that is no mail raises ``NotAMessage``;
* big mail (stored on disk) is split by a streaming MIME reader that decodes attachments
  straight into the file store, so a 25 MB attachment is never held in memory.
"""

from __future__ import annotations

import binascii
import codecs
import email
import email.errors
import email.header
import email.parser
import email.policy
import email.utils
import re
from dataclasses import dataclass, field

import webencodings

from app.mail import repair
from app.mail.sanitize import html_to_text
from app.mail.store import StoreWriter

HEADER_CAP = 998
TEXT_CAP = 2_000_000  # characters of body text kept per message


# --- charsets --------------------------------------------------------------------------------

_OVERRIDES = {"gbk": "gb18030", "gb2312": "gb18030", "euc-kr": "cp949", "x-gbk": "gb18030"}
_codec_cache: dict[str, object] = {}


def codec_for(label: str | None):
    """A codecs.CodecInfo for a MIME charset label (WHATWG mapping), or None if unknown."""
    key = (label or "").strip().strip("\"'").lower()
    if key in _codec_cache:
        return _codec_cache[key]
    info = None
    if key in ("utf-7", "unicode-1-1-utf-7"):
        info = codecs.lookup("utf-7")
    elif key:
        enc = webencodings.lookup(key)
        if enc is not None:
            name = _OVERRIDES.get(enc.name, enc.name)
            try:
                info = codecs.lookup(name)
            except LookupError:
                info = enc.codec_info
        elif key in ("latin-1", "latin1"):
            info = codecs.lookup("cp1252")
        else:
            try:
                info = codecs.lookup(key)
            except LookupError:
                info = None
    _codec_cache[key] = info
    return info


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Body bytes as text; NUL characters are dropped (no database stores them in text)."""
    return _decode_bytes(data, charset).replace("\x00", "")


_MULTIBYTE = re.compile(r"^(gb|big5|shift-jis|cp932|cp936|cp949|cp950|euc|iso2022|hz|johab|utf)")
# Charsets whose bytes may all be ASCII without being ASCII text (escapes, 16-bit units).
_SEVEN_BIT = re.compile(r"^(utf-16|utf-32|utf-7|iso2022|hz)")


def _plausible_utf8(text: str) -> bool:
    """Whether a UTF-8 reading looks like text a person wrote, not like legacy multi-byte
    bytes (GB, Big5, Shift-JIS) that happen to be valid UTF-8 (GB ``谢谢`` reads as
    ``лл``): every non-ASCII character is Western or Central European, punctuation, a
    symbol, East Asian or an emoji."""
    for char in text:
        code = ord(char)
        if code < 0x80:
            continue
        if not (
            0xA0 <= code <= 0x17F
            or 0x1E00 <= code <= 0x1EFF
            or 0x2000 <= code <= 0x22FF
            or 0x3000 <= code <= 0x30FF
            or 0x3400 <= code <= 0x9FFF
            or 0xAC00 <= code <= 0xD7AF
            or 0xFF00 <= code <= 0xFFEF
            or code >= 0x1F000
        ):
            return False
    return True


def _detect(data: bytes) -> str | None:
    """charset-normalizer's guess for bytes no label (nor UTF-8) explains.

    Short Western text fits several single-byte code pages equally well (``è`` is ``č`` in
    cp1250); among guesses as good as the best, cp1252 wins, as it does in browsers."""
    try:
        # imported here: few mails need it, and the pipe starts the desk once per mail
        from charset_normalizer import from_bytes

        matches = from_bytes(data[:200_000])
        best = matches.best()
        if best is None:
            return None
        encoding = best.encoding
        tied = {
            m.encoding for m in matches if m.chaos == best.chaos and m.coherence == best.coherence
        }
        if "cp1252" in tied:
            encoding = "cp1252"
        return data.decode(encoding, "replace")
    except Exception:
        return None


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode body bytes; never raises, never silently turns UTF-8 into mojibake.

    Order: strict decoding with the declared charset (mapped), then UTF-8, then detection,
    and only then lossy decoding (U+FFFD, visible). Labels lie: UTF-8 bytes labelled
    ``us-ascii`` or ``iso-8859-1`` decode "fine" with any single-byte charset, so bytes that
    are valid UTF-8 and not plain ASCII are read as UTF-8 first for those (real latin-1 text
    is almost never valid UTF-8); for multi-byte labels (``gb2312`` ...) UTF-8 wins only when
    its reading is plausible text."""
    info = codec_for(charset) if charset else None
    name = info.name.replace("_", "-") if info is not None else ""
    plain_ascii = data.isascii()
    if plain_ascii and not _SEVEN_BIT.match(name):
        return data.decode("ascii")
    utf8 = None
    if not plain_ascii:
        try:
            utf8 = data.decode("utf-8")
        except UnicodeDecodeError:
            utf8 = None
    if info is not None:
        if name == "utf-8":
            if utf8 is not None:
                return utf8
        elif utf8 is not None and (not _MULTIBYTE.match(name) or _plausible_utf8(utf8)):
            return utf8
        else:
            try:
                return info.decode(data, "strict")[0]
            except Exception:
                pass
    if utf8 is not None:
        return utf8
    if charset:  # the label is unknown or wrong: let charset-normalizer guess
        guessed = _detect(data)
        if guessed is not None:
            return guessed
    if info is not None:
        try:
            return info.decode(data, "replace")[0]
        except Exception:
            pass
    return data.decode("cp1252", "replace")


# --- headers ---------------------------------------------------------------------------------

_SURROGATES = re.compile("[\udc80-\udcff]")


def _recover_8bit(value: str) -> str:
    """Raw 8-bit header bytes (surrogate-escaped by the parser): UTF-8 runs as UTF-8, the
    bytes between them as cp1252 (``repair.decode_runs``)."""
    if not _SURROGATES.search(value):
        return value
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", value)
    return repair.decode_runs(data)


def decode_header(value) -> str:
    """Decode a raw header value (RFC 2047 words, 8-bit bytes, folding) to one line of text."""
    if value is None:
        return ""
    if not isinstance(value, str):
        try:
            value = str(value)
        except Exception:
            return ""
    value = _recover_8bit(value).replace("\x00", "")
    value = re.sub(r"\r?\n[ \t]+", " ", value).replace("\r", "").replace("\n", " ")
    if "=?" in value:
        try:
            parts = []
            for chunk, charset in email.header.decode_header(value):
                if isinstance(chunk, bytes):
                    parts.append(decode_bytes(chunk, charset or "ascii"))
                else:
                    parts.append(chunk)
            value = "".join(parts).replace("\x00", "")
        except Exception:
            pass
    return value.strip()[: HEADER_CAP * 4]


def _usable_address(addr: str) -> bool:
    local, at, domain = addr.rpartition("@")
    return bool(at and local and domain) and len(addr) <= 320 and " " not in addr


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    """(name, lower-case address) pairs; garbage yields nothing rather than an error.

    A line the address parser cannot read (``a@x b@x`` gives ``@x``, ``Big Bug bb@bug.com``
    gives nothing) is searched for the addresses written in it instead."""
    out = []
    for value in values:
        try:
            pairs = email.utils.getaddresses([value])
        except Exception:
            pairs = [("", "?")]
        good = []
        broken = False
        for name, addr in pairs:
            addr = (addr or "").strip().strip("<>").lower()
            if _usable_address(addr):
                good.append((decode_header(name), addr))
            elif addr or name:
                broken = True
        if broken or (not good and "@" in value):
            good = [(decode_header(n), a) for n, a in repair.addresses_in(value)]
        out.extend(good)
    return out


def _message_ids(value: str | None) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


# --- the parsed result -------------------------------------------------------------------


@dataclass
class ParsedAttachment:
    filename: str | None
    content_type: str
    content_id: str | None = None
    inline: bool = False
    data: bytes | None = None  # bytes still to be stored ...
    sha256: str | None = None  # ... or already in the file store
    size: int = 0


@dataclass
class ParsedMail:
    headers: dict[str, list[str]] = field(default_factory=dict)  # lower-case name -> values
    subject: str = ""
    from_name: str = ""
    from_address: str | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    reply_to: str | None = None
    return_path: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: str | None = None
    text: str = ""
    html: str | None = None  # unsanitised; intake sanitises after it knows attachment links
    attachments: list[ParsedAttachment] = field(default_factory=list)
    content_type: str = "text/plain"
    delivery_status: list[dict[str, str]] = field(default_factory=list)
    original_message_id: str | None = None  # of the mail a bounce reports on
    original_headers: dict[str, str] = field(default_factory=dict)
    defects: list[str] = field(default_factory=list)
    oversize: bool = False  # attachments beyond the per-message cap were not extracted
    message: object | None = None  # the stdlib Message (for flufl.bounce), small mail only

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def all_recipients(self) -> list[str]:
        return self.to + self.cc


def _fill_headers(parsed: ParsedMail, items) -> None:
    for name, value in items:
        parsed.headers.setdefault(str(name).lower(), []).append(decode_header(value))
    h = parsed.header
    parsed.subject = (h("subject") or "")[:HEADER_CAP]
    sender = _addresses(parsed.headers.get("from", [])) or _addresses(
        parsed.headers.get("sender", [])
    )
    if sender:
        parsed.from_name, parsed.from_address = sender[0]
    parsed.to = [a for _, a in _addresses(parsed.headers.get("to", []))]
    parsed.cc = [a for _, a in _addresses(parsed.headers.get("cc", []))]
    reply_to = _addresses(parsed.headers.get("reply-to", []))
    parsed.reply_to = reply_to[0][1] if reply_to else None
    rp = h("return-path")
    if rp is not None:
        parsed.return_path = rp.strip().strip("<>").strip().lower()
    mids = _message_ids(h("message-id"))
    parsed.message_id = mids[0][:HEADER_CAP] if mids else None
    irt = _message_ids(h("in-reply-to"))
    parsed.in_reply_to = " ".join(irt)[:HEADER_CAP] or None
    refs = _message_ids(" ".join(parsed.headers.get("references", [])))
    parsed.references = " ".join(refs[-50:]) or None


# --- small mail: the stdlib parser -----------------------------------------------------------


class LazyPolicy(email.policy.EmailPolicy):
    """``policy.default`` whose headers are handed out as raw strings.

    The structured header objects of ``policy.default`` cost more than the whole rest of the
    parse (the parser itself asks for Content-Type several times per part). We decode the few
    headers we need ourselves (``decode_header``), so nothing else ever builds one.
    """

    def header_fetch_parse(self, name, value):
        return value


LAZY = LazyPolicy()


class NotAMessage(ValueError):
    """The input is not a mail at all (empty, an Outlook .msg, text without a header); the
    message is the reason intake quarantines it with."""


def _header_block_broken(msg) -> bool:
    return not msg.keys() or any(
        isinstance(d, email.errors.MissingHeaderBodySeparatorDefect) for d in msg.defects
    )


def parse_bytes(raw: bytes, *, attachment_cap: int | None = None) -> ParsedMail:
    """Parse ``raw`` with policy.default; on any failure of the walk, again with compat32.

    Raises ``NotAMessage`` when ``raw`` is no mail at all."""
    if raw[:64].lstrip().startswith(repair.OLE_MAGIC):
        raise NotAMessage(repair.why_not_mail(raw[:64], ()))
    repaired = False
    msg = email.parser.BytesParser(policy=LAZY).parsebytes(raw)
    if _header_block_broken(msg):
        fixed = repair.repair_header_block(raw)
        if fixed is not None:
            raw, repaired = fixed, True
            msg = email.parser.BytesParser(policy=LAZY).parsebytes(raw)
    reason = repair.why_not_mail(raw[:4096], msg.keys())
    if reason is not None:
        raise NotAMessage(reason)
    parsed = None
    try:
        parsed = _from_message(msg, attachment_cap)
    except Exception as exc:
        first_error = f"{type(exc).__name__}: {exc}"
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
        parsed = _from_message(msg, attachment_cap)
        parsed.defects.append(f"policy.default failed ({first_error}); compat32 used")
    if repaired:
        parsed.defects.append("garbage before the headers dropped")
    return parsed


def _from_message(msg, attachment_cap: int | None) -> ParsedMail:
    parsed = ParsedMail(message=msg)
    _fill_headers(parsed, msg.raw_items())
    parsed.content_type = _ctype(msg)
    parsed.defects.extend(type(d).__name__ for d in getattr(msg, "defects", []) or [])
    walker = _Walker(parsed, attachment_cap)
    walker.walk(msg)
    walker.finish()
    return parsed


def _ctype(part) -> str:
    try:
        return part.get_content_type().replace("\x00", "")
    except Exception:
        return "text/plain"


def _param(part, name: str) -> str | None:
    try:
        value = part.get_param(name)
    except Exception:
        return None
    if isinstance(value, tuple):  # RFC 2231
        try:
            value = email.utils.collapse_rfc2231_value(value)
        except Exception:
            value = value[2]
    return decode_header(value) if value is not None else None


def _filename(part) -> str | None:
    name = None
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name is None:
        name = _param(part, "name")
    return repair.base_filename(decode_header(name)[:500]) if name else None


def _disposition(part) -> str:
    try:
        value = part.get("content-disposition")
    except Exception:
        return ""
    return str(value or "").split(";")[0].strip().lower()


def _payload_bytes(part) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        payload = part.get_payload()
        if isinstance(payload, str):
            data = payload.encode("utf-8", "surrogateescape")
        else:
            data = b""
    return data


def _is_body(ctype: str, disposition: str, filename: str | None, depth: int) -> bool:
    """Text that is the mail's body, not a file: a text part with a file name is an
    attachment, as mail clients show it, unless it is the whole (single-part) mail."""
    if ctype not in ("text/plain", "text/html") or disposition == "attachment":
        return False
    return not (filename and depth > 0)


def _raw_boundary(part) -> str | None:
    """The ``boundary`` parameter as written, folding included (``_param`` unfolds it)."""
    try:
        value = part.get_param("boundary")
    except Exception:
        return None
    if isinstance(value, tuple):
        try:
            value = email.utils.collapse_rfc2231_value(value)
        except Exception:
            value = value[2]
    return str(value) if value else None


def _resplit_multipart(part, ctype: str):
    """A multipart the parser could not split (its boundary folded inside the value), parsed
    again with the boundary its body really uses; None if no candidate is in the body."""
    written = _raw_boundary(part)
    if not written or "\n" not in written:
        return None
    payload = part.get_payload()
    if not isinstance(payload, str):
        return None
    body = payload.encode("utf-8", "surrogateescape")
    for boundary in repair.boundary_candidates(written):
        delimiter = b"--" + boundary.encode("utf-8", "surrogateescape")
        if not (body.startswith(delimiter) or b"\n" + delimiter in body):
            continue
        head = f'Content-Type: {ctype}; boundary="{email.utils.quote(boundary)}"'
        resplit = email.parser.BytesParser(policy=LAZY).parsebytes(
            head.encode("utf-8", "surrogateescape") + b"\r\n\r\n" + body
        )
        if resplit.is_multipart():
            return resplit
    return None


class _Walker:
    """Collects body and attachments from a stdlib Message tree."""

    def __init__(self, parsed: ParsedMail, attachment_cap: int | None):
        self.parsed = parsed
        self.cap = attachment_cap
        self.used = 0
        self.texts: list[str] = []
        self.htmls: list[str] = []

    def walk(self, part, depth: int = 0) -> None:
        if depth > 30:
            return
        ctype = _ctype(part)
        if part.is_multipart() and not ctype.startswith("message/"):
            payload = part.get_payload()
            if ctype == "multipart/alternative" and isinstance(payload, list):
                self._alternative(payload, depth)
                return
            for sub in payload if isinstance(payload, list) else []:
                self.walk(sub, depth + 1)
            return
        if ctype.startswith("multipart/"):  # boundary missing or broken
            resplit = _resplit_multipart(part, ctype)
            if resplit is not None:
                self.walk(resplit, depth + 1)
                return
            self.texts.append(decode_bytes(_payload_bytes(part), _param(part, "charset")))
            return
        if ctype == "message/delivery-status":
            self._delivery_status(part)
            return
        if ctype in ("message/rfc822", "message/global", "text/rfc822-headers"):
            self._embedded(part, ctype)
            return
        disposition = _disposition(part)
        filename = _filename(part)
        if _is_body(ctype, disposition, filename, depth):
            text = decode_bytes(_payload_bytes(part), _param(part, "charset"))
            if ctype == "text/plain":
                text = self._cut_uuencoded(text)
                self.texts.append(text)
            else:
                self.htmls.append(text)
            return
        self._attachment(part, ctype, filename, disposition)

    def _cut_uuencoded(self, text: str) -> str:
        text, files = repair.extract_uuencoded(text)
        for name, ctype, data in files:
            if self.cap is not None and self.used + len(data) > self.cap:
                self.parsed.oversize = True
                continue
            self.used += len(data)
            self.parsed.attachments.append(
                ParsedAttachment(filename=name, content_type=ctype, data=data, size=len(data))
            )
        return text

    def _alternative(self, parts, depth: int) -> None:
        """Pick one body of an alternative: HTML and text both kept for the choice later."""
        for sub in parts:
            self.walk(sub, depth + 1)

    def _attachment(self, part, ctype, filename, disposition) -> None:
        data = _payload_bytes(part)
        if self.cap is not None and self.used + len(data) > self.cap:
            self.parsed.oversize = True
            return
        self.used += len(data)
        cid = None
        try:
            cid = part.get("content-id")
        except Exception:
            cid = None
        cid = decode_header(cid).strip("<>") if cid else None
        self.parsed.attachments.append(
            ParsedAttachment(
                filename=filename,
                content_type=ctype,
                content_id=cid,
                inline=disposition == "inline" or (cid is not None and disposition != "attachment"),
                data=data,
                size=len(data),
            )
        )

    def _delivery_status(self, part) -> None:
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        if not blocks:  # not parsed into blocks: parse the text ourselves
            text = decode_bytes(_payload_bytes(part), "utf-8")
            blocks = [email.message_from_string(b) for b in re.split(r"\n\s*\n", text) if b]
        for block in blocks:
            try:
                info = {str(k).lower(): decode_header(v) for k, v in block.raw_items()}
            except Exception:
                continue
            if info:
                self.parsed.delivery_status.append(info)

    def _embedded(self, part, ctype) -> None:
        inner = None
        if ctype == "text/rfc822-headers":
            text = decode_bytes(_payload_bytes(part), "utf-8")
            inner = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text)
            data = text.encode("utf-8")
        else:
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            try:
                data = inner.as_bytes() if inner is not None else _payload_bytes(part)
            except Exception:
                try:
                    data = inner.as_bytes(policy=email.policy.compat32)
                except Exception:
                    data = _payload_bytes(part)
        if inner is not None and self.parsed.original_message_id is None:
            try:
                headers = {str(k).lower(): decode_header(v) for k, v in inner.raw_items()}
            except Exception:
                headers = {}
            mids = _message_ids(headers.get("message-id"))
            if mids:
                self.parsed.original_message_id = mids[0]
            self.parsed.original_headers = headers
        subject = ""
        if inner is not None:
            try:
                subject = decode_header(inner.get("subject", ""))
            except Exception:
                subject = ""
        name = _filename(part) or (
            f"{subject[:80] or 'message'}.eml"
            if ctype != ("text/rfc822-headers")
            else "original-headers.txt"
        )
        if self.cap is not None and self.used + len(data) > self.cap:
            self.parsed.oversize = True
            return
        self.used += len(data)
        self.parsed.attachments.append(
            ParsedAttachment(
                filename=name,
                content_type=ctype if ctype != "message/global" else "message/rfc822",
                data=data,
                size=len(data),
            )
        )

    def finish(self) -> None:
        choose_body(self.parsed, self.texts, self.htmls)


def choose_body(parsed: ParsedMail, texts: list[str], htmls: list[str]) -> None:
    """Text body: the plain parts, unless they are empty beside real HTML (then the HTML as
    text). The first HTML part is kept for display after sanitising."""
    text = "\n\n".join(t for t in texts if t is not None).strip()
    html = next((h for h in htmls if h and h.strip()), None)
    if not text and html:
        text = html_to_text(html)
    parsed.text = text[:TEXT_CAP]
    parsed.html = html[:TEXT_CAP] if html else None


# --- big mail: a streaming MIME reader -------------------------------------------------------


class _LineReader:
    def __init__(self, fh):
        self.fh = fh
        self.pushed: list[bytes] = []

    def readline(self) -> bytes:
        if self.pushed:
            return self.pushed.pop()
        return self.fh.readline(1 << 16)

    def push(self, line: bytes) -> None:
        self.pushed.append(line)


def _read_headers(reader: _LineReader) -> bytes:
    lines = []
    while True:
        line = reader.readline()
        if not line:
            break
        if line in (b"\r\n", b"\n"):
            break
        lines.append(line)
        if len(lines) > 5000:
            break
    return b"".join(lines)


def parse_stream(fh, *, attachment_cap: int | None = None, text_cap: int = 4 << 20) -> ParsedMail:
    """Parse big mail from a binary file without loading it: attachments stream into the
    file store, text parts up to ``text_cap`` bytes stay in memory."""
    reader = _LineReader(fh)
    header_bytes = _read_headers(reader)
    while not header_bytes:  # blank lines above the headers
        line = reader.readline()
        if not line:
            break
        if line.strip():
            reader.push(line)
            header_bytes = _read_headers(reader)
    if header_bytes.startswith(repair.OLE_MAGIC):
        raise NotAMessage(repair.why_not_mail(header_bytes[:64], ()))
    split = repair.split_header_block(header_bytes)
    if split is not None:  # junk lines among the headers go; text right after them is body
        header_bytes, body_start, _ = split
        if body_start:
            reader.push(b"\r\n")  # the blank line _read_headers consumed
            for line in reversed(body_start.splitlines(keepends=True)):
                reader.push(line)
    top = email.parser.BytesHeaderParser(policy=LAZY).parsebytes(header_bytes)
    reason = repair.why_not_mail(header_bytes[:4096], top.keys())
    if reason is not None:
        raise NotAMessage(reason)
    parsed = ParsedMail()
    _fill_headers(parsed, top.raw_items())
    parsed.content_type = _ctype(top)
    state = {"used": 0, "texts": [], "htmls": []}
    _stream_part(reader, top, [], parsed, state, attachment_cap, text_cap, 0)
    choose_body(parsed, state["texts"], state["htmls"])
    return parsed


def _boundary_hit(line: bytes, boundaries: list[bytes]) -> tuple[int, bool] | None:
    if not line.startswith(b"--"):
        return None
    stripped = line.rstrip()
    for index in range(len(boundaries) - 1, -1, -1):
        b = boundaries[index]
        if stripped == b"--" + b:
            return index, False
        if stripped == b"--" + b + b"--":
            return index, True
    return None


class _Decoder:
    def __init__(self, cte: str):
        self.cte = cte
        self.pending = b""

    def feed(self, line: bytes) -> bytes:
        if self.cte == "base64":
            data = self.pending + b"".join(line.split())
            usable = len(data) - len(data) % 4
            self.pending = data[usable:]
            try:
                return binascii.a2b_base64(data[:usable])
            except binascii.Error:
                return b""
        if self.cte == "quoted-printable":
            return binascii.a2b_qp(line.replace(b"\r\n", b"\n"))
        return line

    def flush(self) -> bytes:
        if self.cte == "base64" and self.pending:
            try:
                return binascii.a2b_base64(self.pending + b"=" * (-len(self.pending) % 4))
            except binascii.Error:
                return b""
        return b""


def _stream_part(reader, headers, boundaries, parsed, state, cap, text_cap, depth):
    """Read one part whose headers are parsed; returns the boundary hit that ended it."""
    ctype = _ctype(headers)
    if ctype.startswith("multipart/") and depth < 30:
        boundary = repair.unfolded_boundary(_raw_boundary(headers))
        if boundary:
            bnd = boundary.encode("utf-8", "replace")
            boundaries = boundaries + [bnd]
            level = len(boundaries) - 1
            # preamble
            hit = _skip_to_boundary(reader, boundaries)
            while hit is not None and hit[0] == level and not hit[1]:
                sub = email.parser.BytesHeaderParser(policy=LAZY).parsebytes(_read_headers(reader))
                hit = _stream_part(reader, sub, boundaries, parsed, state, cap, text_cap, depth + 1)
            if hit is not None and hit[0] == level:  # closing boundary: skip the epilogue
                return _skip_to_boundary(reader, boundaries[:-1])
            return hit
    cte = str(headers.get("content-transfer-encoding", "") or "").strip().lower()
    disposition = _disposition(headers)
    filename = _filename(headers)
    is_body = _is_body(ctype, disposition, filename, depth)
    decoder = _Decoder(cte if not ctype.startswith("message/") else "8bit")
    writer = None if is_body else StoreWriter(inline_limit=0)
    body = bytearray()
    over = False
    previous: bytes | None = None
    hit = None
    while True:
        line = reader.readline()
        if not line:
            break
        hit = _boundary_hit(line, boundaries)
        if hit is not None:
            break
        if previous is not None:
            chunk = decoder.feed(previous)
            over = _emit(chunk, is_body, body, writer, state, cap, text_cap, over)
        previous = line
    if previous is not None:
        last = previous[:-2] if previous.endswith(b"\r\n") else previous.rstrip(b"\n")
        over = _emit(decoder.feed(last), is_body, body, writer, state, cap, text_cap, over)
    over = _emit(decoder.flush(), is_body, body, writer, state, cap, text_cap, over)
    if is_body:
        text = decode_bytes(bytes(body), _param(headers, "charset"))
        if ctype == "text/plain":
            text = _cut_uuencoded_streamed(text, parsed, state, cap)
        (state["texts"] if ctype == "text/plain" else state["htmls"]).append(text)
    elif over:
        writer.abort()
        parsed.oversize = True
    else:
        stored = writer.finish()
        cid = headers.get("content-id")
        cid = decode_header(cid).strip("<>") if cid else None
        if ctype.startswith("message/") and not filename:
            filename = "message.eml"
        parsed.attachments.append(
            ParsedAttachment(
                filename=filename,
                content_type=ctype,
                content_id=cid,
                inline=disposition == "inline",
                sha256=stored.sha256,
                size=stored.size,
            )
        )
    return hit


def _cut_uuencoded_streamed(text: str, parsed: ParsedMail, state, cap) -> str:
    """uuencoded files of a streamed plain body: attachments, as in the small-mail walk."""
    text, files = repair.extract_uuencoded(text)
    for name, ctype, data in files:
        if cap is not None and state["used"] + len(data) > cap:
            parsed.oversize = True
            continue
        state["used"] += len(data)
        parsed.attachments.append(
            ParsedAttachment(filename=name, content_type=ctype, data=data, size=len(data))
        )
    return text


def _emit(chunk, is_body, body, writer, state, cap, text_cap, over) -> bool:
    if not chunk:
        return over
    if is_body:
        if len(body) < text_cap:
            body += chunk[: text_cap - len(body)]
        return over
    if over:
        return True
    state["used"] += len(chunk)
    if cap is not None and state["used"] > cap:
        return True
    writer.write(chunk)
    return False


def _skip_to_boundary(reader, boundaries):
    if not boundaries:
        while reader.readline():
            pass
        return None
    while True:
        line = reader.readline()
        if not line:
            return None
        hit = _boundary_hit(line, boundaries)
        if hit is not None:
            return hit
