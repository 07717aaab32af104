"""Rendering of templates, headers, footers and signatures into the exact mail a customer gets.

Templates are written by supervisors, not programmers, and may be written carelessly or with
bad intent. They are therefore rendered by Jinja's ``SandboxedEnvironment`` against a fixed
context of **plain strings** (``PLACEHOLDERS``), never ORM objects: a template cannot walk from
a case to its pool to other customers, nor from any value to Python internals or the app's
config. An unknown placeholder or a forbidden construct is a clear error, not a crash.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from dataclasses import dataclass, field

from flask import current_app
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from sqlalchemy import or_, select

from app.agents.models import AgentProfile
from app.answering.models import AgentSignature, PoolLayout, ResponseTemplate
from app.answering.richtext import text_to_html
from app.core.timeutil import utcnow
from app.errors import DeskError
from app.extensions import db
from app.mailcore.identity import tag_subject

# Every placeholder a template may use, with what it holds (README lists the same).
PLACEHOLDERS: dict[str, str] = {
    "customer_name": "the customer's name (or e-mail address when the name is unknown)",
    "customer_email": "the customer's e-mail address",
    "case_number": "the case number, e.g. LD-000123",
    "case_subject": "the subject of the case",
    "agent_name": "the full name of the agent who answers",
    "agent_first_name": "the first name of the agent who answers",
    "pool_name": "the name of the case's pool",
    "topic": "the case's topic path (empty without a topic)",
    "due_date": "the case's answer due time, YYYY-MM-DD HH:MM (UTC)",
    "received_date": "when the case was received, YYYY-MM-DD HH:MM (UTC)",
    "postponed_until": "the date a postponed case comes back (notices only)",
    "case_link": "the signed link to the case in the customer portal",
    "survey_link": "the link to the exit survey (closing notice only; empty without a survey)",
    "rating_links": "five lines '1: <survey link>?rating=1' … '5: …' that open the exit survey "
    "with that rating ticked, recording nothing (closing notice only; empty without a survey)",
    "today": "today's date, YYYY-MM-DD",
    "desk_name": "the desk's name (APP_NAME)",
}

# Placeholders only some of the desk's notices have, by notice name (e.g. a consultation's
# question and deadline); the features that send those notices add them when a desk starts.
NOTICE_PLACEHOLDERS: dict[str, dict[str, str]] = {}

MAX_TEMPLATE_OUTPUT = 100_000
MAX_SIGNATURE_IMAGE_BYTES = 200 * 1024
MAX_SIGNATURE_IMAGE_SIDE = 1200


class TemplateProblem(DeskError):
    """A template cannot be rendered (unknown placeholder, syntax, forbidden construct)."""


def desk_language() -> str:
    """The desk's default language: templates fall back to it."""
    return (current_app.config.get("DESK_DEFAULT_LANGUAGE") or "en").lower()


def customer_language(case) -> str:
    customer = getattr(case, "customer", None)
    return ((getattr(customer, "language", None) or desk_language()).split("-")[0]).lower()


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False
    )
    # No globals at all (range, lipsum, cycler, namespace, ...): templates need only values.
    env.globals.clear()
    return env


def render_text(source: str | None, context: dict[str, str], *, what: str = "template") -> str:
    """Render ``source`` in the sandbox with ``context``; raise TemplateProblem on any error."""
    if not source:
        return ""
    safe_context = {k: ("" if v is None else str(v)) for k, v in context.items()}
    try:
        result = _environment().from_string(source).render(safe_context)
    except SecurityError as exc:
        raise TemplateProblem(f"The {what} uses something that is not allowed: {exc}") from None
    except TemplateError as exc:
        raise TemplateProblem(f"The {what} cannot be rendered: {exc}") from None
    if len(result) > MAX_TEMPLATE_OUTPUT:
        raise TemplateProblem(f"The {what} renders to more than {MAX_TEMPLATE_OUTPUT} characters.")
    return result


def _user_names(user) -> tuple[str, str]:
    if user is None:
        return "", ""
    first = getattr(user, "first_name", "") or ""
    last = getattr(user, "last_name", "") or ""
    full = f"{first} {last}".strip() or getattr(user, "username", "") or ""
    return full, first or full


def _fmt(value) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else ""


def placeholder_context(case, agent=None, **extra) -> dict[str, str]:
    """The render context of ``case``: the documented placeholders as plain strings."""
    customer = case.customer
    agent_full, agent_first = _user_names(agent)
    context = {
        "customer_name": (customer.name or customer.email) if customer else "",
        "customer_email": customer.email if customer else "",
        "case_number": case.number,
        "case_subject": case.subject or "",
        "agent_name": agent_full,
        "agent_first_name": agent_first,
        "pool_name": case.pool.name if case.pool else "",
        "topic": case.topic.path if case.topic else "",
        "due_date": _fmt(case.sla_due_at),
        "received_date": _fmt(case.received_at),
        "postponed_until": _fmt(case.postponed_until),
        "case_link": "",
        "survey_link": "",
        "rating_links": "",
        "today": f"{utcnow():%Y-%m-%d}",
        "desk_name": current_app.config.get("APP_NAME", "Loopdesk"),
    }
    context.update({k: "" if v is None else str(v) for k, v in extra.items()})
    return context


# --- picking by language ---------------------------------------------------------------------


def _language_order(language: str | None) -> list[str]:
    order = []
    for lang in ((language or "").lower(), desk_language()):
        if lang and lang not in order:
            order.append(lang)
    return order


def pick_template(name: str, case, language: str | None = None):
    """The active template ``name`` that fits the case best.

    Language first (the customer's, then the desk default), then the most specific scope:
    pool and topic, pool only, topic only, global.
    """
    rows = db.session.scalars(
        select(ResponseTemplate).where(
            ResponseTemplate.name == name,
            ResponseTemplate.active.is_(True),
            or_(ResponseTemplate.pool_id.is_(None), ResponseTemplate.pool_id == case.pool_id),
            or_(ResponseTemplate.topic_id.is_(None), ResponseTemplate.topic_id == case.topic_id),
        )
    ).all()
    for lang in _language_order(language or customer_language(case)):
        candidates = [r for r in rows if r.language.lower() == lang]
        if candidates:
            return max(candidates, key=lambda r: (r.pool_id is not None, r.topic_id is not None))
    return None


def language_version(template, case, language: str | None = None):
    """The version of ``template`` (any language row of it) in the customer's language."""
    return pick_template(template.name, case, language) or template


def pick_layout(pool, language: str):
    if pool is None:
        return None
    rows = db.session.scalars(select(PoolLayout).where(PoolLayout.pool_id == pool.id)).all()
    for lang in _language_order(language):
        for row in rows:
            if row.language.lower() == lang:
                return row
    return None


def signature_of(user):
    if user is None:
        return None, None
    profile = db.session.scalars(
        select(AgentProfile).where(AgentProfile.user_id == user.id)
    ).first()
    if profile is None:
        return None, None
    sig = db.session.scalars(
        select(AgentSignature).where(AgentSignature.agent_id == profile.id)
    ).first()
    return profile, sig


# --- the exact mail ---------------------------------------------------------------------------


@dataclass
class ComposedMail:
    """What the customer receives: the parts in order and the inline images of the HTML part."""

    subject: str
    text: str
    html: str
    header: str = ""
    body: str = ""
    footer: str = ""
    signature: str = ""
    inline_images: list[tuple[str, str, bytes]] = field(default_factory=list)
    body_html: str | None = None  # the agent's formatted body (sanitised), None for plain text
    html_inner: str = ""  # the HTML part's content (inside <body>)

    def preview_html(self) -> str:
        """The HTML part as the customer sees it, inline images as data: URIs (for a page)."""
        shown = self.html_inner
        for cid, content_type, data in self.inline_images:
            shown = shown.replace(f'src="cid:{cid}"', f'src="{data_uri(content_type, data)}"')
        return shown

    def preview_dict(self) -> dict:
        return {
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "parts": {
                "header": self.header,
                "body": self.body,
                "footer": self.footer,
                "signature": self.signature,
                "body_html": self.body_html,
            },
            "inline_images": [
                {"content_id": cid, "content_type": ctype, "size": len(data)}
                for cid, ctype, data in self.inline_images
            ],
        }


# The line that gives a reply the link to its case when no header, footer or signature
# carries ``{{ case_link }}`` already, in the customer's language.
CASE_LINK_LINES = {
    "en": "Your case online: {link}",
    "pl": "Twoje zgłoszenie online: {link}",
    "sv": "Ditt ärende på webben: {link}",
    "de": "Ihre Anfrage online: {link}",
}


def case_link_line(language: str | None, link: str) -> str:
    code = (language or "en").split("-")[0].lower()
    return CASE_LINK_LINES.get(code, CASE_LINK_LINES["en"]).format(link=link)


def compose(
    case,
    body: str,
    *,
    agent=None,
    language: str | None = None,
    subject: str | None = None,
    extra: dict | None = None,
    with_signature: bool = True,
    body_html: str | None = None,
) -> ComposedMail:
    """Wrap ``body`` (already final text) in the pool's header and footer and the agent's
    signature; return the text and HTML versions with the signature image inline (cid:).

    ``body_html`` is the agent's formatted body, already sanitised (``richtext``), with
    ``body`` its plain-text version: the HTML part carries it, the text part ``body``. The
    header, footer and signature are plain text in both parts."""

    language = language or customer_language(case)
    context = placeholder_context(case, agent, **(extra or {}))
    layout = pick_layout(case.pool, language)
    header = render_text(layout.header, context, what="pool header") if layout else ""
    footer = render_text(layout.footer, context, what="pool footer") if layout else ""
    signature_text, image = "", None
    if with_signature:
        profile, sig = signature_of(agent)
        source = (sig.text if sig and sig.text else None) or (
            profile.signature if profile else None
        )
        signature_text = render_text(source, context, what="signature") if source else ""
        if sig is not None and sig.image:
            image = sig
    blocks = [(header, None), (body, body_html or None), (footer, None), (signature_text, None)]
    link = (extra or {}).get("case_link") or ""
    if link and not any(link in (part or "") for part, _html in blocks):
        blocks.append((case_link_line(language, link), None))  # every mail opens his case
    parts = [(p.strip("\n"), h) for p, h in blocks if p and p.strip()]
    text = "\n\n".join(p for p, _h in parts) + "\n"
    html_parts = [h or text_to_html(p) for p, h in parts]
    inline = []
    if image is not None:
        cid = f"sig-{image.image_sha256[:16]}@{current_app.config.get('MAIL_DOMAIN', 'loopdesk')}"
        html_parts.append(f'<p><img src="cid:{cid}" alt="signature"></p>')
        inline.append((cid, image.image_content_type, image.image))
    html_inner = "\n".join(html_parts)
    html_doc = "<html><body>" + html_inner + "</body></html>"
    subject = tag_subject(subject or f"Re: {case.subject}", case.number)
    return ComposedMail(
        subject=subject,
        text=text,
        html=html_doc,
        header=header,
        body=body,
        footer=footer,
        signature=signature_text,
        inline_images=inline,
        body_html=body_html or None,
        html_inner=html_inner,
    )


# --- signature images ---------------------------------------------------------------------------


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def validate_signature_image(data: bytes) -> str:
    """Return the content type of a JPEG or PNG of sane size, else raise DeskError."""
    if not data:
        raise DeskError("The signature image is empty.")
    if len(data) > MAX_SIGNATURE_IMAGE_BYTES:
        raise DeskError(
            f"The signature image is larger than {MAX_SIGNATURE_IMAGE_BYTES // 1024} KB."
        )
    if data[:3] == b"\xff\xd8\xff":
        ctype, size = "image/jpeg", _jpeg_size(data)
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        ctype, size = "image/png", _png_size(data)
    else:
        raise DeskError("The signature image must be a JPEG or PNG file.")
    if size is None or not all(0 < side <= MAX_SIGNATURE_IMAGE_SIDE for side in size):
        raise DeskError(
            f"The signature image must be a readable picture of at most "
            f"{MAX_SIGNATURE_IMAGE_SIDE}×{MAX_SIGNATURE_IMAGE_SIDE} pixels."
        )
    return ctype


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def data_uri(content_type: str, data: bytes) -> str:
    """For the preview page: show the inline image without a second request."""
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


def safe_filename(name: str | None) -> str:
    name = re.sub(r"[\x00-\x1f/\\]+", "_", (name or "").strip()).strip(". ")
    return name[:200] or "attachment"
