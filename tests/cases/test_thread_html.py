"""The workspace's thread shows a mail's HTML, sanitised again as it is shown (no scripts, no
handlers, no remote images: a marker instead), its quoted part folded; the text part where a
mail has no HTML or its HTML shows nothing."""

from __future__ import annotations

import re

from app.cases.models import Message
from app.extensions import db
from app.mail.intake import receive
from app.mail.sanitize import split_quoted_html
from tests.support.desk import PASSWORD

HTML_MAIL = (
    "From: carol@customer.test\r\nTo: a@desk.test\r\nSubject: Printer on fire\r\n"
    "Message-ID: <html-1@customer.test>\r\nMIME-Version: 1.0\r\n"
    'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
    "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "It is *still* burning.\r\n\r\nOn Mon, 1 Dec 2026, Desk wrote:\r\n> Restart it.\r\n"
    "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    '<div dir="ltr">It is <strong>still</strong> burning.'
    "<ul><li>paper tray</li><li>toner</li></ul>"
    '<img src="https://tracker.example/pixel.gif" alt="Logo">'
    '<a href="javascript:alert(1)" onclick="steal()">click</a><script>alert(1)</script></div>'
    '<div class="gmail_quote"><div>On Mon, 1 Dec 2026, Desk &lt;a@desk.test&gt; wrote:</div>'
    "<blockquote>Please <em>restart</em> the printer.</blockquote></div>\r\n"
    "--b--\r\n"
)


def _workspace(app, desk, case_id) -> str:
    client = app.test_client()
    client.post("/login/", data={"username": "agent_a", "password": PASSWORD.format("agent_a")})
    response = client.get(f"/cases/show/{case_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _message(page: str, message_id: int) -> str:
    found = re.search(
        rf'<li class="ld-msg[^"]*" id="msg-{message_id}">.*?</li>\s*(?=<li class="ld-msg|</ol>)',
        page,
        re.S,
    )
    return found.group(0)


def test_an_html_mail_shows_sanitised_with_its_quote_folded(app, desk):
    result = receive(HTML_MAIL.encode(), mailbox=desk.mailbox_a, source="t")
    assert result.case_id is not None
    page = _workspace(app, desk, result.case_id)
    shown = _message(page, result.message_id)
    new, quoted = shown.split('<details class="ld-msg-quoted">')
    assert "It is <strong>still</strong> burning." in new
    assert "<li>paper tray</li>" in new
    assert "tracker.example" not in shown and "[image blocked: Logo]" in new
    assert "<script" not in shown and "onclick" not in shown and "javascript:" not in shown
    # The quote, attribution included, sits folded under "Quoted text".
    assert "wrote:" not in new and "restart" not in new
    assert "On Mon, 1 Dec 2026, Desk &lt;a@desk.test&gt; wrote:" in quoted
    assert "<blockquote>Please <em>restart</em> the printer.</blockquote>" in quoted
    assert "*still*" not in shown  # the HTML, not the text part


def test_a_text_mail_and_an_empty_html_part_show_the_text(app, desk):
    plain = receive(
        b"From: carol@customer.test\r\nTo: a@desk.test\r\nSubject: Plain\r\n"
        b"Message-ID: <plain-1@customer.test>\r\n\r\nJust text <b>not markup</b>.\r\n",
        mailbox=desk.mailbox_a,
        source="t",
    )
    page = _workspace(app, desk, plain.case_id)
    assert "Just text &lt;b&gt;not markup&lt;/b&gt;." in _message(page, plain.message_id)
    message = db.session.get(Message, plain.message_id)
    message.body_html = "<div><script>x()</script>  </div>"  # shows nothing
    db.session.commit()
    page = _workspace(app, desk, plain.case_id)
    shown = _message(page, plain.message_id)
    assert "ld-msg-html" not in shown and "Just text &lt;b&gt;not markup&lt;/b&gt;." in shown


def test_the_html_split_folds_outlook_headers_and_our_marker_but_not_a_whole_forward():
    new, quoted = split_quoted_html(
        "<p>Fine now.</p><div><p><b>From:</b> Desk<br><b>Sent:</b> Monday</p><p>old</p></div>"
    )
    assert "Fine now." in new and "old" not in new and "Sent:" in quoted
    new, quoted = split_quoted_html(
        "<p>Thanks!</p><p>-- Please reply above this line --</p><p>Our answer</p>"
    )
    assert "Our answer" in quoted and "Our answer" not in new
    # Nothing came before the quote: nothing to fold.
    new, quoted = split_quoted_html("<blockquote>Forwarded text</blockquote>")
    assert quoted == "" and "Forwarded text" in new
