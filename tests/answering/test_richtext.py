"""The reply editor's HTML on the server: what survives the sanitiser, and the plain-text part
derived from it (the editor's lines and paragraphs, lists, links)."""

from __future__ import annotations

import pytest

from app.answering.richtext import (
    InvalidHtml,
    clean_reply_html,
    html_to_text,
    reply_body,
    text_to_editor_html,
)

HOSTILE = [
    ("<p>Hi<script>alert(1)</script> there</p>", "alert"),
    ('<p onclick="steal()" onmouseover="steal()">Hi there</p>', "steal"),
    ('<p>Hi <a href="javascript:alert(1)">there</a></p>', "javascript"),
    ('<p>Hi <a href="JaVaScRiPt:alert(1)">there</a></p>', "alert"),
    ('<p>Hi <a href=" javascript:alert(1)">there</a></p>', "alert"),
    ('<p>Hi <a href="data:text/html,<script>x</script>">there</a></p>', "data:"),
    ("<style>p { background: url(https://tracker.test/t.gif) }</style><p>Hi there</p>", "tracker"),
    ('<p style="background:url(https://tracker.test/t.gif)">Hi there</p>', "tracker"),
    ('<p>Hi <img src="https://tracker.test/pixel.gif" alt=""> there</p>', "tracker"),
    ('<p>Hi <img src="x" onerror="steal()"> there</p>', "steal"),
    ('<p>Hi <iframe src="https://evil.test/"></iframe>there</p>', "evil"),
    ('<p class="x" id="y" data-list="bullet">Hi there</p>', "class"),
    ("<svg><script>alert(1)</script></svg><p>Hi there</p>", "alert"),
    ('<form action="https://evil.test/"><input name="password"></form><p>Hi there</p>', "evil"),
    ("<!-- a secret note --><p>Hi there</p>", "secret"),
    ('<p>Hi <a href="/caseaction/1/reply">there</a></p>', "/caseaction"),
]


@pytest.mark.parametrize(("source", "gone"), HOSTILE)
def test_hostile_html_is_stripped_and_the_text_stays(source, gone):
    cleaned = clean_reply_html(source)
    assert gone.lower() not in cleaned.lower()
    assert "Hi" in cleaned and "there" in cleaned
    for tag in ("<script", "<style", "<img", "<iframe", "<svg", "<form", "<input", " on"):
        assert tag not in cleaned.lower()


def test_only_simple_formatting_survives():
    cleaned = clean_reply_html(
        "<h1>Title</h1><p><b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> "
        '<span style="color:red">red</span> <font color="red">font</font> '
        '<a href="https://example.test/x" target="_blank" rel="noopener">web</a> '
        '<a href="mailto:help@example.test">mail</a> '
        '<a href="http://example.test/">plain</a></p>'
        "<ul><li>one</li></ul><ol><li>two</li></ol><table><tr><td>cell</td></tr></table>"
    )
    assert "<b>b</b>" in cleaned and "<strong>s</strong>" in cleaned
    assert "<i>i</i>" in cleaned and "<em>e</em>" in cleaned
    assert "<u>" not in cleaned and "<span" not in cleaned and "<font" not in cleaned
    assert "<h1>" not in cleaned and "<table" not in cleaned and "cell" in cleaned
    assert '<a href="https://example.test/x">web</a>' in cleaned  # no target, no rel
    assert '<a href="mailto:help@example.test">mail</a>' in cleaned
    assert '<a href="http://example.test/">plain</a>' in cleaned
    assert "<ul><li>one</li></ul>" in cleaned and "<ol><li>two</li></ol>" in cleaned


def test_editor_lines_become_paragraphs_as_in_plain_text():
    # Quill writes a <p> per line, an empty one for a blank line and &nbsp; for spaces.
    cleaned = clean_reply_html(
        "<p>Dear&nbsp;Alice,</p><p><br></p><p>the printer works again.</p>"
        "<p>It needed a new fuser.</p><p></p><p></p><p>Bob</p><p><br></p>"
    )
    assert cleaned == (
        "<p>Dear Alice,</p><p>the printer works again.<br>It needed a new fuser.</p><p>Bob</p>"
    )
    assert html_to_text(cleaned) == (
        "Dear Alice,\n\nthe printer works again.\nIt needed a new fuser.\n\nBob"
    )


def test_plain_text_part_writes_lists_and_links_readably():
    body = reply_body(
        "<p>We <strong>fixed</strong> it:</p>"
        "<ul><li>a new <em>fuser</em></li>"
        '<li>see <a href="https://example.test/manual">the manual</a></li></ul>'
        "<p>Then:</p><ol><li>switch it on</li><li>print a test page</li></ol>"
        '<p>Questions? <a href="mailto:help@example.test">Write to us</a> or visit '
        '<a href="https://example.test/">https://example.test/</a>.</p>'
    )
    assert body.text == (
        "We fixed it:\n\n"
        "- a new fuser\n"
        "- see the manual <https://example.test/manual>\n\n"
        "Then:\n\n"
        "1. switch it on\n"
        "2. print a test page\n\n"
        "Questions? Write to us <help@example.test> or visit https://example.test/."
    )
    assert "<strong>fixed</strong>" in body.html


def test_nested_lists_are_indented_in_the_text_part():
    text = html_to_text(
        clean_reply_html(
            "<ul><li>printer<ul><li>fuser</li><li>drum</li></ul></li><li>cable</li></ul>"
        )
    )
    assert text == "- printer\n  - fuser\n  - drum\n- cable"


def test_html_without_formatting_is_a_plain_text_reply():
    body = reply_body("<p>Just&nbsp;text,</p><p>two lines.</p>")
    assert body.text == "Just text,\ntwo lines." and body.html is None


def test_html_without_text_is_no_body():
    assert reply_body("<p><br></p><p></p><script>x()</script><img src='https://t.test/x'>") is None


def test_html_that_is_not_text_or_too_long_is_refused():
    with pytest.raises(InvalidHtml):
        reply_body(["<p>x</p>"])
    with pytest.raises(InvalidHtml):
        reply_body("<p>" + "x" * 500_000 + "</p>")


def test_plain_text_is_loaded_into_the_editor_line_by_line():
    assert text_to_editor_html("Dear <Alice>,\n\nthanks") == (
        "<p>Dear &lt;Alice&gt;,</p><p><br></p><p>thanks</p>"
    )
