"""One door for every change: the same input through every door gets the same answer.

Postponing is reachable through the service, ``change_status``, the REST API's
``/case/<id>/transition`` and ``/caseaction/<id>/postpone``, the case page's postpone form and
status form, and the CLI's ``case transition``; editing through the service, the edit form and
``PUT /api/v1/case/<id>``. Hypothesis feeds each door the same inputs, each on a fresh case in
the same state, and every door must accept or refuse alike, with the same reason, leaving the
case in the same state.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.audit.actor import acting_as
from app.cases import actions, services
from app.cases.models import Case
from app.core.timeutil import utcnow
from app.errors import DeskError
from app.extensions import db

DOOR_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Answer:
    """What a door answered: accepted or not, the reason of a refusal, the HTTP-like status
    (None where the door shows a refusal on the page it came from)."""

    ok: bool
    message: str | None = None
    status: int | None = None


def _fresh_case(desk, *, closed: bool = False) -> Case:
    with acting_as(None):
        case = services.open_case(
            pool=desk.pool_a, subject="Door test", customer=desk.customer_a, mailbox=desk.mailbox_a
        )
        if closed:
            actions.close(case)
    return case


def _state(case) -> tuple:
    db.session.expire_all()
    row = db.session.get(Case, case.id)
    return (
        row.subject,
        row.priority,
        row.pool_id,
        row.assignee_id,
        row.topic_id,
        row.status,
        row.postponed_until,
    )


def _service(func) -> Answer:
    try:
        func()
    except DeskError as exc:
        db.session.rollback()
        return Answer(False, str(exc), exc.status_code)
    return Answer(True)


def _api(response) -> Answer:
    if response.status_code < 300:
        return Answer(True)
    return Answer(False, response.json.get("message"), response.status_code)


def _form(client, response) -> Answer:
    """A page form: success and refusals of input or state come back as a redirect with a
    flash message; 403/404/409 pages carry the reason themselves."""
    with client.session_transaction() as session:
        flashes = session.pop("_flashes", [])
    if response.status_code == 302:
        errors = [text for category, text in flashes if category == "danger"]
        return Answer(False, errors[0], None) if errors else Answer(True)
    page = html.unescape(response.get_data(as_text=True))
    return Answer(False, page, response.status_code)


def _without_numbers(answer: Answer) -> Answer:
    """Each door works on a case of its own: its number is not part of the answer."""
    if answer.message is None:
        return answer
    return Answer(answer.ok, re.sub(r"LD-\d{6}", "LD-…", answer.message), answer.status)


def _same(answers: dict[str, Answer]) -> None:
    """Every door accepted, or every door refused with the service's reason and status."""
    answers = {door: _without_numbers(a) for door, a in answers.items()}
    reference = answers["service"]
    for door, answer in answers.items():
        assert answer.ok == reference.ok, (door, answers)
        if reference.ok:
            continue
        if answer.status is not None and door != "cli":
            assert answer.status == reference.status, (door, answers)
        if door.startswith("form") and answer.status is not None:
            assert reference.message in answer.message, (door, answers)  # the error page
        else:
            assert answer.message == reference.message, (door, answers)


@pytest.fixture
def doors(app, desk, client, auth, runner):
    auth.login("agent_a")
    return {"headers": auth.token("agent_a"), "client": client, "runner": runner}


# --- postponing -----------------------------------------------------------------------------------


def _postpone_doors(desk, doors, until) -> tuple[dict[str, Answer], dict[str, tuple]]:
    client, headers, runner = doors["client"], doors["headers"], doors["runner"]
    agent = desk.user("agent_a")
    answers, states = {}, {}

    def run(door, call):
        case = _fresh_case(desk)
        answers[door] = call(case)
        states[door] = _state(case)

    def via_service(case):
        with acting_as(agent):
            return _service(lambda: actions.postpone(case, until))

    def via_change_status(case):
        with acting_as(agent):
            return _service(lambda: actions.change_status(case, "postponed", until=until))

    def via_cli(case):
        result = runner.invoke(
            args=["case", "transition", case.number, "postponed", f"--until={until}"]
            + ["--as", "agent_a"]
        )
        if result.exit_code == 0:
            return Answer(True)
        return Answer(False, result.output.strip().removeprefix("Error: "), None)

    run("service", via_service)
    run("service_transition", via_change_status)
    run(
        "api_transition",
        lambda case: _api(
            client.post(
                f"/api/v1/case/{case.id}/transition",
                json={"status": "postponed", "until": until},
                headers=headers,
            )
        ),
    )
    run(
        "api_postpone",
        lambda case: _api(
            client.post(
                f"/api/v1/caseaction/{case.id}/postpone", json={"until": until}, headers=headers
            )
        ),
    )
    run(
        "form_postpone",
        lambda case: _form(
            client,
            client.post(f"/caseaction/{case.id}/postpone", data={"until": until, "notify": "1"}),
        ),
    )
    run(
        "form_transition",
        lambda case: _form(
            client,
            client.post(
                f"/cases/transition/{case.id}", data={"status": "postponed", "until": until}
            ),
        ),
    )
    if isinstance(until, str) and "\x00" not in until:
        run("cli", via_cli)
    return answers, states


def _moments():
    offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )
    return st.tuples(
        st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1)),
        st.one_of(st.none(), offsets, st.just(UTC)),
    )


def _iso_text(moment: datetime, tz, style: int) -> str:
    aware = moment.replace(tzinfo=tz) if tz is not None else moment
    if style == 0:
        return aware.strftime("%Y-%m-%dT%H:%M")  # a browser's datetime-local
    if style == 1:
        return aware.isoformat()
    if style == 2:
        return aware.isoformat(sep=" ", timespec="seconds")
    if style == 3:
        text = aware.isoformat(timespec="minutes")
        return text.replace("+00:00", "Z")
    return moment.date().isoformat()


UNTIL_TEXT = st.one_of(
    st.builds(
        lambda mt, style: _iso_text(mt[0], mt[1], style),
        _moments(),
        st.integers(min_value=0, max_value=4),
    ),
    st.sampled_from(
        [
            "",
            "   ",
            "tomorrow",
            "2026-13-01T10:00",
            "9999-12-31T23:30:00-01:00",  # one hour past the largest datetime in UTC
            "0001-01-01T00:30:00+01:00",  # before the smallest
            "2999-01-01T00:00:00+02:00",
            "2999-01-01T00:00+02:00",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=25),
)


@DOOR_SETTINGS
@given(until=UNTIL_TEXT)
def test_postponing_answers_alike_on_every_door(desk, doors, until):
    if until.strip() and until.strip()[:4].isdigit():
        # A time within a day of now could be future for one door and past for the next.
        try:
            moment = datetime.fromisoformat(until.strip())
        except ValueError:
            pass
        else:
            try:
                moment = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
            except (OverflowError, ValueError):
                pass
            else:
                assume(abs(moment - utcnow()) > timedelta(days=1))
    answers, states = _postpone_doors(desk, doors, until)
    _same(answers)
    assert len(set(states.values())) == 1, states


@DOOR_SETTINGS
@given(
    until=st.one_of(
        st.integers(),
        st.floats(allow_nan=False),
        st.booleans(),
        st.none(),
        st.lists(st.text(max_size=3), max_size=2),
        st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=1),
    )
)
def test_postponing_refuses_json_values_that_are_not_text_alike(desk, doors, until):
    """JSON can send numbers, lists, nulls: the API doors answer as the service does (400)."""
    answers, states = _postpone_doors(desk, doors, until)
    answers = {d: a for d, a in answers.items() if not d.startswith("form")}
    _same(answers)
    assert answers["service"].status == 400
    assert len({s for d, s in states.items() if not d.startswith("form")}) == 1


def test_postpone_with_an_offset_is_stored_in_utc_on_every_door(desk, doors):
    """The regression: ``/api/v1/case/<id>/transition`` answered 500 for ``…+02:00``."""
    future = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    text = (future + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M") + "+02:00"
    answers, states = _postpone_doors(desk, doors, text)
    assert all(a.ok for a in answers.values()), answers
    assert {s[5:] for s in states.values()} == {("postponed", future)}


# --- the generic edit ----------------------------------------------------------------------------

SUBJECTS = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.text(alphabet="ab ", min_size=990, max_size=1010),
    st.sampled_from(["", "  ", "New subject", "two\nlines", "nul\x00byte"]),
)
FIELD_VALUES = {
    "subject": SUBJECTS,
    "priority": st.sampled_from(["1", "2", "3", "4", "0", "5", "high", "", " 3 "]),
    "pool": st.sampled_from(["1", "2"]),
    "assignee": st.sampled_from(["1", "3"]),
    "assignee_id": st.sampled_from(["4"]),
    "status": st.sampled_from(["closed", "in_progress"]),
    "topic": st.sampled_from(["1"]),
    "sla_due_at": st.sampled_from(["2030-01-01T00:00"]),
    "colour": st.sampled_from(["red"]),
}
CHANGES = st.lists(st.sampled_from(sorted(FIELD_VALUES)), unique=True, max_size=3).flatmap(
    lambda keys: st.fixed_dictionaries({k: FIELD_VALUES[k] for k in keys})
)


@DOOR_SETTINGS
@given(changes=CHANGES, closed=st.booleans())
def test_editing_answers_alike_on_every_door(desk, doors, changes, closed):
    client, headers = doors["client"], doors["headers"]
    agent = desk.user("agent_a")
    answers, states = {}, {}
    for door in ("service", "form", "api"):
        case = _fresh_case(desk, closed=closed)
        if door == "service":
            with acting_as(agent):
                answers[door] = _service(lambda case=case: actions.edit(case, changes))
        elif door == "form":
            answers[door] = _form(client, client.post(f"/cases/edit/{case.id}", data=changes))
        else:
            answers[door] = _api(
                client.put(f"/api/v1/case/{case.id}", json=changes, headers=headers)
            )
        states[door] = _state(case)
    _same(answers)
    assert len(set(states.values())) == 1, states
    if closed:
        assert answers["service"].status == 409
    ruled = set(changes) - {"subject", "priority"}
    if ruled:
        assert not answers["service"].ok


def test_a_closed_case_is_not_edited_on_any_door(desk, doors):
    client, headers = doors["client"], doors["headers"]
    case = _fresh_case(desk, closed=True)
    assert client.get(f"/cases/edit/{case.id}").status_code == 409
    page = client.post(f"/cases/edit/{case.id}", data={"subject": "late change"})
    assert page.status_code == 409 and "reopen it" in page.get_data(as_text=True)
    response = client.put(f"/api/v1/case/{case.id}", json={"subject": "late"}, headers=headers)
    assert response.status_code == 409 and "is closed" in response.json["message"]
    assert _state(case)[0] == "Door test"


def test_put_pool_is_refused_and_keeps_assignee_and_pool(desk, doors):
    """The report: ``PUT {"pool": C}`` moved a case and kept an assignee who is not a member of
    C, with no note and no forward rule. Now it is refused, naming forward."""
    client, headers = doors["client"], doors["headers"]
    case = desk.case_a
    with acting_as(desk.user("agent_a")):
        actions.claim(case)
    response = client.put(f"/api/v1/case/{case.id}", json={"pool": desk.pool_b.id}, headers=headers)
    assert response.status_code == 400 and "forward" in response.json["message"]
    row = _state(case)
    assert row[2:4] == (desk.pool_a.id, desk.user("agent_a").id)
