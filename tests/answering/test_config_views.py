"""Supervisors maintain templates, signatures and documents through the UI, without code."""

from __future__ import annotations

import io

from tests.support.records import TINY_JPEG, agent_profile


def test_supervisor_adds_template_unsafe_or_unknown_placeholders_refused(answering, client, auth):
    from app.answering.models import ResponseTemplate
    from app.extensions import db

    auth.login("supervisor_a")
    before = db.session.query(ResponseTemplate).count()
    for body in ("{{ ''.__class__.__mro__ }}", "Hi {{ customer_nmae }}"):
        client.post(
            "/answering/templates/add",
            data={
                "name": "bad",
                "language": "en",
                "pool": answering.pool_a.id,
                "body": body,
                "active": "y",
            },
        )
    assert db.session.query(ResponseTemplate).count() == before
    r = client.post(
        "/answering/templates/add",
        data={
            "name": "closing",
            "language": "EN",
            "pool": answering.pool_a.id,
            "subject": "Done: {{ case_number }}",
            "body": "Bye {{ customer_name }}",
            "active": "y",
        },
    )
    assert r.status_code == 302
    row = db.session.query(ResponseTemplate).filter_by(name="closing").one()
    assert row.language == "en" and row.pool_id == answering.pool_a.id


def test_supervisor_cannot_add_template_for_a_pool_he_does_not_supervise(answering, client, auth):
    from app.answering.models import ResponseTemplate
    from app.extensions import db

    auth.login("supervisor_a")
    client.post(
        "/answering/templates/add",
        data={
            "name": "x",
            "language": "en",
            "pool": answering.pool_b.id,
            "body": "x",
            "active": "y",
        },
    )
    assert db.session.query(ResponseTemplate).filter_by(name="x").count() == 0


def test_agents_cannot_edit_templates(answering, client, auth):
    from app.answering.models import ResponseTemplate
    from app.extensions import db

    auth.login("agent_a")
    template = db.session.query(ResponseTemplate).filter_by(language="en").first()
    assert client.get("/answering/templates/list/").status_code == 200
    assert client.get("/answering/templates/add").status_code == 403
    assert client.get(f"/answering/templates/edit/{template.id}").status_code == 403
    response = client.post(
        "/answering/templates/add",
        data={"name": "sneaky", "language": "en", "body": "x", "active": "y"},
    )
    assert response.status_code == 403
    response = client.post(
        f"/answering/templates/edit/{template.id}",
        data={"name": template.name, "language": "en", "body": "changed", "active": "y"},
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.query(ResponseTemplate).filter_by(name="sneaky").count() == 0
    assert db.session.get(ResponseTemplate, template.id).body != "changed"


def test_signature_image_upload_is_validated(answering, client, auth):
    from app.answering.models import AgentSignature
    from app.extensions import db

    auth.login("admin")
    profile = agent_profile(answering.user("supervisor_a"))
    client.post(
        "/answering/signatures/add",
        data={
            "agent": profile.id,
            "text": "Sup",
            "upload": (io.BytesIO(b"GIF89a-not-ok"), "x.gif"),
        },
        content_type="multipart/form-data",
    )
    assert db.session.query(AgentSignature).filter_by(agent_id=profile.id).count() == 0
    client.post(
        "/answering/signatures/add",
        data={"agent": profile.id, "text": "Sup", "upload": (io.BytesIO(TINY_JPEG), "me.jpg")},
        content_type="multipart/form-data",
    )
    sig = db.session.query(AgentSignature).filter_by(agent_id=profile.id).one()
    assert sig.image == TINY_JPEG and sig.image_content_type == "image/jpeg"


def test_document_upload_creates_versions_and_reply_attaches_current(
    answering, client, auth, mails
):
    from app.answering.models import Document
    from app.extensions import db

    auth.login("supervisor_a")
    client.post(
        "/answering/documents/add",
        data={
            "name": "Manual",
            "pool": answering.pool_a.id,
            "active": "y",
            "file": (io.BytesIO(b"manual v1"), "manual.pdf"),
        },
        content_type="multipart/form-data",
    )
    doc = db.session.query(Document).filter_by(name="Manual").one()
    client.post(
        f"/answering/documents/edit/{doc.id}",
        data={
            "name": "Manual",
            "pool": answering.pool_a.id,
            "active": "y",
            "file": (io.BytesIO(b"manual v2"), "manual-2.pdf"),
        },
        content_type="multipart/form-data",
    )
    db.session.expire_all()
    doc = db.session.get(Document, doc.id)
    assert [v.version for v in doc.versions] == [1, 2]
    assert doc.versions[0].uploaded_by_id == answering.user("supervisor_a").id
    auth.logout()
    r = client.post(
        f"/api/v1/caseaction/{answering.case_a.id}/reply",
        headers=auth.token("agent_a"),
        json={"text": "See the manual", "document_ids": [doc.id]},
    )
    assert r.status_code == 201, r.json
    [mail] = mails.of_kind("reply")
    assert mail["attachments"] == [("manual-2.pdf", "application/pdf", b"manual v2")]
    # Pool B's agent is not offered pool A's document and cannot attach it.
    r = client.post(
        f"/api/v1/caseaction/{answering.case_b.id}/reply",
        headers=auth.token("agent_b"),
        json={"text": "x", "document_ids": [doc.id]},
    )
    assert r.status_code == 404


def test_document_over_the_limit_is_refused_before_anything_is_saved(answering, client, auth):
    """The error, and nothing else: no "added", no document without a version."""
    from app.answering.documents import MAX_UPLOAD_BYTES
    from app.answering.models import Document
    from app.extensions import db

    auth.login("supervisor_a")
    too_big = b"x" * (MAX_UPLOAD_BYTES + 1)
    for data in (too_big, b""):
        response = client.post(
            "/answering/documents/add",
            data={
                "name": "Huge manual",
                "pool": answering.pool_a.id,
                "active": "y",
                "file": (io.BytesIO(data), "manual.pdf"),
            },
            content_type="multipart/form-data",
            follow_redirects=True,
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert ("the limit is 10 MB" if data else "is empty") in page
        assert "added" not in page.lower()
        assert db.session.query(Document).filter_by(name="Huge manual").count() == 0

    # A new version over the limit leaves the document as it was.
    doc = answering.document
    response = client.post(
        f"/answering/documents/edit/{doc.id}",
        data={"name": doc.name, "active": "y", "file": (io.BytesIO(too_big), "prices-v3.txt")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "the limit is 10 MB" in response.get_data(as_text=True)
    db.session.expire_all()
    assert [v.version for v in db.session.get(Document, doc.id).versions] == [1, 2]
