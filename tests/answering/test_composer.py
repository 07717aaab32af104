"""The reply composer: formatted replies from the case page and the API, sanitised on the
server and sent as multipart/alternative through real SMTP; template fill, preview fragment,
approval with HTML, the page without JavaScript and who may use it."""

from __future__ import annotations

import email
from email import policy

import pytest

from tests.support.records import agent_profile, events, refresh
from tests.support.smtp import Sink

pytest.importorskip("aiosmtpd.controller", reason="needs aiosmtpd (requirements-dev)")

FORMATTED = (
    "<p>We <strong>replaced</strong> the <em>fuser</em>:</p>"
    '<ul><li>new fuser</li><li>see <a href="https://example.test/manual">the manual</a></li></ul>'
    "<p><br></p><p>Bye</p>"
)
HOSTILE = (
    '<p onclick="steal()">Fixed <b>now</b><script>alert("x")</script></p>'
    '<p><a href="javascript:alert(1)">click me</a> <img src="https://tracker.test/p.gif"></p>'
    '<style>p{color:red}</style><p style="color:red">Thanks</p>'
)


@pytest.fixture
def sink():
    server = Sink()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_config(app_config, sink):
    app_config.update(
        {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": sink.port,
            "MAIL_USE_TLS": False,
            "MAIL_USE_SSL": False,
            "MAIL_DOMAIN": "desk.test",
            "OUTBOX_ENQUEUE_ON_COMMIT": False,
            "OUTBOX_SMTP_TIMEOUT": 5,
        }
    )
    return app_config


def _sent(sink):
    from app.outbox.delivery import deliver_due

    assert deliver_due().sent == 1
    [raw] = [e.content for e in sink.envelopes]
    return email.message_from_bytes(raw, policy=policy.default)


def _alternative(mail):
    [alt] = [p for p in mail.walk() if p.get_content_type() == "multipart/alternative"]
    plain, html = alt.get_payload()[0], alt.get_payload()[1]
    assert plain.get_content_type() == "text/plain"
    assert html.get_content_type() in ("text/html", "multipart/related")
    html_part = mail.get_body(preferencelist=("html",))
    text = plain.get_content().replace("\r\n", "\n")
    return text, html_part.get_content().replace("\r\n", "\n")


def test_formatted_reply_from_the_page_arrives_as_text_and_html(answering, client, auth, sink):
    from app.answering.models import Reply
    from app.cases.models import Message
    from app.extensions import db

    auth.login("agent_a")
    case = answering.case_a
    r = client.post(
        f"/caseaction/{case.id}/reply",
        data={"text": "what the editor also wrote as text", "body_html": FORMATTED},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    mail = _sent(sink)
    plain, html = _alternative(mail)
    # The plain part reads well on its own: header, the list, the link, footer, signature.
    assert plain.index("Dear Alice,") < plain.index("We replaced the fuser:")
    assert "- new fuser\n- see the manual <https://example.test/manual>\n\nBye" in plain
    assert "Kind regards, Pool A" in plain and "agent_a, Printer support" in plain
    assert "what the editor also wrote" not in plain  # the HTML is the reply, its text derived
    assert "<strong>replaced</strong>" in html and "<em>fuser</em>" in html
    assert '<li>see <a href="https://example.test/manual">the manual</a></li>' in html
    assert "<p>Dear Alice,</p>" in html and "cid:sig-" in html  # header and signature image
    out = db.session.query(Message).filter_by(case_id=case.id, direction="outbound").one()
    assert "<strong>replaced</strong>" in out.body_html and "- new fuser" in out.body_text
    reply = db.session.query(Reply).one()
    assert reply.body.startswith("We replaced the fuser:") and "<ul>" in reply.body_html
    assert events(case, "reply sent")[0].details["formatted"] is True


def test_hostile_html_through_the_api_is_stripped_before_it_is_sent(answering, client, auth, sink):
    from app.answering.models import Reply
    from app.extensions import db

    case = answering.case_a
    r = client.post(
        f"/api/v1/caseaction/{case.id}/reply",
        headers=auth.token("agent_a"),
        json={"body_html": HOSTILE},
    )
    assert r.status_code == 201, r.json
    plain, html = _alternative(_sent(sink))
    stored = db.session.query(Reply).one().body_html
    for gone in ("script", "alert", "onclick", "steal", "javascript", "tracker", "color:red"):
        assert gone not in html.lower() and gone not in stored
    assert "<b>now</b>" in html and "click me" in html and "Thanks" in html
    assert "Fixed now" in plain and "click me" in plain and "alert" not in plain


def test_plain_text_reply_through_the_api_keeps_its_text(answering, client, auth, sink):
    from app.answering.models import Reply
    from app.extensions import db

    case = answering.case_a
    r = client.post(
        f"/api/v1/caseaction/{case.id}/reply",
        headers=auth.token("agent_a"),
        json={"text": "Line one\n<b>not bold</b>"},
    )
    assert r.status_code == 201
    plain, html = _alternative(_sent(sink))
    assert "Line one\n<b>not bold</b>" in plain
    assert "Line one<br>&lt;b&gt;not bold&lt;/b&gt;" in html
    assert db.session.query(Reply).one().body_html is None


def test_empty_editor_html_is_refused(answering, client, auth, mails):
    case = answering.case_a
    r = client.post(
        f"/api/v1/caseaction/{case.id}/reply",
        headers=auth.token("agent_a"),
        json={"body_html": "<p><br></p><script>x()</script>"},
    )
    assert r.status_code == 400 and "needs some text" in r.json["message"]
    bad = client.post(
        f"/api/v1/caseaction/{case.id}/reply",
        headers=auth.token("agent_a"),
        json={"body_html": {"p": "x"}},
    )
    assert bad.status_code == 400 and "body_html" in bad.json["message"]
    assert mails.calls == [] and refresh(case).status == "received"


def test_formatted_reply_waiting_for_approval_goes_out_formatted(answering, client, auth, sink):
    from app.extensions import db

    agent_profile(answering.user("agent_a")).replies_need_approval = True
    db.session.commit()
    case = answering.case_a
    auth.login("agent_a")
    client.post(
        f"/caseaction/{case.id}/reply",
        data={"body_html": FORMATTED},
        content_type="multipart/form-data",
    )
    assert refresh(case).status == "awaiting_approval" and sink.envelopes == []
    auth.logout()
    auth.login("supervisor_a")
    page = client.get(f"/cases/show/{case.id}").get_data(as_text=True)
    assert "Reply waiting for approval" in page and "<strong>replaced</strong>" in page
    from app.answering.models import Reply

    reply = db.session.query(Reply).one()
    assert client.post(f"/caseaction/reply/{reply.id}/approve", data={}).status_code == 302
    plain, html = _alternative(_sent(sink))
    assert "<strong>replaced</strong>" in html and "- new fuser" in plain
    assert "agent_a, Printer support" in plain  # the author's signature, not the approver's


def test_preview_fragment_shows_the_exact_mail(answering, client, auth):
    auth.login("agent_a")
    case = answering.case_a
    r = client.post(
        f"/caseaction/{case.id}/preview",
        data={"body_html": FORMATTED, "document_ids": [answering.document.id]},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "<html" not in page and "navbar" not in page  # only the fragment htmx swaps in
    assert "<p>Dear Alice,</p>" in page and "<strong>replaced</strong>" in page
    assert "Kind regards, Pool A" in page and "agent_a, Printer support" in page
    assert "data:image/jpeg;base64," in page  # the signature image, as the customer sees it
    assert f"[{case.number}]" in page and "prices-v2.txt" in page
    assert "- new fuser" in page  # the plain-text part
    empty = client.post(
        f"/caseaction/{case.id}/preview",
        data={"body_html": "<p></p>"},
        headers={"HX-Request": "true"},
    )
    assert empty.status_code == 200 and "needs some text" in empty.get_data(as_text=True)


def test_preview_without_javascript_is_the_whole_page_with_the_editor_kept(answering, client, auth):
    auth.login("agent_a")
    case = answering.case_a
    r = client.post(f"/caseaction/{case.id}/preview", data={"body_html": FORMATTED})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "navbar" in page
    assert 'id="reply-preview"' in page and "<strong>replaced</strong>" in page
    # The editor starts again from what was written (sanitised, in an attribute).
    assert 'data-initial-html="&lt;p&gt;We &lt;strong&gt;replaced' in page


def test_picking_a_template_fills_the_editor_for_this_case(answering, client, auth):
    from app.answering.models import ResponseTemplate
    from app.extensions import db

    auth.login("agent_a")
    case = answering.case_a
    tpl = db.session.query(ResponseTemplate).filter_by(name="greeting", language="en").one()
    r = client.get(f"/caseaction/{case.id}/template?template_id={tpl.id}")
    assert r.status_code == 200
    fragment = r.get_data(as_text=True)
    assert 'id="ld-composer-editor"' in fragment and "<html" not in fragment
    assert f"Thanks for case {case.number}, Alice." in fragment  # the textarea (no JS)
    assert f"&lt;p&gt;Thanks for case {case.number}, Alice." in fragment  # the editor's HTML
    assert f'name="template_id" value="{tpl.id}"' in fragment
    unknown = client.get(f"/caseaction/{case.id}/template?template_id=999999")
    assert unknown.status_code == 200 and "No such template" in unknown.get_data(as_text=True)
    api = client.get(
        f"/api/v1/caseaction/{case.id}/template/{tpl.id}", headers=auth.token("agent_a")
    )
    assert api.json["result"]["body_html"].startswith(f"<p>Thanks for case {case.number}")


def test_compose_page_works_without_javascript_and_serves_its_assets(answering, client, auth):
    auth.login("agent_a")
    case = answering.case_a
    page = client.get(f"/caseaction/{case.id}/compose")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<textarea class="form-control" id="reply-text" name="text"' in html
    assert f'hx-post="/caseaction/{case.id}/preview"' in html
    assert f'formaction="/caseaction/{case.id}/preview"' in html  # Preview without htmx
    for asset in (
        "/static/vendor/quill/quill.js",
        "/static/vendor/quill/quill.snow.css",
        "/static/loopdesk/composer.js",
        "/static/loopdesk/composer.css",
        "/static/vendor/htmx/htmx.min.js",
    ):
        assert asset in html
        served = client.get(asset)
        assert served.status_code == 200 and len(served.data) > 500
        served.close()
    assert "cdn" not in html.lower()
    # The plain form sends the text alone.
    r = client.post(
        f"/caseaction/{case.id}/reply",
        data={"text": "Plain answer."},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302


@pytest.mark.parametrize("role", ["manager"])
def test_who_may_not_reply_gets_no_composer(answering, client, auth, role):
    from app.answering.models import ResponseTemplate
    from app.extensions import db

    auth.login(role)
    case = answering.case_a
    tpl = db.session.query(ResponseTemplate).filter_by(name="greeting", language="en").one()
    assert client.get(f"/caseaction/{case.id}/template?template_id={tpl.id}").status_code == 403
    r = client.post(
        f"/caseaction/{case.id}/preview", data={"text": "x"}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 403


def test_agent_of_another_pool_cannot_fill_or_preview(answering, client, auth):
    auth.login("agent_b")
    case = answering.case_a
    assert client.get(f"/caseaction/{case.id}/template").status_code == 404
    r = client.post(
        f"/caseaction/{case.id}/preview", data={"text": "x"}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 404


def test_textarea_line_ends_of_a_browser_make_proper_paragraphs(answering, client, auth, mails):
    auth.login("agent_a")
    case = answering.case_a
    client.post(
        f"/caseaction/{case.id}/reply",
        data={"text": "First paragraph.\r\n\r\nSecond one,\r\nsame paragraph."},
        content_type="multipart/form-data",
    )
    [mail] = mails.of_kind("reply")
    assert "First paragraph.\n\nSecond one,\nsame paragraph." in mail["text"]
    assert "<p>First paragraph.</p><p>Second one,<br>same paragraph.</p>" in mail["html"]


def test_the_partial_renders_with_only_the_case_for_embedding(answering, app):
    """The case page embeds the composer with ``{% include "answering/_composer.html" %}``."""
    from flask import g, render_template_string
    from flask_login import login_user

    from app.extensions import db

    case = answering.case_a
    with app.test_request_context(f"/cases/show/{case.id}"):
        login_user(answering.user("agent_a"))
        g.user = answering.user("agent_a")  # what Flask-AppBuilder's before_request sets
        html = render_template_string('{% include "answering/_composer.html" %}', case=case)
        assert 'id="ld-composer"' in html and 'name="text"' in html
        assert "greeting (en)" in html and "Price list" in html
        assert html.count("vendor/quill/quill.js") == 1
        case.status = "closed"
        db.session.flush()
        closed = render_template_string('{% include "answering/_composer.html" %}', case=case)
        assert "reopen it to reply" in closed and 'name="text"' not in closed
        db.session.rollback()
