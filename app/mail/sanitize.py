"""Make mail HTML safe to show, turn HTML into text, and fold quoted reply text.

HTML from mail is hostile by default: scripts, event handlers, ``javascript:`` links, CSS and
tracking pixels. ``clean_html`` keeps an allow-list of harmless tags (nh3, the Ammonia
sanitiser), rewrites ``cid:`` images to links of our own attachment download and drops every
remote image, so opening a mail in the desk tells no sender that it was read.
"""

from __future__ import annotations

import functools
import html as html_lib
import re
from collections.abc import Callable
from html.parser import HTMLParser

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


# An Outlook reply header: "From:" alone in its <b>, the sender in the text after it.
_HTML_QUOTE_HEADERS = [*_QUOTE_HEADERS, re.compile(r"^\s*(From|Von|De)\s?:\s*$")]


class _QuoteFinder(HTMLParser):
    """Where the quoted part of mail HTML begins: the first ``<blockquote>``, our reply
    marker or a client's quote header ("On … wrote:", "-----Original Message-----", Outlook's
    "From:"), once some text of the new message came before it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cut: tuple[int, int] | None = None
        self.seen_text = False

    def handle_starttag(self, tag, attrs):
        if self.cut is None and self.seen_text and tag == "blockquote":
            self.cut = self.getpos()

    def handle_data(self, data):
        if self.cut is not None or not data.strip():
            return
        first_line = data.strip().splitlines()[0]
        if self.seen_text and (
            REPLY_ABOVE in data or any(p.match(first_line) for p in _HTML_QUOTE_HEADERS)
        ):
            self.cut = self.getpos()
            return
        if REPLY_ABOVE in data:  # the marker first: everything is quoted, nothing to fold
            return
        self.seen_text = True


def _offset(html: str, position: tuple[int, int]) -> int:
    line, column = position
    start = 0
    for _ in range(line - 1):
        start = html.index("\n", start) + 1
    return start + column


@functools.lru_cache(maxsize=512)
def split_quoted_html(html: str | None, *, allow_remote_images: bool = False) -> tuple[str, str]:
    """(new part, quoted rest) of a mail's HTML, each sanitised again (``clean_html``: the
    cut leaves open tags, which the sanitiser closes; remote images stay out unless allowed).
    Like ``split_quoted`` it only folds: the stored body is whole. Kept for the process per
    body (a thread shows the same mails again and again)."""
    if not html:
        return "", ""
    finder = _QuoteFinder()
    try:
        finder.feed(html)
        finder.close()
    except (AssertionError, ValueError):  # a parser that gives up folds nothing
        finder.cut = None

    def shown(part: str) -> str:
        return _mark_blocked_images(clean_html(part, allow_remote_images=allow_remote_images))

    if finder.cut is None:
        return shown(html), ""
    cut = _offset(html, finder.cut)
    return shown(html[:cut]), shown(html[cut:])


_SRCLESS_IMG_RE = re.compile(r"<img(?![^>]*\ssrc=)([^>]*)>", re.I)
_ALT_RE = re.compile(r'\salt="([^"]*)"')


def _mark_blocked_images(html: str) -> str:
    """An image the sanitiser took the source from (remote, tracking) shows as a marker."""

    def marker(match: re.Match) -> str:
        alt = _ALT_RE.search(match.group(1))
        label = html_lib.unescape(alt.group(1)).strip() if alt else ""
        text = f"image blocked: {label}" if label else "image blocked"
        return (
            '<span class="ld-img-blocked" title="Remote images are not loaded">'
            f"[{html_lib.escape(text)}]</span>"
        )

    return _SRCLESS_IMG_RE.sub(marker, html)


def has_visible_content(html: str) -> bool:
    """The HTML shows something: text or an image (else the thread shows the text part)."""
    return bool(html_to_text(html).strip()) or "<img" in html
