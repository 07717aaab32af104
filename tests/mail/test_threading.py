"""Threading rules, each with a test, in the order the intake applies them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.audit.models import Event
from app.cases import actions
from app.cases.models import Case
from app.core.timeutil import utcnow
from app.extensions import db
from app.mail.intake import receive
from app.mailcore import identity
from tests.mail.helpers import make_mail


def _receive(desk, **kwargs):
    recipient = kwargs.pop("recipient", None)
    return receive(make_mail(**kwargs), mailbox=desk.mailbox_a, source="test", recipient=recipient)


def test_our_signed_message_id_in_in_reply_to(desk):
    mid = identity.make_message_id("reply", desk.case_a.id)
    result = _receive(desk, sender="stranger@x.test", subject="anything", in_reply_to=mid)
    assert result.case_id == desk.case_a.id


def test_forged_signature_is_not_trusted(desk):
    forged = f"<ld.reply.{desk.case_a.id}.00000000.0000000000000000@loopdesk.example>"
    result = _receive(desk, sender="stranger@x.test", in_reply_to=forged)
    assert result.case_id not in (desk.case_a.id, desk.case_b.id)


def test_any_known_message_id_in_references(desk):
    first = _receive(desk, message_id="<first@customer.test>", subject="Question")
    result = _receive(
        desk,
        sender="someone@else.test",
        subject="Re: Question",
        references="<unknown@x> <first@customer.test>",
    )
    assert result.case_id == first.case_id


def test_body_marker_threads_when_headers_are_lost(desk):
    marker = identity.body_marker(desk.case_b.id)
    result = _receive(
        desk, sender="x@y.test", subject="no headers", body=f"My answer.\n\n> old mail {marker}"
    )
    assert result.case_id == desk.case_b.id


def test_subject_tag_from_a_participant_threads(desk):
    subject = f"Re: Printer {identity.case_tag(desk.case_a.number)}"
    result = _receive(desk, sender="alice@customer.test", subject=subject)
    assert result.case_id == desk.case_a.id


def test_subject_tag_from_a_stranger_is_refused(desk):
    subject = f"Re: Printer {identity.case_tag(desk.case_a.number)}"
    result = _receive(desk, sender="mallory@evil.test", subject=subject)
    assert result.case_id != desk.case_a.id
    new_case = db.session.get(Case, result.case_id)
    assert new_case.customer.email == "mallory@evil.test"
    refusal = db.session.scalar(
        select(Event).where(Event.case_id == new_case.id, Event.action == "subject tag refused")
    )
    assert desk.case_a.number in refusal.details["reason"]


def test_signed_plus_address_token(desk):
    to = identity.plus_address("a@desk.test", desk.case_b.id)
    result = _receive(desk, sender="newcomer@x.test", to=to, subject="fresh", recipient=to)
    assert result.case_id == desk.case_b.id
    bad = "a+999-0000000000@desk.test"
    assert _receive(desk, sender="n@x.test", to=bad, recipient=bad).case_id not in (
        desk.case_a.id,
        desk.case_b.id,
    )


def test_otherwise_a_new_case(desk):
    result = _receive(desk, sender="new@x.test", subject="Hello")
    assert result.case_id not in (desk.case_a.id, desk.case_b.id)


def _close(case, days_ago=0):
    from app.audit.actor import acting_as
    from tests.mail.helpers import admin_of

    with acting_as(admin_of()):
        actions.change_status(case, "closed")
    case.closed_at = utcnow() - timedelta(days=days_ago)
    db.session.commit()


def test_mail_to_recently_closed_case_reopens_it(desk):
    _close(desk.case_a, days_ago=1)
    mid = identity.make_message_id("reply", desk.case_a.id)
    result = _receive(desk, sender="alice@customer.test", in_reply_to=mid)
    assert result.case_id == desk.case_a.id
    assert db.session.get(Case, desk.case_a.id).status == "in_progress"


def test_mail_to_long_closed_case_opens_a_follow_up(desk):
    _close(desk.case_a, days_ago=desk.pool_a.reopen_days + 1)
    mid = identity.make_message_id("reply", desk.case_a.id)
    result = _receive(desk, sender="alice@customer.test", in_reply_to=mid)
    follow_up = db.session.get(Case, result.case_id)
    assert follow_up.id != desk.case_a.id and follow_up.follows_case_id == desk.case_a.id
    assert db.session.get(Case, desk.case_a.id).status == "closed"


def test_out_of_office_joins_the_case_without_changing_its_state(desk):
    _close(desk.case_a, days_ago=1)
    mid = identity.make_message_id("reply", desk.case_a.id)
    result = _receive(
        desk,
        sender="alice@customer.test",
        in_reply_to=mid,
        subject="Out of office",
        headers={"Auto-Submitted": "auto-replied"},
    )
    assert result.case_id == desk.case_a.id
    assert db.session.get(Case, desk.case_a.id).status == "closed"
