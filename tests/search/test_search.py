"""Search: what it finds (words, languages, accents, case numbers, addresses, intake answers,
attachment names), what it refuses to show (record rules: hits, counts, snippets, customers),
and hostile input. Runs on SQLite (FTS5) and, with ``LOOPDESK_TEST_BACKEND=postgresql``, on
PostgreSQL (tsvector, unaccent, websearch_to_tsquery)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app.audit.actor import acting_as
from app.cases import services as case_services
from app.cases.intake_answers import record_intake_answers
from app.cases.models import Message, MessageDirection
from app.customers.models import Customer
from app.errors import DeskError
from app.extensions import db
from app.mail.models import Attachment
from app.search.services import MAX_QUERY_LENGTH, Filters, parse_query, search
from tests.support.databases import BACKEND

POSTGRES = BACKEND == "postgresql"


def add_message(case, body, subject=None, when=None, direction=MessageDirection.INBOUND):
    message = Message(
        case=case,
        direction=direction,
        from_address=case.customer.email if case.customer else None,
        subject=subject if subject is not None else case.subject,
        body_text=body,
    )
    if when is not None:
        message.created_at = when
    db.session.add(message)
    db.session.flush()
    return message


def new_case(desk, pool, subject, customer, mailbox=None):
    with acting_as(None):
        return case_services.open_case(
            pool=pool, subject=subject, customer=customer, mailbox=mailbox, commit=False
        )


def as_desk(query, **filters):
    with acting_as(None):
        return search(query, Filters(**filters), None)


def numbers(results):
    return {hit.case.number for hit in results.hits}


@pytest.fixture
def archive(desk):
    """Cases of both pools in several languages, with intake answers and an attachment."""
    polish = Customer(email="jan.kowalski@poczta.test", name="Jan Kowalski", language="pl")
    german = Customer(email="anna.mueller@firma.test", name="Anna Müller", language="de")
    swedish = Customer(email="sven@foretag.test", name="Sven Ström", language="sv")
    db.session.add_all([polish, german, swedish])
    db.session.flush()
    cases = {
        "pl": new_case(desk, desk.pool_a, "Przesyłka do Łodzi", polish),
        "de": new_case(desk, desk.pool_a, "Frage zur Lieferung", german),
        "sv": new_case(desk, desk.pool_b, "Fråga om leverans", swedish),
    }
    add_message(cases["pl"], "Paczka miała dotrzeć do Łódź w poniedziałek, żółw też.")
    add_message(cases["de"], "Die Rechnungen für März sind falsch, bitte prüfen Sie die Beträge.")
    add_message(
        cases["sv"], "Paketet till Göteborg kom aldrig fram. Räkningarna stämmer inte heller."
    )
    add_message(desk.case_b, "The zebra invoice of Pool B only: hidden from pool A.")
    record_intake_answers(
        desk.case_a,
        None,
        {
            "fields": [
                {"key": "serial", "type": "text", "label": {"en": "Serial number"}},
                {"key": "model", "type": "text", "label": {"en": "Printer model"}},
            ]
        },
        {"serial": "XK-4471-Q", "model": "Laserjet Quokka"},
    )
    message = add_message(desk.case_a, "See the attached photo.")
    db.session.add(
        Attachment(
            message=message,
            sha256="0" * 64,
            size=10,
            content_type="image/jpeg",
            filename="burnt_toner_cartridge.jpg",
        )
    )
    db.session.commit()
    return cases


def test_words_of_a_body_and_a_subject_are_found(archive, desk):
    results = as_desk("Rechnungen")
    assert numbers(results) == {archive["de"].number}
    assert results.total == 1
    subject = as_desk("Printer")
    assert desk.case_a.number in numbers(subject)
    assert desk.case_b.number not in numbers(subject)


def test_accents_do_not_matter(archive):
    assert archive["pl"].number in numbers(as_desk("lodz"))
    assert archive["pl"].number in numbers(as_desk("Łódź"))
    assert archive["pl"].number in numbers(as_desk("zolw"))
    assert archive["sv"].number in numbers(as_desk("goteborg"))
    assert archive["de"].number not in numbers(as_desk("lodz"))


@pytest.mark.skipif(not POSTGRES, reason="word forms: PostgreSQL's stemmers")
def test_word_forms_in_the_customers_language(archive, app):
    app.config["SEARCH_LANGUAGES"] = ("en", "de", "sv")
    # German: "Rechnung" finds "Rechnungen"; Swedish: "räkning" finds "Räkningarna".
    assert archive["de"].number in numbers(as_desk("Rechnung"))
    assert archive["sv"].number in numbers(as_desk("räkning"))
    assert archive["sv"].number in numbers(as_desk("rakning"))


def test_snippets_mark_the_words_and_escape_html(desk):
    add_message(desk.case_a, "Hello <script>alert('x')</script> the quagga stampede <b>now</b>")
    db.session.commit()
    results = as_desk("quagga")
    (hit,) = results.hits
    snippet = str(hit.snippet)
    assert "<mark>quagga</mark>" in snippet
    assert "<script>" not in snippet and "<b>" not in snippet
    assert "&lt;script&gt;" in snippet or "script" not in snippet


def test_accented_words_are_marked_in_the_snippet(archive):
    (hit,) = [h for h in as_desk("lodz").hits if h.kind == "message"]
    assert "<mark>" in str(hit.snippet)


def test_partial_case_numbers_and_addresses(archive, desk):
    tail = desk.case_b.number[-5:]
    results = as_desk(tail)
    assert desk.case_b.number in numbers(results)
    assert desk.case_a.number in numbers(as_desk(desk.case_a.number))
    by_address = as_desk("jan.kowalski@pocz")
    assert archive["pl"].number in numbers(by_address)
    assert [c.email for c in by_address.customers] == ["jan.kowalski@poczta.test"]


def test_intake_answers_and_attachment_names(archive, desk):
    serial = as_desk("XK-4471-Q")
    assert {(h.kind, h.case.id) for h in serial.hits} >= {("intake", desk.case_a.id)}
    assert "Serial number" in str(next(h for h in serial.hits if h.kind == "intake").title)
    assert {h.kind for h in as_desk("Quokka").hits} == {"intake"}
    toner = as_desk("toner")
    assert [(h.kind, h.case.id) for h in toner.hits] == [("attachment", desk.case_a.id)]


def test_customers_by_name_and_address(archive):
    assert [c.name for c in as_desk("Kowalski").customers] == ["Jan Kowalski"]
    assert [c.name for c in as_desk("foretag").customers] == ["Sven Ström"]


def test_filters(archive, desk):
    assert numbers(as_desk("Rechnungen", pool_id=desk.pool_b.id)) == set()
    assert numbers(as_desk("Rechnungen", pool_id=desk.pool_a.id)) == {archive["de"].number}
    assert numbers(as_desk("Rechnungen", statuses=("closed",))) == set()
    assert numbers(as_desk("Rechnungen", statuses=("received",))) == {archive["de"].number}
    assert numbers(as_desk("Rechnungen", customer="mueller")) == {archive["de"].number}
    assert numbers(as_desk("Rechnungen", customer="kowalski")) == set()
    # Date range over years: an old message of 2019 and one of now.
    add_message(desk.case_a, "Old okapi complaint", when=datetime(2019, 5, 1, 12))
    add_message(desk.case_b, "New okapi complaint")
    db.session.commit()
    old = as_desk("okapi", date_from=date(2018, 1, 1), date_to=date(2019, 12, 31))
    assert [h.case.id for h in old.hits] == [desk.case_a.id]
    assert [h.case.id for h in as_desk("okapi").hits] == [desk.case_b.id, desk.case_a.id]
    assert {h.kind for h in as_desk("okapi", kinds=("case",)).hits} == set()
    # Filters alone (no words): everything of a customer.
    assert {h.case.id for h in as_desk("", customer=str(desk.customer_b.id)).hits} == {
        desk.case_b.id
    }


def test_agent_filter_and_assignment(desk):
    with acting_as(None):
        desk.case_a.assignee = desk.user("agent_a")
    add_message(desk.case_a, "wombat")
    add_message(desk.case_b, "wombat")
    db.session.commit()
    hits = as_desk("wombat", agent_id=desk.user("agent_a").id).hits
    assert {h.case.id for h in hits} == {desk.case_a.id}


def test_subject_ranks_above_body_by_relevance(desk):
    case = new_case(desk, desk.pool_a, "Capybara question", desk.customer_a)
    add_message(case, "nothing to see", subject="Capybara question")
    add_message(desk.case_a, "a capybara mentioned once in the body", subject="Other")
    db.session.commit()
    hits = as_desk("capybara", sort="relevance").hits
    assert hits[0].case.id == case.id
    assert as_desk("capybara").hits[0].case.id == desk.case_a.id  # newest first


def test_a_changed_subject_is_found_by_its_new_words(desk):
    with acting_as(None):
        desk.case_a.subject = "Narwhal escaped"
    db.session.commit()
    assert desk.case_a.number in numbers(as_desk("narwhal"))


@pytest.mark.parametrize(
    "query",
    [
        '"unclosed phrase',
        "AND OR NOT",
        "title:printer",
        "NEAR(printer fire)",
        "*",
        "-",
        "printer -",
        "'; DROP TABLE message; --",
        "printer^ fire\\",
        "%_%",
        "\x00\x01 printer",
        "((printer))",
        "a" * 5000,
        " ".join(["printer"] * 2000),
        "🔥 printer",
    ],
)
def test_hostile_input_never_fails(desk, query):
    results = as_desk(query)
    assert results.total >= 0
    if "printer" in query.lower() and "-" not in query.split()[-1:]:
        assert desk.case_b.number not in numbers(results)


def test_operators_of_the_web_syntax(desk):
    add_message(desk.case_a, "blue tapir")
    add_message(desk.case_b, "red tapir")
    db.session.commit()
    assert {h.case.id for h in as_desk("tapir -red").hits} == {desk.case_a.id}
    assert {h.case.id for h in as_desk('"red tapir"').hits} == {desk.case_b.id}
    assert {h.case.id for h in as_desk('"tapir red"').hits} == set()
    assert {h.case.id for h in as_desk("blue or red").hits} == {desk.case_a.id, desk.case_b.id}
    # a percent sign or underscore is no wildcard of a partial number
    assert as_desk("0_0001").total == 0


def test_the_count_is_exact_up_to_200_then_200_plus(desk):
    case = new_case(desk, desk.pool_a, "Counting", desk.customer_a)
    for n in range(199):  # with the case's first message: 200 hits of "zebrafinch"
        add_message(case, f"zebrafinch number {n}")
    add_message(case, "zebrafinch too")
    db.session.commit()
    exact = as_desk("zebrafinch")
    assert (exact.total, exact.shown_total, exact.pages) == (200, "200", 10)
    add_message(case, "zebrafinch once more")
    db.session.commit()
    capped = as_desk("zebrafinch")
    assert capped.shown_total == "200+" and capped.as_json()["count_capped"]
    assert capped.pages == 10 and len(capped.hits) == 20
    assert len(as_desk("zebrafinch", statuses=("closed",)).hits) == 0
    with pytest.raises(DeskError, match="first 200 results"):
        with acting_as(None):
            search("zebrafinch", Filters(), None, 11)


def test_a_long_query_is_cut(desk):
    assert len(parse_query("x" * 10_000).text) == MAX_QUERY_LENGTH


# --- record rules -------------------------------------------------------------------------


def test_agent_of_pool_a_never_sees_pool_b(archive, desk):
    agent_a = desk.user("agent_a")
    zebra = search("zebra", Filters(), agent_a)
    assert zebra.total == 0 and zebra.hits == []
    assert search("zebra", Filters(), desk.user("agent_b")).total == 1
    # Swedish case is in pool B: no hit, no count, no customer, not by its number either.
    for query in ("goteborg", archive["sv"].number, "sven@foretag", "Ström"):
        results = search(query, Filters(), agent_a)
        assert results.total == 0, query
        assert results.customers == [], query
    # ...and an explicit filter on pool B does not open it.
    assert search("zebra", Filters(pool_id=desk.pool_b.id), agent_a).total == 0
    assert search("", Filters(pool_id=desk.pool_b.id), agent_a).total == 0


@pytest.mark.parametrize(
    "role, sees_b",
    [("admin", True), ("manager", True), ("supervisor_a", False), ("agent_a", False)],
)
def test_each_role(archive, desk, role, sees_b):
    results = search("invoice OR printer", Filters(), desk.user(role))
    assert desk.case_a.number in numbers(results)
    assert (desk.case_b.number in numbers(results)) is sees_b


def test_users_without_a_desk_role_and_anonymous_see_nothing(desk):
    from app.security.bootstrap import create_user

    nobody = create_user("nobody", "Agent", password="pw-nobody")
    nobody.roles = []
    db.session.commit()
    assert search("printer", Filters(), nobody).total == 0
    assert search("printer", Filters(), None).total == 0  # not acting as the desk


# --- doors --------------------------------------------------------------------------------


def test_the_page_and_the_navigation_box(archive, desk, client, auth):
    auth.login("agent_a")
    page = client.get("/desk/mine")
    html = page.get_data(as_text=True)
    assert 'id="ld-nav-search"' in html and 'aria-keyshortcuts="/"' in html
    assert 'search.js" nonce="' in html
    found = client.get("/search/?q=lodz").get_data(as_text=True)
    assert archive["pl"].number in found and "<mark>" in found
    hidden = client.get("/search/?q=zebra").get_data(as_text=True)
    assert desk.case_b.number not in hidden and "0 results" in hidden
    bad = client.get("/search/?q=x&from=yesterday")
    assert bad.status_code == 200 and "from must be a date" in bad.get_data(as_text=True)


def test_the_api(archive, desk, client, auth):
    assert client.get("/api/v1/search?q=zebra").status_code == 401
    headers = auth.token("agent_b")
    answer = client.get("/api/v1/search?q=zebra", headers=headers)
    assert answer.status_code == 200
    body = answer.json
    assert body["count"] == 1 and body["result"][0]["case_number"] == desk.case_b.number
    assert "<mark>zebra</mark>" in body["result"][0]["snippet_html"]
    hidden = client.get("/api/v1/search?q=Printer", headers=auth.token("agent_b"))
    assert hidden.json["count"] == 0
    assert client.get("/api/v1/search?q=x&status=bogus", headers=headers).status_code == 400
    assert client.get("/api/v1/search?q=x&page=9999", headers=headers).status_code == 400


def test_an_erased_customer_leaves_no_trace_in_the_index(archive, desk):
    """GDPR erasure rewrites his cases' texts; the triggers rewrite the index with them."""
    from app.privacy.services import erase_customer

    polish = archive["pl"]
    record_intake_answers(
        polish,
        None,
        {"fields": [{"key": "phone", "type": "text", "label": {"en": "Phone"}}]},
        {"phone": "Telefon 600700800 Kowalski"},
    )
    db.session.commit()
    assert polish.number in numbers(as_desk("Kowalski"))
    customer = polish.customer
    erase_customer(customer, desk.user("admin"), "Request of 2026-12-04")
    db.session.commit()
    for query in ("Kowalski", "jan.kowalski", "600700800", "Łodzi"):
        results = as_desk(query)
        assert results.hits == [] and results.customers == [], query
    assert polish.number in numbers(as_desk(polish.number))  # the case itself stays
