"""The portal in English, Polish, Swedish and German: chosen by a switch, the customer's stored
language or the browser; kept for every mail to him; every text translated."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.answering import portal as links
from app.answering import templates as notice_texts
from app.audit.actor import acting_as
from app.audit.models import Event
from app.cases import actions
from app.customers.models import Customer
from app.extensions import db
from app.portal import i18n
from tests.portal.conftest import mail_text, mails_to

PORTAL = Path(i18n.__file__).resolve().parent
OTHER_LANGUAGES = ("pl", "sv", "de")


def _case_page(client, case, **kwargs):
    return client.get(f"/portal/case/{links.portal_token(case)}", **kwargs)


def test_the_browser_language_picks_the_page_language_for_a_visitor(desk, client):
    page = client.get("/portal/login", headers={"Accept-Language": "sv-SE,sv;q=0.9,en;q=0.5"})
    body = page.get_data(as_text=True)
    assert '<html lang="sv">' in body and "Skicka en inloggningslänk" in body
    german = client.get("/portal/login", headers={"Accept-Language": "de"})
    assert "Anmeldelink senden" in german.get_data(as_text=True)
    other = client.get("/portal/login", headers={"Accept-Language": "fr"})
    assert "Send me a login link" in other.get_data(as_text=True)


def test_the_stored_language_wins_over_the_browser(desk, client):
    desk.customer_a.language = "pl"
    db.session.commit()
    body = _case_page(client, desk.case_a, headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="pl">' in body and "Napisz do nas" in body


def test_the_switch_is_kept_and_stored_for_his_mails(desk, client):
    body = client.get(f"/portal/case/{links.portal_token(desk.case_a)}?lang=de").get_data(
        as_text=True
    )
    assert "Schreiben Sie uns" in body and 'aria-current="true" class="current">Deutsch' in body
    assert db.session.get(Customer, desk.customer_a.id).language == "de"
    [event] = db.session.query(Event).filter_by(object_type="customer", field="language").all()
    assert (event.old_value, event.new_value) == ("en", "de")
    # The next page keeps it without the switch.
    assert "Schreiben Sie uns" in _case_page(client, desk.case_a).get_data(as_text=True)
    # His next mail from the desk is in German.
    with acting_as(desk.user("agent_a")):
        actions.close(desk.case_a)
    [closing] = [m for m in mails_to("alice@customer.test") if m.kind == "notification"]
    assert "ist abgeschlossen" in closing.subject and "Guten Tag Alice" in mail_text(closing)


def test_a_bad_switch_value_changes_nothing(desk, client):
    _case_page(client, desk.case_a)
    client.get(f"/portal/case/{links.portal_token(desk.case_a)}?lang=xx")
    assert db.session.get(Customer, desk.customer_a.id).language == "en"


def test_the_login_mail_is_in_his_stored_language(desk, client):
    desk.customer_a.language = "sv"
    db.session.commit()
    client.post(
        "/portal/login", data={"email": "alice@customer.test"}, headers={"Accept-Language": "de"}
    )
    [mail] = mails_to("alice@customer.test")
    assert "Din inloggningslänk" in mail.subject and "Hej Alice" in mail_text(mail)


def _msgids() -> set[str]:
    found = set()
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "translate": (2,)}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(PORTAL), method_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_text_of_the_portal_is_translated(language):
    msgids = _msgids()
    assert len(msgids) > 50  # the extraction found the portal's texts
    with (PORTAL / "translations" / language / "LC_MESSAGES" / "portal.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert sorted(msgids - translated) == []
    for message in catalog:
        if message.id:  # the same placeholders, or a page would crash in that language
            assert sorted(_names(message.id)) == sorted(_names(message.string)), message.id


def _names(text: str) -> list[str]:
    import re

    return re.findall(r"%\((\w+)\)s", text)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_notice_to_customers_exists_in_each_language_with_his_case_link(language):
    for name, (_subject, body) in notice_texts.DEFAULT_NOTICES.items():
        assert "{{ case_link }}" in body, name
        subject, text = notice_texts.DEFAULT_NOTICE_TRANSLATIONS[(name, language)]
        assert "{{ case_link }}" in text, (name, language)
        assert subject and text != body


def test_a_reply_without_a_link_in_its_layout_carries_one_in_his_language(desk):
    from app.answering import rendering

    desk.customer_a.language = "pl"
    composed = rendering.compose(
        desk.case_a, "Answer.", extra={"case_link": "https://x/portal/case/T"}
    )
    assert "Twoje zgłoszenie online: https://x/portal/case/T" in composed.text


def test_dates_are_shown_in_the_desk_s_time_zone_and_language(app, desk, client):
    from datetime import datetime

    app.config["DESK_TIMEZONE"] = "Europe/Warsaw"
    desk.case_a.received_at = datetime(2026, 7, 1, 10, 0)  # UTC: 12:00 in Warsaw (CEST)
    desk.customer_a.language = "de"
    db.session.commit()
    page = _case_page(client, desk.case_a).get_data(as_text=True)
    assert "01.07.2026, 12:00:00" in page
