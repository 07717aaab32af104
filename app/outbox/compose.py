"""Build the RFC 5322 message of an outbox row, exactly as it will go on the wire.

Every outgoing mail carries what lets the desk (and only the desk) recognise a reply to it:
our signed Message-ID, In-Reply-To / References to the customer's last mail, the case tag in
the subject, a Reply-To plus-address with a signed token, the reply marker in the body (text,
and a hidden element in HTML) and our loop header. Automatic mail also carries the RFC 3834
headers so that well-behaved autoresponders do not answer it.

Bodies are encoded 7-bit clean (quoted-printable or base64 for 8-bit text), so no relay needs
8BITMIME and no line is ever longer than 78 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.charset import QP, Charset
from email.header import Header
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, getaddresses

from app.errors import DeskError
from app.mailcore import identity


class _HeaderClasses(HeaderRegistry):
    """The stdlib registry builds a new class with ``type()`` for every header it is asked
    for (a dozen per mail); the classes are the same each time, so they are kept."""

    def __init__(self):
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name):
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


# policy.SMTP with 7-bit transfer encodings for every body part.
WIRE_POLICY = policy.SMTP.clone(cte_type="7bit", header_factory=_HeaderClasses())

AUTO_REPLIED = "auto-replied"  # auto-responses (RFC 3834 §5)
AUTO_GENERATED = "auto-generated"  # notifications, alerts

_HIDDEN_STYLE = (
    "display:none;font-size:0;line-height:0;max-height:0;max-width:0;opacity:0;"
    "overflow:hidden;mso-hide:all"
)
_REFERENCES_KEPT = 20  # older ids are dropped from References, the newest are enough to thread


class InvalidMail(DeskError):
    """The mail cannot be built (no valid recipient, an unusable address, ...)."""


@dataclass
class MailParts:
    """Everything ``build_message`` needs; ``queue_mail`` collects it."""

    kind: str
    message_id: str
    sender: Address
    to: list[Address]
    subject: str
    text: str
    cc: list[Address] = field(default_factory=list)
    html: str | None = None
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: str | None = None
    case_id: int | None = None
    case_number: str | None = None
    auto_submitted: str | None = None
    attachments: tuple = ()
    inline_images: tuple = ()
    extra_headers: dict = field(default_factory=dict)


def parse_addresses(value, what: str) -> list[Address]:
    """``"Alice <a@x>, b@y"`` or a list of such strings as Address objects; raise on garbage."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    result = []
    for display, addr in getaddresses([str(i) for i in items if i]):
        addr = addr.strip()
        local, at, domain = addr.rpartition("@")
        if not at or not local or "." not in domain or any(c in addr for c in " \r\n<>"):
            raise InvalidMail(f"{what}: {addr or value!r} is not a mail address.")
        try:
            result.append(Address(display_name=display.strip(), addr_spec=addr))
        except (ValueError, IndexError) as exc:
            raise InvalidMail(f"{what}: {addr!r} is not a usable mail address ({exc}).") from None
    return result


def bracket(message_id: str | None) -> str | None:
    """A Message-ID in angle brackets, the form headers need."""
    if not message_id:
        return None
    value = message_id.strip()
    return value if value.startswith("<") else f"<{value}>"


def references_after(parent_references: str | None, parent_id: str | None) -> str | None:
    """References of a reply: the parent's References plus the parent's own id, deduplicated."""
    ids = re.findall(r"<[^<>]+>", parent_references or "")
    if parent_id:
        ids.append(bracket(parent_id))
    seen, kept = set(), []
    for mid in ids:
        if mid not in seen:
            seen.add(mid)
            kept.append(mid)
    return " ".join(kept[-_REFERENCES_KEPT:]) or None


def text_with_marker(text: str, case_id: int | None) -> str:
    """The text body with the 'reply above' line on top and the signed reference below."""
    text = (text or "").rstrip()
    if not case_id:
        return text + "\n"
    return f"{identity.REPLY_ABOVE}\n\n{text}\n\n{identity.body_marker(case_id)}\n"


def html_with_marker(html: str, case_id: int | None) -> str:
    """The HTML body with the 'reply above' line and a hidden signed reference element."""
    if not case_id:
        return html
    top = (
        '<div class="ld-reply-above" style="color:#888888;font-size:12px">'
        f"{identity.REPLY_ABOVE}</div>\n"
    )
    bottom = f'\n<div class="ld-ref" style="{_HIDDEN_STYLE}">{identity.body_marker(case_id)}</div>'
    body_open = re.search(r"<body[^>]*>", html, re.IGNORECASE)
    body_close = re.search(r"</body\s*>", html, re.IGNORECASE)
    if body_open and body_close and body_open.end() <= body_close.start():
        return (
            html[: body_open.end()]
            + top
            + html[body_open.end() : body_close.start()]
            + bottom
            + html[body_close.start() :]
        )
    return f"<html><body>\n{top}{html}{bottom}\n</body></html>\n"


def _split_type(content_type: str | None) -> tuple[str, str]:
    maintype, _, subtype = (content_type or "").partition("/")
    if not maintype or not subtype:
        return "application", "octet-stream"
    return maintype.strip().lower(), subtype.split(";")[0].strip().lower()


def _content_id(value: str) -> str:
    cid = (value or "").strip().strip("<>")
    if not cid or any(c in cid for c in " \r\n<>"):
        raise InvalidMail(f"inline image: {value!r} is not a usable Content-ID.")
    return cid


def _subject_line(parts: MailParts) -> str:
    """The Subject both writers send: tagged with the case number, on one line, without
    surrounding white space (it means nothing to a reader, and the two writers would keep
    a leading space before a non-ASCII word differently)."""
    subject = parts.subject or ""
    if parts.case_number:
        subject = identity.tag_subject(subject, parts.case_number)
    return subject.replace("\r", " ").replace("\n", " ").strip()


def build_message(parts: MailParts) -> EmailMessage:
    """The complete message: headers, text (+ HTML with inline images), attachments."""
    if not parts.to:
        raise InvalidMail("A mail needs at least one recipient.")
    msg = EmailMessage(policy=WIRE_POLICY)
    subject = _subject_line(parts)
    try:
        msg["From"] = parts.sender
        msg["To"] = parts.to
        if parts.cc:
            msg["Cc"] = parts.cc
        msg["Subject"] = subject
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = parts.message_id
        if parts.in_reply_to:
            msg["In-Reply-To"] = bracket(parts.in_reply_to)
        if parts.references:
            msg["References"] = parts.references
        if parts.reply_to:
            msg["Reply-To"] = parts.reply_to
        msg[identity.LOOP_HEADER] = identity.instance_id()
        if parts.auto_submitted:
            msg["Auto-Submitted"] = parts.auto_submitted
            msg["X-Auto-Response-Suppress"] = "DR, RN, NRN, OOF, AutoReply"
            if parts.auto_submitted == AUTO_REPLIED:
                msg["Precedence"] = "auto_reply"
                msg["X-Autoreply"] = "yes"
            else:
                msg["Precedence"] = "bulk"
        for name, value in (parts.extra_headers or {}).items():
            msg[name] = value
    except (ValueError, TypeError, IndexError) as exc:
        raise InvalidMail(f"The mail headers cannot be built: {exc}") from None

    msg.set_content(text_with_marker(parts.text, parts.case_id))
    if parts.html:
        msg.add_alternative(html_with_marker(parts.html, parts.case_id), subtype="html")
        html_part = msg.get_payload()[-1]
        for cid, content_type, data in parts.inline_images:
            maintype, subtype = _split_type(content_type)
            html_part.add_related(
                bytes(data),
                maintype=maintype,
                subtype=subtype,
                cid=f"<{_content_id(cid)}>",
                disposition="inline",
            )
    else:
        for cid, content_type, data in parts.inline_images:
            maintype, subtype = _split_type(content_type)
            msg.add_attachment(
                bytes(data),
                maintype=maintype,
                subtype=subtype,
                cid=f"<{_content_id(cid)}>",
                disposition="inline",
            )
    for filename, content_type, data in parts.attachments:
        maintype, subtype = _split_type(content_type)
        msg.add_attachment(
            bytes(data), maintype=maintype, subtype=subtype, filename=filename or "attachment"
        )
    return msg


def to_bytes(msg: EmailMessage) -> bytes:
    """The wire form (CRLF line ends, 7-bit)."""
    return msg.as_bytes(policy=WIRE_POLICY)


def render(parts: MailParts) -> bytes:
    """The wire form of the mail ``parts`` describe. A plain-text mail without attachments
    (every auto-response, most notices) is written with the stdlib's older ``compat32``
    classes, four times faster than ``EmailMessage``'s header objects: on a busy intake the
    auto-responses took a third of the processing time. Both writers give the same message
    (a property test compares them); anything else goes through ``build_message``."""
    plain = _plain_text_bytes(parts)
    return plain if plain is not None else to_bytes(build_message(parts))


_UTF8_QP = Charset("utf-8")
_UTF8_QP.header_encoding = _UTF8_QP.body_encoding = QP
_UTF8_7BIT = Charset("utf-8")
_UTF8_7BIT.body_encoding = None
_COMPAT_WIRE = policy.compat32.clone(linesep="\r\n", max_line_length=78)


def _header_value(value: str) -> str | Header:
    return value if value.isascii() else Header(value, _UTF8_QP)


def _address(address: Address) -> str:
    return formataddr((address.display_name, address.addr_spec), charset=_UTF8_QP)


def _plain_text_bytes(parts: MailParts) -> bytes | None:
    """``render``'s fast writer, or None when the mail needs ``build_message`` (HTML,
    attachments, an address that is not ASCII, a header value with a line break, which
    ``build_message`` refuses with a clear error)."""
    if parts.html or parts.attachments or parts.inline_images or not parts.to:
        return None
    addresses = [parts.sender, *parts.to, *parts.cc]
    if not all(a.addr_spec.isascii() for a in addresses):
        return None
    subject = _subject_line(parts)
    headers = [
        ("From", _address(parts.sender)),
        ("To", ", ".join(_address(a) for a in parts.to)),
    ]
    if parts.cc:
        headers.append(("Cc", ", ".join(_address(a) for a in parts.cc)))
    headers += [("Subject", subject), ("Date", formatdate(usegmt=True))]
    headers.append(("Message-ID", parts.message_id))
    if parts.in_reply_to:
        headers.append(("In-Reply-To", bracket(parts.in_reply_to)))
    if parts.references:
        headers.append(("References", parts.references))
    if parts.reply_to:
        headers.append(("Reply-To", parts.reply_to))
    headers.append((identity.LOOP_HEADER, identity.instance_id()))
    if parts.auto_submitted:
        headers.append(("Auto-Submitted", parts.auto_submitted))
        headers.append(("X-Auto-Response-Suppress", "DR, RN, NRN, OOF, AutoReply"))
        if parts.auto_submitted == AUTO_REPLIED:
            headers += [("Precedence", "auto_reply"), ("X-Autoreply", "yes")]
        else:
            headers.append(("Precedence", "bulk"))
    headers += list((parts.extra_headers or {}).items())
    if any("\r" in str(v) or "\n" in str(v) for _name, v in headers):
        return None
    if any(name != "Subject" and not str(v).isascii() for name, v in headers[2:]):
        return None  # an unusual header value: the full writer knows how to encode it
    if any(len(name) + 2 + len(str(v)) > 78 for name, v in headers):
        return None  # a header to fold: the two writers fold differently
    text = text_with_marker(parts.text, parts.case_id)
    short_ascii = text.isascii() and all(len(line) <= 78 for line in text.splitlines())
    msg = MIMEText(text, "plain", _UTF8_7BIT if short_ascii else _UTF8_QP)
    for name, value in headers:
        msg[name] = _header_value(value) if name == "Subject" else value
    return msg.as_bytes(policy=_COMPAT_WIRE)
