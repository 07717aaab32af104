"""Writing articles by role (the editor page, the list's actions), never deleting them, the
Events they leave, and the HTML they keep."""

from __future__ import annotations

import pytest

from tests.support.records import refresh

HOSTILE = (
    '<p onclick="steal()">Reset it <b>here</b><script>alert("x")</script></p>'
    '<p><a href="javascript:alert(1)">click me</a> <img src="https://tracker.test/p.gif">'
    '<a href="https://desk.test/help">help</a></p><style>p{color:red}</style>'
)


def _form(pools=(), *, title="Password reset", body="<p>Use the link.</p>", lang="en", **extra):
    data = {
        f"title_{lang}": title,
        f"body_html_{lang}": body,
        "tags": extra.pop("tags", "password, login"),
        "status": extra.pop("status", "published"),
        "pool_ids": [str(p.id) for p in pools],
    }
    data.update(extra)
    return data


def _events(row):
    from app.audit.models import Event
    from app.extensions import db

    return (
        db.session.query(Event)
        .filter_by(object_type="knowledge_article", object_id=row.id)
        .order_by(Event.id)
        .all()
    )


def _articles():
    from app.extensions import db
    from app.knowledge.models import KnowledgeArticle

    db.session.expire_all()
    return db.session.query(KnowledgeArticle).all()


def test_a_supervisor_writes_an_article_of_his_pool(desk, auth, client):
    auth.login("supervisor_a")
    response = client.post("/knowledge/editor/new", data=_form([desk.pool_a], public="y"))
    assert response.status_code == 302
    [row] = _articles()
    assert [p.name for p in row.pools] == ["Pool A"]
    assert row.public and row.status == "published" and row.tags == "password, login"
    assert row.version("en").title == "Password reset"
    assert row.created_by_id == desk.user("supervisor_a").id
    created = _events(row)
    assert [e.action for e in created] == ["created"]
    assert created[0].actor_id == desk.user("supervisor_a").id

    # He changes it: a Polish version, archived. Events say what changed, who did it.
    data = _form([desk.pool_a], status="archived")
    data.update({"title_pl": "Reset hasła", "body_html_pl": "<p>Użyj linku.</p>"})
    assert client.post(f"/knowledge/editor/{row.id}", data=data).status_code == 302
    row = refresh(row)
    assert row.status == "archived" and row.languages == "en, pl" and not row.public
    actions = {(e.action, e.field) for e in _events(row)}
    assert {("status", None), ("changed", "public"), ("changed", "text")} <= actions


def test_a_supervisor_cannot_write_for_another_pool_or_the_whole_desk(desk, auth, client):
    auth.login("supervisor_a")
    other = client.post("/knowledge/editor/new", data=_form([desk.pool_b]))
    assert other.status_code in (400, 403)
    desk_wide = client.post("/knowledge/editor/new", data=_form([]))
    assert desk_wide.status_code == 403
    assert _articles() == []


def test_a_supervisor_cannot_change_an_article_shared_with_a_pool_he_does_not_supervise(
    desk, article, auth, client
):
    shared = article({"en": ("Shared", "<p>Both pools</p>")}, [desk.pool_a, desk.pool_b])
    auth.login("supervisor_a")
    assert client.get(f"/knowledge/editor/{shared.id}").status_code == 403
    response = client.post(f"/knowledge/editor/{shared.id}", data=_form([desk.pool_a]))
    assert response.status_code == 403
    assert [p.name for p in refresh(shared).pools] == ["Pool A", "Pool B"]
    # ... and may not narrow one of his own into another pool either.
    own = article({"en": ("Own", "<p>Pool A</p>")}, [desk.pool_a])
    response = client.post(f"/knowledge/editor/{own.id}", data=_form([desk.pool_a, desk.pool_b]))
    assert response.status_code in (400, 403)
    assert [p.name for p in refresh(own).pools] == ["Pool A"]


def test_an_admin_keeps_desk_wide_articles(desk, auth, client):
    auth.login("admin")
    assert client.post("/knowledge/editor/new", data=_form([])).status_code == 302
    [row] = _articles()
    assert row.pools == [] and row.scope == "Desk-wide"


@pytest.mark.parametrize("username", ["agent_a", "manager"])
def test_agents_and_managers_read_but_do_not_write(desk, article, auth, client, username):
    row = article({"en": ("Read me", "<p>Text</p>")}, [desk.pool_a])
    auth.login(username)
    assert client.get("/knowledge/articles/list/").status_code == 200
    assert client.get(f"/knowledge/articles/show/{row.id}").status_code == 200
    assert client.get("/knowledge/editor/new").status_code == 403
    assert client.post("/knowledge/editor/new", data=_form([desk.pool_a])).status_code == 403
    assert client.post(f"/knowledge/editor/{row.id}", data=_form([desk.pool_a])).status_code == 403
    assert client.get(f"/knowledge/articles/edit/{row.id}").status_code == 403
    assert len(_articles()) == 1 and refresh(row).version("en").title == "Read me"


def test_someone_without_login_gets_nothing(desk, article, client):
    row = article({"en": ("Secret", "<p>Text</p>")}, [desk.pool_a])
    for url in ("/knowledge/articles/list/", f"/knowledge/editor/{row.id}", "/api/v1/knowledge/"):
        response = client.get(url)
        assert response.status_code in (302, 401), url
        assert b"Secret" not in response.data


def test_articles_are_archived_never_deleted(desk, article, auth, client):
    from app.errors import DeletionForbidden
    from app.extensions import db

    row = article({"en": ("Old answer", "<p>Text</p>")}, [desk.pool_a])
    auth.login("supervisor_a")
    assert client.post(f"/knowledge/articles/delete/{row.id}").status_code in (403, 404, 405)
    response = client.post(
        "/knowledge/articles/action_post", data={"action": "archive", "rowid": [str(row.id)]}
    )
    assert response.status_code == 302
    assert refresh(row).status == "archived"
    with pytest.raises(DeletionForbidden):
        db.session.delete(refresh(row))
        db.session.flush()
    db.session.rollback()
    assert len(_articles()) == 1


def test_the_list_action_is_refused_for_another_pools_article(desk, article, auth, client):
    row = article({"en": ("Pool B only", "<p>Text</p>")}, [desk.pool_b])
    auth.login("supervisor_a")
    response = client.post(
        "/knowledge/articles/action_post", data={"action": "archive", "rowid": [str(row.id)]}
    )
    assert response.status_code == 404
    assert refresh(row).status == "published"


def test_a_refused_save_lists_every_problem_and_keeps_what_was_written(desk, auth, client):
    auth.login("supervisor_a")
    data = _form([desk.pool_a], title="", body="<p>An answer without a title</p>")
    data.update({"title_de": "Titel ohne Text", "body_html_de": "<p><br></p>"})
    response = client.post("/knowledge/editor/new", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "English: give the version a title." in page
    assert "Deutsch: write the text of the answer." in page
    assert "Titel ohne Text" in page and "An answer without a title" in page
    assert _articles() == []


def test_the_body_is_sanitised_when_saved_and_when_shown(desk, article, auth, client):
    row = article({"en": ("Hostile", HOSTILE)}, [desk.pool_a], public=True)
    body = refresh(row).version("en").body_html
    for bad in ("<script", "onclick", "javascript:", "<img", "<style", "color:red"):
        assert bad not in body
    assert "<b>here</b>" in body and 'href="https://desk.test/help"' in body
    text = refresh(row).version("en").body_text
    assert "alert" not in text and "Reset it here" in text

    auth.login("agent_a")
    shown = client.get(f"/knowledge/articles/show/{row.id}").get_data(as_text=True)
    assert "steal()" not in shown and "tracker.test" not in shown
    inserted = client.post(f"/knowledge/picker/{desk.case_a.id}/insert/{row.id}/en").json
    assert "<script" not in inserted["html"] and "onclick" not in inserted["html"]
    portal = client.get(f"/portal/kb/{row.id}").get_data(as_text=True)
    assert "steal()" not in portal and "javascript:" not in portal and "<b>here</b>" in portal


def test_the_editor_page_without_javascript_takes_plain_text(desk, auth, client):
    auth.login("supervisor_a")
    page = client.get("/knowledge/editor/new").get_data(as_text=True)
    assert 'name="text_pl"' in page and 'name="pool_ids"' in page and "Pool B" not in page
    data = {
        "title_sv": "Leverans",
        "text_sv": "Vi skickar inom två dagar.\n\nHälsningar",
        "pool_ids": [str(desk.pool_a.id)],
        "status": "draft",
    }
    assert client.post("/knowledge/editor/new", data=data).status_code == 302
    [row] = _articles()
    assert row.status == "draft"
    assert row.version("sv").body_text == "Vi skickar inom två dagar.\n\nHälsningar"
