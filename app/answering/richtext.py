"""The reply editor's HTML: made safe on the server, and turned into the mail's plain-text part.

The editor (Quill in the browser, or any REST client) sends HTML; nothing of it is trusted.
``clean_reply_html`` keeps only simple formatting — paragraphs, line breaks, bold, italic,
bulleted and numbered lists, links to http(s) and mailto — with nh3 (Ammonia), the sanitiser
the intake already uses for received mail (``app.mail.sanitize``). Scripts and styles go with
their content; event handlers, ``style``, classes, images, ``javascript:`` links and relative
links go entirely.

The editor writes one ``<p>`` per line and an empty ``<p>`` for a blank line, as people type
plain text. The cleaned HTML follows the plain-text convention the desk's mails use everywhere
(``rendering``): lines of a paragraph joined by ``<br>``, blank lines separating paragraphs, so
a formatted reply looks in the customer's mail as it looked in the editor.

``html_to_text`` derives the text/plain part: lists as ``- item`` (``1. item`` when numbered),
links as ``text <url>``.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3

from app.errors import DeskError
from app.mail.sanitize import CLEAN_CONTENT

TAGS = {"a", "b", "br", "em", "i", "li", "ol", "p", "strong", "ul"}
ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}
FORMATTING = TAGS - {"p", "br"}
# Removed together with what they contain (not only the tag): code, styles, embedded documents.
DROPPED_WITH_CONTENT = CLEAN_CONTENT | {"template", "svg", "math", "textarea", "select", "button"}
HTML_MAX = 400_000  # characters of editor HTML accepted (the text stays under REPLY_MAX)

# Block elements of other editors and mail clients become paragraphs, so their lines survive.
_BLOCK_OPEN = re.compile(r"<(div|h[1-6]|blockquote|pre|tr|dd|dt)\b[^>]*>", re.I)
_BLOCK_CLOSE = re.compile(r"</(div|h[1-6]|blockquote|pre|tr|dd|dt)\s*>", re.I)
_EMPTY_P = re.compile(r"<p>(?:\s|&nbsp;|<br>)*</p>")
_ADJACENT_P = re.compile(r"</p>\s*<p>")
_BLANK = "\x00"


class InvalidHtml(DeskError):
    """The editor's HTML is not usable (not text, far too long)."""


@dataclass
class ReplyBody:
    """A reply's body: the plain text always, the HTML only when it carries formatting."""

    text: str
    html: str | None


def text_to_html(text: str) -> str:
    """Plain text as HTML paragraphs (blank line = new paragraph, newline = ``<br>``)."""
    text = text.replace("\r\n", "\n")
    return "<p>" + html_lib.escape(text).replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p>"


def text_to_editor_html(text: str) -> str:
    """Plain text as the editor holds it: one paragraph per line, a blank line an empty one."""
    return "".join(
        f"<p>{html_lib.escape(line)}</p>" if line.strip() else "<p><br></p>"
        for line in text.replace("\r\n", "\n").split("\n")
    )


def _absolute_links_only(tag: str, attr: str, value: str) -> str | None:
    # A relative link means nothing in the customer's mailbox (and nh3 would keep it).
    if tag == "a" and attr == "href":
        return value if re.match(r"(https?:|mailto:)", value.strip(), re.I) else None
    return value


def _nh3(source: str) -> str:
    return nh3.clean(
        source,
        tags=TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=_absolute_links_only,
        url_schemes=URL_SCHEMES,
        link_rel=None,
        strip_comments=True,
    )


def clean_editor_html(source: str) -> str:
    """The editor's HTML with only the allowed tags, still one ``<p>`` per line (for loading
    it back into the editor)."""
    if not isinstance(source, str):
        raise InvalidHtml("'body_html' must be text.")
    if len(source) > HTML_MAX:
        raise InvalidHtml(f"The formatted reply is longer than {HTML_MAX} characters.")
    source = source.replace("\r\n", "\n")
    source = _BLOCK_CLOSE.sub("</p>", _BLOCK_OPEN.sub("<p>", source))
    # Quill writes every space as &nbsp; (so runs of spaces survive): plain spaces in mail.
    cleaned = _nh3(source).replace("&nbsp;", " ").replace("\xa0", " ")
    return _EMPTY_P.sub("<p><br></p>", cleaned).strip()


def clean_reply_html(source: str) -> str:
    """The HTML a customer may receive: allowed tags only, editor lines joined into
    paragraphs; empty when nothing is left."""
    cleaned = _EMPTY_P.sub(_BLANK, clean_editor_html(source))
    cleaned = _ADJACENT_P.sub("<br>", cleaned)
    cleaned = cleaned.replace(_BLANK, "")
    cleaned = re.sub(r"(<br>\s*)+</p>", "</p>", cleaned)
    cleaned = re.sub(r"<p>(\s*<br>)+", "<p>", cleaned)
    cleaned = re.sub(r"<a>(.*?)</a>", r"\1", cleaned, flags=re.S)  # a link whose href went
    return cleaned.strip() if html_to_text(cleaned) else ""


def has_formatting(cleaned: str) -> bool:
    """Whether cleaned HTML holds more than paragraphs and line breaks."""
    return any(re.search(rf"<{tag}\b", cleaned) for tag in FORMATTING)


def reply_body(body_html) -> ReplyBody | None:
    """The body of a reply written in the editor, or None when the HTML holds no text."""
    cleaned = clean_reply_html(body_html)
    if not cleaned:
        return None
    return ReplyBody(text=html_to_text(cleaned), html=cleaned if has_formatting(cleaned) else None)


def _tidy(line: str) -> str:
    """A line without trailing spaces, nor leading ones except a list item's indentation."""
    item = re.match(r"(\s*)(- |\d+\. )\s*(.*)", line)
    if item:
        return (item.group(1) + item.group(2) + item.group(3)).rstrip()
    return line.strip()


class _TextWriter(HTMLParser):
    """Walks cleaned reply HTML (``TAGS`` only) and writes its text/plain version."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.lists: list[list] = []  # [kind, next number] per open list
        self.link: tuple[str, list[str]] | None = None

    def _write(self, text: str) -> None:
        if self.link is not None:
            self.link[1].append(text)
        else:
            self.out.append(text)

    def _break(self, blank: bool) -> None:
        self.out.append("\n\n" if blank else "\n")

    def handle_starttag(self, tag, attrs):
        if tag == "p":
            self._break(blank=not self.lists)
        elif tag == "br":
            self._write("\n" + "  " * len(self.lists))
        elif tag in ("ul", "ol"):
            if not self.lists:  # a nested list starts on its item's next line
                self._break(blank=True)
            self.lists.append([tag, 1])
        elif tag == "li":
            indent = "  " * max(len(self.lists) - 1, 0)
            if self.lists and self.lists[-1][0] == "ol":
                marker = f"{self.lists[-1][1]}. "
                self.lists[-1][1] += 1
            else:
                marker = "- "
            self.out.append(f"\n{indent}{marker}")
        elif tag == "a":
            self.link = (dict(attrs).get("href") or "", [])

    def handle_endtag(self, tag):
        if tag == "p":
            self._break(blank=not self.lists)
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            if not self.lists:
                self._break(blank=True)
        elif tag == "a" and self.link is not None:
            href, parts = self.link
            self.link = None
            label = "".join(parts).strip()
            shown = href[len("mailto:") :] if href.lower().startswith("mailto:") else href
            if not label or label in (href, shown) or not href:
                self.out.append(label or shown)
            else:
                self.out.append(f"{label} <{shown}>")

    def handle_data(self, data):
        self._write(re.sub(r"\s+", " ", data.replace("\xa0", " ")))

    def text(self) -> str:
        lines = [_tidy(line) for line in "".join(self.out).split("\n")]
        text = "\n".join(lines)
        text = re.sub(r"\n{3,}", "\n\n", text)
        return "\n".join(line if line.strip() else "" for line in text.split("\n")).strip()


def html_to_text(cleaned: str) -> str:
    """The text/plain part of cleaned reply HTML."""
    writer = _TextWriter()
    writer.feed(cleaned or "")
    writer.close()
    return writer.text()
