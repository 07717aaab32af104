"""Make mail HTML safe to show, turn HTML into text, and fold quoted reply text.

HTML from mail is hostile by default: scripts, event handlers, ``javascript:`` links, CSS and
tracking pixels. ``clean_html`` keeps an allow-list of harmless tags (nh3, the Ammonia
sanitiser), rewrites ``cid:`` images to links of our own attachment download and drops every
remote image, so opening a mail in the desk tells no sender that it was read.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable

import nh3

from app.mailcore.identity import REPLY_ABOVE

TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign"},
    "table": {"border", "cellpadding", "cellspacing", "width"},
    "font": {"color"},
    "*": {"dir", "lang"},
}
CLEAN_CONTENT = {"script", "style", "title", "head", "object", "embed", "iframe", "noscript"}
URL_SCHEMES = {"http", "https", "mailto", "tel"}

_CID_RE = re.compile(r"""(src\s*=\s*["']?)cid:([^"'\s>]+)""", re.IGNORECASE)


def clean_html(
    html: str, *, cid_url: Callable[[str], str] | None = None, allow_remote_images: bool = False
) -> str:
    """Sanitise ``html``; ``cid_url(content_id)`` gives the link for an inline image."""
    if cid_url is not None:
        html = _CID_RE.sub(lambda m: m.group(1) + cid_url(m.group(2)), html)
    local_prefix = "/mail/attachment/"

    def attribute_filter(tag: str, attr: str, value: str):
        if tag == "img" and attr == "src":
            if value.startswith(local_prefix):
                return value
            return value if allow_remote_images and value.startswith("https://") else None
        return value

    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=CLEAN_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=URL_SCHEMES,
        url_relative=None,
        link_rel="noopener noreferrer",
    )


_BLOCK_RE = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h[1-6]|p|div|tr|li|h[1-6])\b[^>]*>", re.I)
_DROP_RE = re.compile(r"<(script|style|head|title)\b.*?</\1\s*>", re.I | re.S)
_TAG_RE = re.compile(r"<[^>]+>")
_BLANKS_RE = re.compile(r"\n\s*\n\s*\n+")


def html_to_text(html: str) -> str:
    """A readable plain-text version of mail HTML (for the thread and for search)."""
    text = _DROP_RE.sub("", html)
    text = _BLOCK_RE.sub("\n", text)
    text = re.sub(r"<\s*blockquote[^>]*>", "\n> ", text, flags=re.I)
    text = _TAG_RE.sub("", text)
    text = html_lib.unescape(text)
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANKS_RE.sub("\n\n", text).strip()


_QUOTE_HEADERS = [
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}", re.I),
    re.compile(r"^\s*-{2,}\s*Ursprüngliche Nachricht\s*-{2,}", re.I),
    re.compile(r"^\s*On .{4,200}\bwrote:\s*$", re.I),
    re.compile(r"^\s*Am .{4,200}\bschrieb .{0,200}:\s*$", re.I),
    re.compile(r"^\s*Le .{4,200}\ba écrit\s*:\s*$", re.I),
    re.compile(r"^\s*From:\s.+$"),
    re.compile(r"^\s*Von:\s.+$"),
]


def split_quoted(text: str | None) -> tuple[str, str]:
    """(new text, quoted rest) of a reply; the full body is always stored, this only folds.

    Cuts at our own reply marker, at a known client quote header ("On … wrote:", "-----Original
    Message-----"), or at a trailing block of ``>`` lines.
    """
    text = text or ""
    marker = text.find(REPLY_ABOVE)
    if marker >= 0:
        return text[:marker].rstrip(), text[marker:]
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if index and any(p.match(line) for p in _QUOTE_HEADERS):
            return "".join(lines[:index]).rstrip(), "".join(lines[index:])
    # A trailing run of quoted lines (possibly with blank lines between them).
    cut = len(lines)
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        if stripped.startswith(">"):
            cut = index
        elif stripped:
            break
    if cut < len(lines) and cut > 0:
        return "".join(lines[:cut]).rstrip(), "".join(lines[cut:])
    return text, ""
