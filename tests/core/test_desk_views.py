"""What every generated page and API of the desk does alike: human titles, a readable empty
choice in dropdowns, and a clear error for input longer than its column (never a silent cut)."""

from __future__ import annotations

import re

import pytest
from wtforms.validators import Length

from app.cases.models import Case
from app.core.views import DeskModelRestApi, DeskModelView, column_max_length
from app.extensions import db
from app.organisation.models import Pool
from tests.support.records import refresh

LONG = "x" * 200_000


def _views(app, kind):
    return [v for v in app.appbuilder.baseviews if isinstance(v, kind)]


def test_every_view_has_human_titles(app):
    views = _views(app, DeskModelView)
    assert len(views) > 15
    for view in views:
        for title in (view.list_title, view.show_title, view.add_title, view.edit_title):
            assert not re.match(r"(List|Show|Add) ", str(title)), (type(view).__name__, title)
    pools = next(v for v in views if type(v).__name__ == "PoolView")
    assert (pools.list_title, pools.show_title, pools.add_title, pools.edit_title) == (
        "Pools",
        "Pool",
        "New pool",
        "Edit pool",
    )


def test_pages_show_the_titles_and_say_what_was_saved(desk, client, auth):
    auth.login("admin")
    page = client.get(f"/cases/show/{desk.case_a.id}").get_data(as_text=True)
    # the case workspace labels its properties itself, in words
    assert "<dt>Received</dt>" in page and "Received At" not in page
    page = client.get(f"/mailboxes/edit/{desk.mailbox_a.id}").get_data(as_text=True)
    assert "SMTP host" in page and "Smtp Host" not in page
    assert ">Pools<" in client.get("/pools/list/").get_data(as_text=True)
    page = client.get("/category-rules/add").get_data(as_text=True)
    assert "New category rule" in page and "Add Category Rule" not in page
    page = client.post("/skills/add", data={"name": "Welsh"}, follow_redirects=True)
    assert "Skill added." in page.get_data(as_text=True)


def test_no_dropdown_shows_the_internal_empty_value(desk, client, auth):
    """FAB's empty choice of optional dropdowns has the value __None; it must not be the
    visible text anywhere (add, edit and search forms)."""
    auth.login("admin")
    urls = [
        f"/cases/edit/{desk.case_a.id}",
        "/topics/add",
        "/category-rules/add",
        "/answering/templates/add",
        f"/mailboxes/edit/{desk.mailbox_a.id}",
        "/cases/list/",
    ]
    for url in urls:
        page = client.get(url).get_data(as_text=True)
        assert ">__None<" not in page, url
    page = client.get("/topics/add").get_data(as_text=True)
    assert re.search(r'<option (selected )?value="__None">—</option>', page)


def test_every_form_field_of_a_text_column_has_its_column_length(app):
    checked = 0
    for view in _views(app, DeskModelView):
        model = view.datamodel.obj
        for form_class in (view.add_form, view.edit_form):
            for name, field in form_class()._fields.items():
                limit = column_max_length(model, name)
                if limit is None or field.type in ("SelectField", "QuerySelectField"):
                    continue
                lengths = [v.max for v in field.validators if isinstance(v, Length)]
                assert lengths == [limit], (type(view).__name__, name, lengths)
                checked += 1
    assert checked > 30


@pytest.mark.parametrize("method", ["post", "put"])
def test_every_api_schema_limits_text_columns(app, method):
    checked = 0
    for api in _views(app, DeskModelRestApi):
        schema = api.add_model_schema if method == "post" else api.edit_model_schema
        if schema is None:
            continue
        for name, field in schema.fields.items():
            limit = column_max_length(api.datamodel.obj, name)
            if limit is None:
                continue
            lengths = [v.max for v in field.validators if hasattr(v, "max")]
            assert limit in lengths, (type(api).__name__, name)
            checked += 1
    assert checked >= 3


def test_a_200000_character_value_gets_an_error_not_a_cut(desk, client, auth):
    auth.login("admin")
    response = client.post(
        f"/cases/edit/{desk.case_a.id}", data={"subject": LONG}, follow_redirects=True
    )
    assert "has at most 998 characters" in response.get_data(as_text=True)
    assert refresh(desk.case_a).subject == "Printer on fire"
    response = client.post("/pools/add", data={"name": LONG, "sla_hours": "8"})
    assert "Field cannot be longer than 128 characters" in response.get_data(as_text=True)
    assert db.session.query(Pool).count() == 2

    headers = auth.token("admin")
    response = client.put(f"/api/v1/case/{desk.case_a.id}", json={"subject": LONG}, headers=headers)
    assert response.status_code == 400  # the case's edit goes through actions.edit
    assert "has at most 998 characters" in response.json["message"]
    assert db.session.get(Case, desk.case_a.id).subject == "Printer on fire"
