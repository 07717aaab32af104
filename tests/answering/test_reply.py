"""Replies from the case page and the API: the exact mail, documents, ad-hoc files,
approval, link-only notification and the portal page."""

from __future__ import annotations

import base64
import re

from tests.support.records import TINY_JPEG, agent_profile, events, refresh


def _reply_form(client, case, **data):
    return client.post(
        f"/caseaction/{case.id}/reply", data=data, content_type="multipart/form-data"
    )


def test_reply_from_case_page_queues_wrapped_mail_and_moves_case(answering, client, auth, mails):
    from datetime import timedelta

    from app.answering.models import Reply
    from app.cases.models import Message
    from app.extensions import db

    case = answering.case_a
    first = case.messages[0]
    # The customer wrote again; the reply answers that last mail and keeps the whole thread.
    db.session.add(
        Message(
            case=case,
            direction="inbound",
            from_address="alice@customer.test",
            subject="Re: " + case.subject,
            body_text="It smokes now.",
            message_id="<second-alice@customer.test>",
            in_reply_to=first.message_id,
            created_at=first.created_at + timedelta(minutes=5),
        )
    )
    db.session.commit()
    auth.login("agent_a")
    response = _reply_form(client, case, text="We replaced the fuser.")
    assert response.status_code == 302
    [mail] = mails.of_kind("reply")
    assert mail["to"] == "alice@customer.test"
    assert mail["text"].startswith("Dear Alice,")
    assert "We replaced the fuser." in mail["text"]
    assert "Kind regards, Pool A" in mail["text"] and "agent_a, Printer support" in mail["text"]
    [(cid, ctype, data)] = mail["inline_images"]
    assert (ctype, data) == ("image/jpeg", TINY_JPEG) and f"cid:{cid}" in mail["html"]
    assert first.message_id == "<first-alice@customer.test>"
    assert mail["in_reply_to"] == "<second-alice@customer.test>"
    assert mail["references"].split() == [
        "<first-alice@customer.test>",
        "<second-alice@customer.test>",
    ]
    case = refresh(case)
    assert case.status == "waiting_on_customer" and case.first_response_at is not None
    out = db.session.query(Message).filter_by(case_id=case.id, direction="outbound").one()
    assert "We replaced the fuser." in out.body_text and out.message_id
    assert db.session.query(Reply).one().status == "sent"
    assert events(case, "reply sent")
    # The mail as it goes on the wire threads the same way and carries the inline image.
    import email
    from email import policy

    from app.outbox.models import OutboxMail

    row = db.session.query(OutboxMail).filter_by(case_id=case.id, kind="reply").one()
    parsed = email.message_from_bytes(row.content, policy=policy.default)
    assert parsed["In-Reply-To"] == "<second-alice@customer.test>"
    assert parsed["References"].split() == mail["references"].split()
    assert parsed["Message-ID"] == out.message_id
    cids = [p["Content-ID"] for p in parsed.walk() if p.get_content_type() == "image/jpeg"]
    assert cids and cid in cids[0]


def test_reply_page_starts_from_template_and_preview_shows_exact_mail(answering, client, auth):
    from app.answering.models import ResponseTemplate
    from app.extensions import db

    auth.login("agent_a")
    case = answering.case_a
    tpl = db.session.query(ResponseTemplate).filter_by(name="greeting", language="en").one()
    page = client.get(f"/caseaction/{case.id}/compose?template_id={tpl.id}")
    assert page.status_code == 200
    assert f"Thanks for case {case.number}, Alice." in page.get_data(as_text=True)
    preview = client.post(
        f"/caseaction/{case.id}/preview", data={"text": "Edited text before sending."}
    )
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Dear Alice," in html and "Edited text before sending." in html
    assert "Kind regards, Pool A" in html and "data:image/jpeg;base64," in html


def test_reply_via_api_with_template_and_current_library_document(answering, client, auth, mails):
    from app.answering.models import ResponseTemplate
    from app.extensions import db

    headers = auth.token("agent_a")
    case = answering.case_a
    case.customer.language = "de"
    db.session.commit()
    tpl = db.session.query(ResponseTemplate).filter_by(name="greeting", language="en").one()
    r = client.post(
        f"/api/v1/caseaction/{case.id}/reply",
        headers=headers,
        json={"template_id": tpl.id, "document_ids": [answering.document.id]},
    )
    assert r.status_code == 201, r.json
    assert r.json["result"]["status"] == "queued"  # the relay has not taken it yet
    [mail] = mails.of_kind("reply")
    # German customer: the German version of the template and the German header.
    assert "Danke für Fall" in mail["text"] and mail["text"].startswith("Hallo Alice,")
    assert mail["attachments"] == [("prices-v2.txt", "text/plain", b"new prices")]
    assert r.json["result"]["attachments"][0]["source"] == "library"
    # The thread shows the file, and its bytes are in the content store like received mail's.
    from app.cases.models import Message
    from app.mail import store

    out = db.session.query(Message).filter_by(case_id=case.id, direction="outbound").one()
    [attachment] = out.attachments
    assert attachment.filename == "prices-v2.txt"
    assert store.read_blob(attachment.sha256) == b"new prices"


def test_agent_without_attach_permission_cannot_upload_ad_hoc_file(answering, client, auth, mails):
    import io

    auth.login("agent_a")
    case = answering.case_a
    ui = client.post(
        f"/caseaction/{case.id}/reply",
        data={"text": "See file", "attachments": (io.BytesIO(b"x"), "mine.txt")},
        content_type="multipart/form-data",
    )
    assert ui.status_code == 403
    headers = auth.token("agent_a")
    api = client.post(
        f"/api/v1/caseaction/{case.id}/reply",
        headers=headers,
        json={
            "text": "See file",
            "attachments": [
                {
                    "filename": "mine.txt",
                    "content_type": "text/plain",
                    "content_base64": base64.b64encode(b"x").decode(),
                }
            ],
        },
    )
    assert api.status_code == 403
    assert "library" in api.json["message"]
    assert mails.calls == []
    assert refresh(case).status == "received"


def test_agent_with_attach_permission_uploads_ad_hoc_file(answering, client, auth, mails):
    import io

    from app.extensions import db

    agent_profile(answering.user("agent_a")).may_attach_files = True
    db.session.commit()
    auth.login("agent_a")
    r = client.post(
        f"/caseaction/{answering.case_a.id}/reply",
        data={"text": "See file", "attachments": (io.BytesIO(b"hello"), "mine.txt")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    [mail] = mails.of_kind("reply")
    assert mail["attachments"][0][0] == "mine.txt" and mail["attachments"][0][2] == b"hello"


def test_reply_needing_approval_waits_until_supervisor_approves(answering, client, auth, mails):
    from app.answering.models import Reply
    from app.extensions import db

    agent_profile(answering.user("agent_a")).replies_need_approval = True
    db.session.commit()
    case = answering.case_a
    agent = auth.token("agent_a")
    r = client.post(
        f"/api/v1/caseaction/{case.id}/reply", headers=agent, json={"text": "Draft answer"}
    )
    assert r.status_code == 201 and r.json["result"]["status"] == "pending_approval"
    assert mails.calls == []
    assert refresh(case).status == "awaiting_approval"
    reply_id = r.json["result"]["id"]
    # The agent himself cannot approve.
    assert client.post(
        f"/api/v1/caseaction/reply/{reply_id}/approve", headers=agent
    ).status_code in (403, 404)
    supervisor = auth.token("supervisor_a")
    ok = client.post(f"/api/v1/caseaction/reply/{reply_id}/approve", headers=supervisor, json={})
    assert ok.status_code == 200, ok.json
    [mail] = mails.of_kind("reply")
    assert "Draft answer" in mail["text"]
    assert "agent_a, Printer support" in mail["text"]  # the author's signature, not the approver's
    case = refresh(case)
    assert case.status == "waiting_on_customer" and case.first_response_at is not None
    assert db.session.get(Reply, reply_id).status == "sent"
    assert "supervisor_a" in events(case, "reply approved")[0].actor_name


def test_rejected_reply_is_never_sent_from_case_page(answering, client, auth, mails):
    from app.answering.models import Reply
    from app.extensions import db

    agent_profile(answering.user("agent_a")).replies_need_approval = True
    db.session.commit()
    case = answering.case_a
    auth.login("agent_a")
    _reply_form(client, case, text="Rude draft")
    reply = db.session.query(Reply).one()
    auth.logout()
    auth.login("supervisor_a")
    page = client.get(f"/cases/show/{case.id}").get_data(as_text=True)
    assert "Reply waiting for approval" in page and "Rude draft" in page
    r = client.post(f"/caseaction/reply/{reply.id}/reject", data={"reason": "Too rude"})
    assert r.status_code == 302
    assert mails.calls == []
    assert refresh(reply).status == "rejected"
    assert refresh(case).status == "in_progress"
    assert events(case, "reply rejected")[0].details["reason"] == "Too rude"


def test_link_only_notification_has_no_reply_text_and_its_link_works(
    answering, client, auth, mails
):
    import re

    from app.extensions import db

    answering.pool_a.notification_mode = "link"
    db.session.commit()
    auth.login("agent_a")
    case = answering.case_a
    _reply_form(client, case, text="The secret answer text")
    assert mails.of_kind("reply") == []
    [notice] = mails.of_kind("notification")
    assert "secret answer" not in notice["text"] and not notice.get("attachments")
    assert f"Your case {case.number} has a new answer" in notice["subject"]
    link = re.search(r"https?://\S+/portal/case/(\S+)", notice["text"])
    assert link
    auth.logout()
    page = client.get(f"/portal/case/{link.group(1)}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "The secret answer text" in body and case.number in body
    token = link.group(1)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/portal/case/{forged}").status_code == 404
    assert client.get("/portal/case/not-a-token").status_code == 404


def test_portal_page_hides_internal_notes(answering, client, auth):
    from app.answering import portal

    auth.login("agent_a")
    client.post(f"/caseaction/{answering.case_a.id}/note", data={"text": "internal gossip"})
    token = portal.portal_token(answering.case_a)
    auth.logout()
    body = client.get(f"/portal/case/{token}").get_data(as_text=True)
    assert "Help with: Printer on fire" in body and "internal gossip" not in body


def test_a_link_notice_sent_from_a_desk_on_port_8123_links_to_port_8123(answering, client, mails):
    """DESK_BASE_URL is unset: the link follows the address the desk was reached at."""
    from app.extensions import db
    from tests.support.desk import PASSWORD

    answering.pool_a.notification_mode = "link"
    db.session.commit()
    desk_url = "http://127.0.0.1:8123"
    login = {"username": "agent_a", "password": PASSWORD.format("agent_a")}
    assert client.post("/login/", data=login, base_url=desk_url).status_code == 302
    response = client.post(
        f"/caseaction/{answering.case_a.id}/reply",
        data={"text": "See the portal."},
        base_url=desk_url,
    )
    assert response.status_code == 302
    [notice] = mails.of_kind("notification")
    link = re.search(r"https?://\S+/portal/case/\S+", notice["text"]).group(0)
    assert link.startswith(desk_url + "/portal/case/")
    assert client.get(link).status_code == 200
