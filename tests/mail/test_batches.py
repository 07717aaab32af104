"""The intake's batches (import, IMAP and POP3 rounds): one commit to store many mails, one
transaction to process them, and the same outcome as handing them over one by one."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from app.audit.models import Event
from app.cases.models import Case, Message
from app.customers.models import Customer
from app.extensions import db
from app.mail import intake, intake_batch
from app.mail import rules as category_rules
from app.mail.intake import IncomingMail, receive_many
from app.mail.models import RawMessage
from app.mailcore import identity
from app.outbox.models import OutboxMail
from tests.mail.helpers import garbage_mail, make_mail


def _many(desk, *mails, mailbox=None):
    return receive_many([IncomingMail(raw, mailbox or desk.mailbox_a, "test") for raw in mails])


def _case(result) -> Case:
    return db.session.get(Case, result.case_id)


def test_a_batch_opens_cases_in_order_with_consecutive_numbers(desk):
    results = _many(desk, *(make_mail(sender=f"c{n}@x.test", subject=f"Q{n}") for n in range(5)))
    assert [r.status for r in results] == ["processed"] * 5
    cases = [_case(r) for r in results]
    assert [c.subject for c in cases] == [f"Q{n}" for n in range(5)]
    numbers = [int(c.number.split("-")[1]) for c in cases]
    assert numbers == list(range(numbers[0], numbers[0] + 5))
    assert [r.raw_id for r in results] == sorted(r.raw_id for r in results)
    for result, case in zip(results, cases, strict=True):
        message = db.session.get(Message, result.message_id)
        assert message.case_id == case.id and message.raw_message_id == result.raw_id
        row = db.session.get(RawMessage, result.raw_id)
        assert row.outcome == "new_case" and row.case_id == case.id
        assert db.session.scalar(
            select(Event).where(Event.case_id == case.id, Event.action == "created")
        )


def test_a_reply_threads_to_a_case_opened_earlier_in_the_same_batch(desk):
    first, reply, tagged = _many(
        desk,
        make_mail(sender="carol@x.test", message_id="<q1@x.test>", subject="Question"),
        make_mail(sender="dave@x.test", subject="Re: Question", in_reply_to="<q1@x.test>"),
        make_mail(sender="carol@x.test", subject="More", references="<q1@x.test>"),
    )
    assert reply.case_id == first.case_id == tagged.case_id
    assert db.session.get(RawMessage, reply.raw_id).outcome == "threaded"
    assert (
        db.session.scalar(select(func.count(Message.id)).where(Message.case_id == first.case_id))
        == 3
    )


def test_identical_bytes_twice_in_a_batch_are_one_message_and_a_duplicate(desk):
    raw = make_mail(message_id="<twice@x.test>")
    first, second = _many(desk, raw, raw)
    assert first.status == "processed" and second.status == "duplicate"
    assert second.case_id == first.case_id
    row = db.session.get(RawMessage, second.raw_id)
    assert row.case_id == first.case_id and f"#{first.raw_id}" in row.error
    assert (
        db.session.scalar(
            select(func.count(Message.id)).where(Message.message_id == "<twice@x.test>")
        )
        == 1
    )


def test_a_new_sender_writing_twice_in_a_batch_is_one_customer(desk):
    one, two = _many(
        desk,
        make_mail(sender="Erin <erin@x.test>", subject="First"),
        make_mail(sender="erin@x.test", subject="Second"),
    )
    assert one.case_id != two.case_id
    assert _case(one).customer_id == _case(two).customer_id
    assert (
        db.session.scalar(select(func.count(Customer.id)).where(Customer.email == "erin@x.test"))
        == 1
    )


def test_a_batch_threads_to_existing_cases_by_every_rule(desk):
    own = make_mail(
        sender="stranger@x.test", in_reply_to=identity.make_message_id("reply", desk.case_a.id)
    )
    marker = make_mail(sender="x@y.test", body=f"yes\n> {identity.body_marker(desk.case_b.id)}")
    tag = make_mail(
        sender="alice@customer.test", subject=f"Re: {identity.case_tag(desk.case_a.number)}"
    )
    refused = make_mail(
        sender="mallory@evil.test", subject=f"Re: {identity.case_tag(desk.case_a.number)}"
    )
    plus = identity.plus_address("a@desk.test", desk.case_b.id)
    by_plus = make_mail(sender="new@x.test", to=plus)
    results = _many(desk, own, marker, tag, refused, by_plus)
    assert [r.case_id for r in results[:3]] == [desk.case_a.id, desk.case_b.id, desk.case_a.id]
    assert results[3].case_id not in (desk.case_a.id, desk.case_b.id)
    assert db.session.scalar(
        select(Event).where(
            Event.case_id == results[3].case_id, Event.action == "subject tag refused"
        )
    )
    assert results[4].case_id == desk.case_b.id


def test_a_mail_that_fails_in_a_batch_is_quarantined_alone(desk, monkeypatch):
    real_route = category_rules.route

    def route(parsed, mailbox, recipient=None):
        if parsed.subject == "boom":
            raise RuntimeError("rule engine exploded")
        return real_route(parsed, mailbox, recipient)

    monkeypatch.setattr(category_rules, "route", route)
    results = _many(
        desk,
        make_mail(sender="a1@x.test", subject="fine 1"),
        make_mail(sender="a2@x.test", subject="boom"),
        make_mail(sender="a3@x.test", subject="fine 2"),
    )
    assert [r.status for r in results] == ["processed", "quarantined", "processed"]
    assert "rule engine exploded" in results[1].error
    assert [_case(results[i]).subject for i in (0, 2)] == ["fine 1", "fine 2"]
    assert db.session.get(RawMessage, results[1].raw_id).status == "quarantined"
    assert db.session.scalar(select(func.count(Case.id)).where(Case.subject == "boom")) == 0

    monkeypatch.setattr(category_rules, "route", real_route)
    again = intake.reprocess(results[1].raw_id)
    assert again.status == "processed" and _case(again).subject == "boom"


def test_a_mail_that_cannot_be_parsed_in_a_batch_is_quarantined_alone(desk, monkeypatch):
    real_parse = intake_batch.parse_stored

    def parse(row):
        if b"unparsable" in (row.content or b""):
            raise ValueError("no sense in these bytes")
        return real_parse(row)

    monkeypatch.setattr(intake_batch, "parse_stored", parse)
    results = _many(
        desk, make_mail(subject="one"), make_mail(body="unparsable"), make_mail(subject="two")
    )
    assert [r.status for r in results] == ["processed", "quarantined", "processed"]
    assert "no sense" in db.session.get(RawMessage, results[1].raw_id).error


def test_when_the_batch_cannot_be_written_each_mail_is_tried_alone(desk, monkeypatch):
    from app.cases import services

    real_reserve = services.reserve_case_numbers

    def reserve(count, prefix=None, *, own_transaction=False):
        if count > 1:
            raise RuntimeError("counter unavailable")
        return real_reserve(count, prefix, own_transaction=own_transaction)

    monkeypatch.setattr(services, "reserve_case_numbers", reserve)
    results = _many(desk, *(make_mail(sender=f"s{n}@x.test") for n in range(3)))
    assert [r.status for r in results] == ["processed"] * 3
    assert len({_case(r).number for r in results}) == 3


def test_loop_limits_count_auto_responses_queued_earlier_in_the_batch(desk, app):
    desk.pool_a.auto_response_enabled = True
    db.session.commit()
    app.config["AUTO_MAIL_LIMITS"] = ((60, 3),)
    _many(desk, *(make_mail(sender="chatty@x.test", subject=f"q{n}") for n in range(5)))
    statuses = db.session.scalars(
        select(OutboxMail.status).where(OutboxMail.kind == "auto_response").order_by(OutboxMail.id)
    ).all()
    assert statuses == ["queued"] * 3 + ["suppressed"] * 2


def test_a_bounce_in_a_batch_threads_and_marks_the_customer(desk):
    from tests.mail.test_hygiene import rfc3464_bounce

    mid = identity.make_message_id("reply", desk.case_a.id)
    (result,) = _many(desk, rfc3464_bounce(mid, "alice@customer.test"))
    assert result.case_id == desk.case_a.id
    assert db.session.get(Customer, desk.customer_a.id).undeliverable


def _statements(action) -> tuple[int, int]:
    """(all statements, SELECTs) sent to the database while ``action`` runs."""
    counts = [0, 0]

    def counter(conn, cursor, statement, *_args):
        counts[0] += 1
        counts[1] += statement.lstrip().upper().startswith("SELECT")

    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    return counts[0], counts[1]


def _mixed(desk, n: int, tag: str) -> list[bytes]:
    mails = []
    for i in range(n):
        if i % 3 == 0:
            mails.append(
                make_mail(
                    sender=f"{tag}{i}@x.test",
                    in_reply_to=identity.make_message_id("reply", desk.case_a.id),
                )
            )
        elif i % 3 == 1:
            mails.append(
                make_mail(  # an out-of-office answer to the customer's first mail of case A
                    sender=f"{tag}{i}@x.test",
                    headers={"Auto-Submitted": "auto-replied"},
                    in_reply_to="<first-alice@customer.test>",
                )
            )
        else:
            mails.append(make_mail(sender=f"{tag}{i}@x.test", subject=f"new {i}"))
    return mails


def test_a_batch_asks_the_database_the_same_few_questions_whatever_its_size(desk):
    """Batching is what makes bulk intake fast: the questions a batch asks do not grow with
    the number of mails in it, nor (on PostgreSQL, where each table's new rows go in one
    INSERT) do its writes; one mail at a time costs several statements per mail."""
    desk.pool_a.auto_response_enabled = True
    db.session.commit()
    small, small_selects = _statements(lambda: _many(desk, *_mixed(desk, 12, "s")))
    large, large_selects = _statements(lambda: _many(desk, *_mixed(desk, 48, "l")))
    assert large_selects <= small_selects + 1, (small_selects, large_selects)
    one_by_one, one_by_one_selects = _statements(
        lambda: [_many(desk, raw) for raw in _mixed(desk, 12, "o")]
    )
    assert one_by_one_selects > 2 * small_selects, (one_by_one_selects, small_selects)
    if db.engine.dialect.name == "postgresql":
        assert large <= small + 2, (small, large)
        assert one_by_one > 2 * small, (one_by_one, small)


def test_two_processes_ingesting_at_once_open_distinct_cases(app, desk):
    """Two workers (here: threads, each with its own session) ingest batches at the same
    time: every mail becomes exactly one case, and no case number is handed out twice."""
    errors: list[BaseException] = []
    mailbox_id = desk.mailbox_a.id

    def worker(tag: str) -> None:
        try:
            with app.app_context():
                for round_ in range(3):
                    mails = [
                        IncomingMail(make_mail(sender=f"{tag}{round_}.{n}@x.test"), mailbox_id, "t")
                        for n in range(10)
                    ]
                    results = receive_many(mails)
                    assert {r.status for r in results} == {"processed"}
                db.session.remove()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(tag,)) for tag in ("p", "q")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    numbers = db.session.scalars(select(Case.number)).all()
    assert len(numbers) == len(set(numbers)) == 2 + 60
    assert db.session.scalar(select(func.count(RawMessage.id))) == 60


@pytest.mark.parametrize("size", [0, 1])
def test_an_empty_batch_and_a_batch_of_one(desk, size):
    results = _many(desk, *[make_mail() for _ in range(size)])
    assert [r.status for r in results] == ["processed"] * size


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.one_of(garbage_mail(1500), st.just(make_mail(message_id="<fixed@x.test>"))),
        min_size=1,
        max_size=12,
    )
)
def test_garbage_in_a_batch_always_ends_settled_and_counted(desk, raws):
    from app.mail.stats import intake_stats

    before = intake_stats()
    results = _many(desk, *raws)
    assert len(results) == len(raws)
    assert {r.status for r in results} <= {"processed", "quarantined", "duplicate"}
    rows = {row.id: row for row in db.session.scalars(select(RawMessage))}
    assert [rows[r.raw_id].status for r in results] == [r.status for r in results]
    after = intake_stats()
    assert after["received"] == before["received"] + len(raws)
    assert after["pending"] == before["pending"] == 0
    settled = ("new_cases", "threaded", "duplicates", "quarantined")
    assert sum(after[k] for k in settled) == sum(before[k] for k in settled) + len(raws)
