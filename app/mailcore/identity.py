"""Everything that lets the desk recognise its own mail: signed Message-IDs, the case tag in
subjects, the body reply marker, plus-address reply tokens and the loop header.

Outgoing mail (outbox) is stamped with these; the intake verifies them. Signatures are HMACs
keyed from SECRET_KEY, so a stranger cannot forge a reference into someone else's case.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from flask import current_app

LOOP_HEADER = "X-Loopdesk-Loop"
REPLY_ABOVE = "-- Please reply above this line --"


def _key() -> bytes:
    return hashlib.sha256(b"loopdesk-mail:" + current_app.config["SECRET_KEY"].encode()).digest()


def _sign(text: str, length: int = 16) -> str:
    return hmac.new(_key(), text.encode(), hashlib.sha256).hexdigest()[:length]


def instance_id() -> str:
    """Identifies this desk in the loop header; stable as long as SECRET_KEY is."""
    return _sign("instance", 12)


def mail_domain() -> str:
    return current_app.config.get("MAIL_DOMAIN") or "loopdesk.invalid"


# --- Message-ID ---------------------------------------------------------------------------

_MID_RE = re.compile(r"<?ld\.([a-z_]+)\.(\d+)\.([0-9a-f]{8})\.([0-9a-f]{16})@([^>\s]+)>?")


def make_message_id(kind: str, case_id: int | None) -> str:
    """``<ld.reply.42.1a2b3c4d.<hmac>@domain>``: kind, case and a signature in one id."""
    nonce = secrets.token_hex(4)
    cid = int(case_id or 0)
    sig = _sign(f"{kind}.{cid}.{nonce}")
    return f"<ld.{kind}.{cid}.{nonce}.{sig}@{mail_domain()}>"


def parse_message_id(value: str | None) -> tuple[str, int] | None:
    """(kind, case id) if ``value`` is one of our ids with a valid signature, else None."""
    if not value:
        return None
    m = _MID_RE.search(value.strip())
    if not m:
        return None
    kind, cid, nonce, sig = m.group(1), m.group(2), m.group(3), m.group(4)
    if not hmac.compare_digest(sig, _sign(f"{kind}.{cid}.{nonce}")):
        return None
    return kind, int(cid)


def find_our_case_in_references(*headers: str | None) -> int | None:
    """The case id of the first signed id of ours in In-Reply-To / References."""
    for header in headers:
        for token in re.findall(r"<[^<>]+>", header or ""):
            parsed = parse_message_id(token)
            if parsed and parsed[1]:
                return parsed[1]
    return None


# --- Subject tag --------------------------------------------------------------------------


def case_tag(number: str) -> str:
    return f"[{number}]"


def tag_subject(subject: str, number: str) -> str:
    """Put ``[LD-000042]`` into a subject once."""
    tag = case_tag(number)
    return subject if tag in (subject or "") else f"{subject or ''} {tag}".strip()


def find_case_number(subject: str | None) -> str | None:
    prefix = re.escape(current_app.config["CASE_NUMBER_PREFIX"])
    m = re.search(rf"\[({prefix}-\d{{6,}})\]", subject or "")
    return m.group(1) if m else None


# --- Body marker and plus-address token -----------------------------------------------------


def reply_token(case_id: int) -> str:
    return f"{case_id}-{_sign(f'token.{case_id}', 10)}"


def parse_reply_token(token: str | None) -> int | None:
    m = re.fullmatch(r"(\d+)-([0-9a-f]{10})", (token or "").strip().lower())
    if not m:
        return None
    cid = int(m.group(1))
    return cid if hmac.compare_digest(m.group(2), _sign(f"token.{cid}", 10)) else None


def body_marker(case_id: int) -> str:
    """A short reference that survives providers replacing our Message-ID."""
    return f"[ref:{reply_token(case_id)}]"


def find_body_marker(text: str | None) -> int | None:
    for token in re.findall(r"\[ref:([0-9]+-[0-9a-f]{10})\]", text or ""):
        cid = parse_reply_token(token)
        if cid:
            return cid
    return None


def plus_address(address: str, case_id: int) -> str:
    """``support+42-abc...@desk`` for Reply-To, threading even without any header."""
    local, _, domain = address.partition("@")
    return f"{local}+{reply_token(case_id)}@{domain}"


def case_from_plus_address(address: str | None) -> int | None:
    local = (address or "").partition("@")[0]
    if "+" not in local:
        return None
    return parse_reply_token(local.split("+", 1)[1])
