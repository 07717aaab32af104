"""Case actions: the only code that changes a case once it exists.

Claim, release, assign, forward, change topic and skill (reroute), note, postpone, close with
the wrap-up questions (asked through ``app.cases.questions``), reopen, plain status moves, the plain-field edit, opening a case for
a customer, and the job that brings postponed cases back. The case page and its forms, the
list actions, the REST API (``/api/v1/case/…`` and ``/api/v1/caseaction/…``), the CLI and the
jobs are thin doors onto these functions; each function

1. checks that the acting user's role may do it (the same permission the page and the API
   check, so the CLI's ``--as`` obeys it too) → ``Forbidden`` (403);
2. checks that he may see the case (record rules) → ``AccessDenied`` (404);
3. checks the case's state (a closed case, a move the state machine does not allow, a case
   someone else has just claimed) → ``Conflict`` (409);
4. parses and checks its input once (``app.core.inputs``: dates with or without an offset
   become naive UTC, ids, lengths) → ``DeskError`` (400);

5. with ``expected_version`` (the ``case_version`` the page was rendered with, or the REST
   API's ``If-Match``), checks that nobody changed the case since → ``CaseChanged`` (409);

then changes the case (status only through ``app.cases.workflow``), leaves its Events (tracked
fields record themselves; actions add an explicit one) and commits.

Other features' services change a case's status through the *steps* at the end of this module
(``start_work``, ``await_approval``, ``record_answer``, ``send_back``): they run inside the
caller's transaction, after the caller checked its own rules.

Customer notices (postponed, confirmation, closed) are queued in the same transaction as the change
through ``app.cases.notices``, which answering serves (cases never import answering).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, update

from app.agents.services import assignable_user, supervises
from app.audit.actor import acting_as, current_actor, is_system
from app.audit.models import Event
from app.audit.tracking import record_event
from app.cases import notices, push, questions
from app.cases.models import VERSION_TIME_FORMAT, Case, Message, MessageDirection
from app.cases.services import open_case
from app.cases.workflow import ALLOWED, CaseStatus, check_transition, transition
from app.core.inputs import parse_choice, parse_flag, parse_id, parse_text, parse_time
from app.core.priority import Priority
from app.core.timeutil import utcnow
from app.customers.models import Customer
from app.errors import (
    AccessDenied,
    CaseChanged,
    Conflict,
    DeskError,
    Forbidden,
    IllegalTransition,
)
from app.extensions import db
from app.organisation.models import ClosePolicy, Pool, Skill, Topic
from app.security import rules
from app.security.roles import user_may

S = CaseStatus

# Permission view names: the case pages and API (``Case``) and the action forms and their API
# (``CaseAction``, shared with answering's reply forms).
CASE = "Case"
CASE_ACTION = "CaseAction"

REASON_MAX = 1000
NOTE_MAX = 20000
SUBJECT_MAX = 998

# What a role lacking the permission is told: "Your role may not <…>."
_WHAT = {
    "claim": "claim cases",
    "release": "release cases",
    "assign": "assign cases",
    "forward": "forward cases",
    "reroute": "change a case's topic or skill",
    "note": "add notes to cases",
    "postpone": "postpone cases",
    "close": "close cases",
    "reopen": "reopen cases",
    "transition": "change a case's status",
    "edit": "edit cases",
    "open": "open cases for customers",
}
# permission -> the view name it is granted on
_PERMISSION_VIEW = {"claim": CASE, "release": CASE, "transition": CASE, "edit": CASE}

UNCHANGED = object()  # reroute: leave this one as it is


def acting_user(permission: str, *, person: bool = False):
    """The acting user if his role may do ``permission``; None for the desk itself (jobs, CLI
    without ``--as``) unless the action needs a person (it records who did it)."""
    actor = current_actor()
    if actor is None:
        if is_system() and not person:
            return None
        raise Forbidden("Only a person can do this." if is_system() else "Log in first.")
    view = _PERMISSION_VIEW.get(permission, CASE_ACTION)
    if not user_may(actor, f"can_{permission}", view):
        raise Forbidden(f"Your role may not {_WHAT[permission]}.")
    return actor


def _visible(case: Case | None) -> Case:
    if case is None:
        raise AccessDenied("No such case.")
    return rules.ensure_visible(case)


def ensure_open(case: Case) -> Case:
    """A case the actor sees and that is not closed (other features' actions start here)."""
    _visible(case)
    if case.status == S.CLOSED:
        raise Conflict(f"{case.number} is closed; reopen it first.")
    return case


# --- collision: a change written for an older version of the case ------------------------------


def _parse_version(token) -> tuple[datetime, int]:
    if not isinstance(token, str):
        raise DeskError("'case_version' must be the version the case had when it was read.")
    stamp, _, last = token.strip().strip('"').removeprefix("W/").strip('"').partition(".")
    try:
        return datetime.strptime(stamp, VERSION_TIME_FORMAT), int(last or 0)
    except ValueError:
        raise DeskError(f"'case_version' {token!r} is not a version of a case.") from None


def check_version(case: Case, expected_version) -> None:
    """Refuse a change written for an older version of ``case`` (``CaseChanged``, 409).

    ``expected_version`` is ``Case.version_token`` as the caller read it; None (the CLI, jobs,
    API clients that send no ``If-Match``) checks nothing. The check is a guarded
    ``UPDATE case SET updated_at = now WHERE updated_at = <read> AND <no newer message>``: the
    database decides, so of two agents who send a change for the same version at the same
    moment one gets through and the other is refused (the first one's update moved the
    version on; on PostgreSQL the second waits for the row and then finds it changed).
    """
    if expected_version is None or expected_version == "":
        return
    updated_at, last_message_id = _parse_version(expected_version)
    last_message = select(func.coalesce(func.max(Message.id), 0)).where(Message.case_id == case.id)
    guarded = db.session.execute(
        update(Case)
        .where(
            Case.id == case.id,
            Case.updated_at == updated_at,
            last_message.scalar_subquery() == last_message_id,
        )
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if guarded.rowcount == 1:
        return
    raise CaseChanged(
        f"{case.number} changed since you opened it: {describe_last_change(case)}. "
        "Reload to see it."
    )


def describe_last_change(case: Case) -> str:
    """The latest step on ``case`` in words: "Status: In progress → Closed by anna at
    2026-12-03 14:02" (its newest Event, or its newest message when that came later)."""
    event = db.session.scalars(
        select(Event).where(Event.case_id == case.id).order_by(Event.id.desc()).limit(1)
    ).first()
    message = db.session.scalars(
        select(Message).where(Message.case_id == case.id).order_by(Message.id.desc()).limit(1)
    ).first()
    if message is not None and (event is None or message.created_at > event.created_at):
        kind = {
            MessageDirection.INBOUND: f"a new mail from {message.from_address or 'the customer'}",
            MessageDirection.OUTBOUND: "a reply",
            MessageDirection.NOTE: "a note",
            MessageDirection.CONSULTATION: "a consultation",
        }.get(MessageDirection(message.direction), "a message")
        who = f" by {message.author.username}" if message.author is not None else ""
        return f"{kind}{who} at {message.created_at:%Y-%m-%d %H:%M}"
    if event is None:
        return "it was changed"
    who = event.actor.username if event.actor is not None else event.actor_name
    what = " ".join(event.summary.split())
    return f"{what} by {who} at {event.created_at:%Y-%m-%d %H:%M}"


def _event(case: Case, action: str, **details) -> None:
    """An explicit Event for an action (status and tracked fields record themselves)."""
    record_event(
        db.session,
        case,
        action,
        details={k: v for k, v in details.items() if v is not None} or None,
    )


def _reason(value) -> str | None:
    return parse_text(value, field="reason", max_length=REASON_MAX)


def _note(case: Case, author, text: str) -> Message:
    message = Message(
        case=case,
        direction=MessageDirection.NOTE,
        author_id=getattr(author, "id", None),
        subject=case.subject,
        body_text=text,
    )
    db.session.add(message)
    return message


# --- who works on it -----------------------------------------------------------------------------


def claim(case: Case, *, expected_version=None) -> Case:
    """Take an unassigned case and start work on it.

    Atomic: the assignee is set with ``UPDATE … WHERE assignee_id IS NULL``, so of two agents
    who claim the same case at the same moment exactly one gets it and the other is told who
    did (409); the in-memory copy of the case is never trusted for that decision.
    """
    actor = acting_user("claim", person=True)
    ensure_open(case)
    check_version(case, expected_version)
    if case.assignee_id != actor.id and not _take(case, actor):
        db.session.rollback()
        db.session.refresh(case)
        who = case.assignee.username if case.assignee is not None else "someone else"
        raise Conflict(f"{case.number} is already assigned to {who}.")
    start_work(case, "claimed")
    db.session.commit()
    return case


def _take(case: Case, actor) -> bool:
    """Make an unassigned case the actor's with ``UPDATE … WHERE assignee_id IS NULL``;
    False when someone else has it (the database decides, not the in-memory copy)."""
    taken = db.session.execute(
        update(Case)
        .where(Case.id == case.id, Case.assignee_id.is_(None))
        .values(assignee_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return False
    # The row is ours now; the ORM still holds the old value, so this assignment writes
    # the same id again and, above all, the assignee Event (from nobody to the actor).
    case.assignee = actor
    return True


def take_on_answer(case: Case, actor) -> None:
    """Whoever answers an unassigned case owns it: a reply without a claim makes the replier
    the assignee (never an "in progress" case that is nobody's). A case someone else took
    meanwhile stays his."""
    if case.assignee_id is None and not _take(case, actor):
        db.session.refresh(case, ["assignee_id", "assignee"])


def release(case: Case, *, expected_version=None) -> Case:
    """Give a case back to its pool: its assignee, or a supervisor of the pool, may."""
    actor = acting_user("release")
    ensure_open(case)
    check_version(case, expected_version)
    if case.assignee_id is None:
        raise Conflict(f"{case.number} is not assigned to anyone.")
    if case.status == S.AWAITING_APPROVAL:
        # The reply a supervisor rejects goes back to its author: he keeps the case meanwhile.
        raise Conflict(f"A reply to {case.number} waits for approval: approve or reject it first.")
    if actor is not None and case.assignee_id != actor.id and not supervises(case.pool_id, actor):
        raise Forbidden(
            f"{case.number} is assigned to {case.assignee.username}; only he or a supervisor "
            f"of pool {case.pool.name} may release it."
        )
    case.assignee = None
    db.session.commit()
    return case


def assign(case: Case, assignee_id, *, expected_version=None) -> Case:
    """A supervisor of the case's pool gives the case to a colleague of that pool (an empty
    ``assignee_id`` takes it from whoever has it). Agents forward with a note instead."""
    actor = acting_user("assign")
    ensure_open(case)
    check_version(case, expected_version)
    if actor is not None and not supervises(case.pool_id, actor):
        raise Forbidden(
            f"Only a supervisor of pool {case.pool.name} may assign its cases; forward the "
            "case with a note instead."
        )
    user_id = parse_id(assignee_id, field="assignee_id")
    assignee = assignable_user(user_id, case.pool) if user_id is not None else None
    if case.assignee_id == (assignee.id if assignee else None):
        raise DeskError(f"{case.number} is already assigned to {assignee or 'nobody'}.")
    case.assignee = assignee
    db.session.commit()
    return case


def forward(case: Case, *, note, assignee_id=None, pool_id=None, expected_version=None) -> Case:
    """Hand a case to a colleague and/or another pool, with a note saying why.

    Moving it to another pool keeps the assignee only if he works there too.
    """
    actor = acting_user("forward", person=True)
    ensure_open(case)
    check_version(case, expected_version)
    text = parse_text(
        note,
        field="note",
        max_length=NOTE_MAX,
        required=True,
        what="Say in a note why you forward the case.",
    )
    pool_id = parse_id(pool_id, field="pool_id")
    assignee_id = parse_id(assignee_id, field="assignee_id")
    if assignee_id is None and pool_id is None:
        raise DeskError("Pick a colleague or a pool to forward to.")
    target_pool = case.pool
    if pool_id is not None:
        target_pool = db.session.get(Pool, pool_id)
        if target_pool is None or not target_pool.active:
            raise DeskError(f"No active pool #{pool_id}.")
    assignee = assignable_user(assignee_id, target_pool) if assignee_id is not None else None
    old_pool_id, old_assignee_id = case.pool_id, case.assignee_id
    new_assignee_id = old_assignee_id
    if assignee is not None:
        new_assignee_id = assignee.id
    elif target_pool.id != old_pool_id and old_assignee_id is not None:
        if not _works_in(old_assignee_id, target_pool):
            new_assignee_id = None
    if target_pool.id == old_pool_id and new_assignee_id == old_assignee_id:
        raise DeskError("The case is already there.")
    if target_pool.id != old_pool_id:
        case.pool = target_pool
    if new_assignee_id != old_assignee_id:
        case.assignee = assignee
    to = ", ".join(
        x
        for x in (
            assignee.username if assignee else None,
            target_pool.name if pool_id is not None else None,
        )
        if x
    )
    _note(case, actor, f"Forwarded to {to}: {text}")
    _event(
        case,
        "forwarded",
        to_pool=target_pool.name if pool_id is not None else None,
        to_user=assignee.username if assignee else None,
        note=text,
    )
    db.session.commit()
    return case


def _works_in(user_id: int, pool: Pool) -> bool:
    try:
        assignable_user(user_id, pool)
    except DeskError:
        return False
    return True


def reroute(
    case: Case,
    *,
    topic_id=UNCHANGED,
    required_skill_id=UNCHANGED,
    note=None,
    expected_version=None,
) -> Case:
    """Change what the case is about (topic) and what it needs (skill): both steer who picks
    it, so they change here, with an Event, and not through the generic edit."""
    actor = acting_user("reroute")
    ensure_open(case)
    check_version(case, expected_version)
    text = parse_text(note, field="note", max_length=NOTE_MAX)
    topic, skill = case.topic, case.required_skill
    if topic_id is not UNCHANGED:
        topic_id = parse_id(topic_id, field="topic_id")
        topic = db.session.get(Topic, topic_id) if topic_id is not None else None
        if topic_id is not None and (topic is None or not topic.active):
            raise DeskError(f"No active topic #{topic_id}.")
    if required_skill_id is not UNCHANGED:
        skill_id = parse_id(required_skill_id, field="required_skill_id")
        skill = db.session.get(Skill, skill_id) if skill_id is not None else None
        if skill_id is not None and (skill is None or not skill.active):
            raise DeskError(f"No active skill #{skill_id}.")
    if topic is case.topic and skill is case.required_skill:
        raise DeskError(f"{case.number} already has this topic and skill.")
    case.topic, case.required_skill = topic, skill
    _event(
        case,
        "rerouted",
        topic=topic.path if topic else None,
        skill=skill.name if skill else None,
        note=text,
    )
    if text:
        _note(case, actor, f"Topic and skill changed: {text}")
    db.session.commit()
    return case


# --- notes -----------------------------------------------------------------------------------------


def add_note(case: Case, text) -> Message:
    """An internal note (never sent to the customer), with its Event; closed cases too."""
    actor = acting_user("note", person=True)
    _visible(case)
    body = parse_text(
        text, field="text", max_length=NOTE_MAX, required=True, what="A note needs some text."
    )
    note = _note(case, actor, body)
    db.session.flush()
    _event(case, "note added", message_id=note.id)
    db.session.commit()
    return note


# --- status ------------------------------------------------------------------------------------


def _status(target) -> CaseStatus:
    if not isinstance(target, str):
        raise DeskError("'status' must be the name of a case status.")
    try:
        return CaseStatus(target.strip())
    except ValueError:
        raise IllegalTransition(f"'{target}' is not a case status") from None


def change_status(
    case: Case,
    target,
    *,
    reason=None,
    answers=None,
    until=None,
    notify=True,
    expected_version=None,
) -> Case:
    """Move a case to ``target`` through the state machine (the status form, the API's
    ``/transition`` and ``case transition``).

    Closing, postponing and reopening carry more rules, so those moves go to ``close``,
    ``postpone`` and ``reopen`` with the same inputs; "awaiting approval" is entered and left
    only by replies (submit, approve, reject).
    """
    status = _status(target)
    if status is S.POSTPONED:
        return postpone(
            case, until, reason=reason, notify=notify, expected_version=expected_version
        )
    if status is S.CLOSED:
        return close(case, answers=answers, reason=reason, expected_version=expected_version)
    if status is S.IN_PROGRESS and case.status == S.CLOSED:
        return reopen(case, reason=reason, expected_version=expected_version)
    acting_user("transition")
    _visible(case)
    check_version(case, expected_version)
    check_transition(case.status, status.value)
    if status is S.AWAITING_APPROVAL:
        raise Conflict("A case waits for approval only when a reply that needs approval is sent.")
    if case.status == S.AWAITING_APPROVAL:
        raise Conflict(
            f"A reply to {case.number} waits for approval: a supervisor approves or rejects it."
        )
    transition(case, status.value, reason=_reason(reason))
    db.session.commit()
    return case


def plain_moves(case: Case) -> list[CaseStatus]:
    """The status moves a case offers besides claim, postpone, close and reopen."""
    if case.status in (S.CLOSED, S.AWAITING_APPROVAL):
        return []
    targets = ALLOWED[CaseStatus(case.status)] - {S.POSTPONED, S.CLOSED, S.AWAITING_APPROVAL}
    return sorted(targets, key=list(CaseStatus).index)


def postpone(case: Case, until, *, reason=None, notify=True, expected_version=None) -> Case:
    """Put a case on hold until ``until`` and tell the customer; a job brings it back.

    ``until`` is a datetime or ISO text, with or without an offset (without one it is UTC).
    """
    acting_user("postpone")
    _visible(case)
    check_version(case, expected_version)
    check_transition(case.status, S.POSTPONED.value)  # closed or postponed: 409 names why
    moment = parse_time(until, field="until")
    if moment <= utcnow():
        raise DeskError("A case can only be postponed to a time in the future.")
    notify = parse_flag(notify, field="notify", default=True)
    reason = _reason(reason)
    transition(case, S.POSTPONED.value, reason=reason)
    case.postponed_until = moment
    mail_id = None
    if notify and case.customer is not None and case.customer.email:
        mail_id = notices.send(notices.POSTPONED, case, kind="notification")
    _event(
        case,
        "postponed",
        until=moment.isoformat(sep=" ", timespec="minutes"),
        reason=reason,
        notice_outbox_id=mail_id,
    )
    db.session.commit()
    return case


def return_postponed_cases(now: datetime | None = None) -> list[str]:
    """Move every postponed case whose date has come back to 'in progress' (the job)."""
    now = now or utcnow()
    with acting_as(None):
        due = db.session.scalars(
            select(Case)
            .where(Case.status == S.POSTPONED.value, Case.postponed_until <= now)
            .order_by(Case.postponed_until)
        ).all()
        for case in due:
            transition(case, S.IN_PROGRESS.value, reason="postponement ended", at=now)
        db.session.commit()
    return [c.number for c in due]


def may_close(case: Case, user) -> bool:
    """Whether ``user`` may close the case under its pool's close policy (the desk itself,
    e.g. the inactivity job, always may)."""
    if user is None or case.pool is None:
        return True
    if case.pool.close_policy == ClosePolicy.SUPERVISORS:
        return supervises(case.pool_id, user)
    return True


def close(case: Case, *, answers=None, reason=None, expected_version=None) -> Case:
    """Close a case: the pool's close policy first (agents, or only supervisors and the
    customer), then the wrap-up questions asked on close (``app.cases.questions``: every
    problem named at once). The customer is told by mail, with the link to the exit survey
    (he closes his case himself in the portal with ``close_for_customer``)."""
    actor = acting_user("close")
    ensure_open(case)
    check_version(case, expected_version)
    check_transition(case.status, S.CLOSED.value)
    if not may_close(case, actor):
        raise Forbidden(f"In pool {case.pool.name} only supervisors and the customer close cases.")
    if answers is not None and not isinstance(answers, Mapping):
        raise DeskError("'answers' must be an object of question: answer.")
    reason = _reason(reason)
    questions.record_answers(case, questions.CLOSE, answers)
    transition(case, S.CLOSED.value, reason=reason)
    if actor is not None and case.customer is not None and case.customer.email:
        mail_id = notices.send(notices.CLOSED, case, kind="notification")
        _event(case, "closing notice sent", to=case.customer.email, notice_outbox_id=mail_id)
    db.session.commit()
    return case


def close_for_customer(case: Case) -> Case:
    """The customer closes his own case in the portal (the caller checked his signed link):
    no wrap-up, no mail (he is there and gets the exit survey on the page)."""
    if case.status == S.CLOSED:
        raise Conflict(f"{case.number} is closed already.")
    check_transition(case.status, S.CLOSED.value)
    transition(case, S.CLOSED.value, reason="closed by the customer")
    _event(case, "closed by the customer")
    db.session.commit()
    return case


def reopen(case: Case, *, reason=None, expected_version=None) -> Case:
    """Open a closed case again (closed → in progress)."""
    acting_user("reopen")
    _visible(case)
    check_version(case, expected_version)
    if case.status != S.CLOSED:
        raise Conflict(f"{case.number} is not closed.")
    transition(case, S.IN_PROGRESS.value, reason=_reason(reason) or "reopened")
    db.session.commit()
    return case


# --- the generic edit: plain fields only ------------------------------------------------------

EDITABLE_FIELDS = ("subject", "priority")
# Fields with a rule of their own, and where they change instead.
RULED_FIELDS = {
    "pool": "forward the case (with a note) to move it to another pool",
    "assignee": "claim the case, or forward or assign it",
    "topic": "change it with 'Topic and skill' (reroute)",
    "required_skill": "change it with 'Topic and skill' (reroute)",
    "status": "use the status actions; the state machine decides",
    "sla_due_at": "the due times follow from the SLA policy of the pool, topic and priority",
    "first_response_due_at": "the due times follow from the SLA policy of the pool, topic and priority",
    "resolution_due_at": "the due times follow from the SLA policy of the pool, topic and priority",
    "postponed_until": "postpone the case to say when it comes back",
    "closed_at": "close the case",
    "first_response_at": "it is set by the first reply",
    "customer": "the customer is the one who wrote",
    "mailbox": "the mailbox is where the case came in",
    "number": "case numbers never change",
    "received_at": "it is when the case came in",
    "follows_case": "it is set by the intake",
}


def ensure_editable(case: Case) -> Case:
    """A case the actor may edit: his role may, he sees it, and it is not closed."""
    acting_user("edit")
    _visible(case)
    if case.status == S.CLOSED:
        raise Conflict(f"{case.number} is closed; reopen it to change it.")
    return case


def edit(case: Case, changes: Mapping, *, expected_version=None) -> Case:
    """Change a case's plain fields (subject, priority); everything else has its own action,
    and a closed case is not edited at all (reopen it first)."""
    ensure_editable(case)
    check_version(case, expected_version)
    if not isinstance(changes, Mapping):
        raise DeskError("Send the fields to change as an object.")
    for key in sorted(changes, key=str):  # the first refusal does not hang on key order
        name = str(key).removesuffix("_id")
        if name in RULED_FIELDS:
            raise DeskError(f"'{key}' is not changed by editing: {RULED_FIELDS[name]}.")
        if key not in EDITABLE_FIELDS:
            raise DeskError(f"A case has no field '{key}' to edit.")
    # Parse everything first: a refused field leaves the case untouched.
    values: dict[str, object] = {}
    if "subject" in changes:
        values["subject"] = parse_text(
            changes["subject"],
            field="subject",
            max_length=SUBJECT_MAX,
            required=True,
            what="A case needs a subject.",
            one_line=True,
        )
    if "priority" in changes:
        values["priority"] = int(
            parse_choice(changes["priority"], [int(p) for p in Priority], field="priority")
        )
    for name, value in values.items():
        setattr(case, name, value)
    db.session.commit()
    return case


# --- cases opened by an agent --------------------------------------------------------------------


def open_for_customer(
    *,
    pool_id,
    subject,
    customer_email,
    customer_name=None,
    language=None,
    text=None,
    topic_id=None,
) -> Case:
    """Open a case on a customer's behalf (phone, counter) and confirm it to him by mail
    with the case number and the expected answer time."""
    actor = acting_user("open", person=True)
    pool_number = parse_id(pool_id, field="pool_id")
    pool = db.session.get(Pool, pool_number) if pool_number is not None else None
    if pool is None or not pool.active or not rules.is_visible(pool):
        raise AccessDenied("No such pool among yours.")
    email = parse_text(
        customer_email,
        field="customer_email",
        max_length=320,
        required=True,
        what="Give the customer's e-mail address.",
    ).lower()
    if "@" not in email or any(c.isspace() for c in email):
        raise DeskError("Give the customer's e-mail address.")
    subject = parse_text(
        subject,
        field="subject",
        max_length=SUBJECT_MAX,
        required=True,
        what="A case needs a subject.",
        one_line=True,
    )
    name = parse_text(customer_name, field="customer_name", max_length=256)
    language = parse_text(language, field="language", max_length=16)
    body = parse_text(text, field="text", max_length=NOTE_MAX)
    topic_number = parse_id(topic_id, field="topic_id")
    topic = db.session.get(Topic, topic_number) if topic_number is not None else None
    if topic_number is not None and (topic is None or not topic.active):
        raise DeskError(f"No active topic #{topic_number}.")
    customer = db.session.scalars(select(Customer).where(Customer.email == email)).first()
    if customer is None:
        default_language = current_app.config.get("DESK_DEFAULT_LANGUAGE") or "en"
        customer = Customer(email=email, name=name, language=(language or default_language).lower())
        db.session.add(customer)
    mailbox = next((m for m in sorted(pool.mailboxes, key=lambda m: m.id) if m.active), None)
    case = open_case(
        pool=pool, subject=subject, customer=customer, mailbox=mailbox, topic=topic, commit=False
    )
    db.session.flush()
    push.push_case(case)  # a pool with push routing assigns it at once
    if body:
        _note(case, actor, f"Opened by {actor.username}: {body}")
    mail_id = notices.send(notices.CONFIRMATION, case, kind="confirmation")
    _event(case, "opened by agent", confirmation_outbox_id=mail_id)
    db.session.commit()
    return case


# --- what the case page offers -------------------------------------------------------------------


def offered_actions(case: Case, user=None) -> frozenset[str]:
    """The actions ``user`` may do on ``case`` now: his role's permissions and the rules
    above (a claim only while unassigned, assign only for supervisors of the pool, status
    moves as the state machine allows). The case page shows these buttons and no others."""
    user = current_actor() if user is None else user
    if user is None or not rules.is_visible(case, user):
        return frozenset()

    def may(permission: str) -> bool:
        return user_may(user, f"can_{permission}", _PERMISSION_VIEW.get(permission, CASE_ACTION))

    status = CaseStatus(case.status)
    offered = set()
    if may("note"):
        offered.add("note")
    if status is S.CLOSED:
        if may("reopen"):
            offered.add("reopen")
        return frozenset(offered)
    if may("claim") and case.assignee_id is None:
        offered.add("claim")
    if (
        may("release")
        and case.assignee_id is not None
        and status is not S.AWAITING_APPROVAL
        and (case.assignee_id == user.id or supervises(case.pool_id, user))
    ):
        offered.add("release")
    if may("assign") and supervises(case.pool_id, user):
        offered.add("assign")
    for action in ("forward", "reroute", "edit"):
        if may(action):
            offered.add(action)
    if may("postpone") and S.POSTPONED in ALLOWED[status]:
        offered.add("postpone")
    if may("close") and may_close(case, user):
        offered.add("close")
    # Consulting a department is app.consultation's form; the permission exists only on a
    # desk with that feature, so cases need not know it.
    if may("consult") and (
        status is S.UNDER_CONSULTATION or S.UNDER_CONSULTATION in ALLOWED[status]
    ):
        offered.add("consult")
    if may("transition") and plain_moves(case):
        offered.add("transition")
    return frozenset(offered)


# --- steps for other features' services (the caller checked its rules and commits) -------------


def start_work(case: Case, reason: str) -> None:
    """A received case is being worked on now."""
    if case.status == S.RECEIVED:
        transition(case, S.IN_PROGRESS.value, reason=reason)


def await_approval(case: Case) -> None:
    """A reply waits for a supervisor: the case waits with it."""
    start_work(case, "reply written")
    transition(case, S.AWAITING_APPROVAL.value, reason="reply needs approval")


def record_answer(case: Case) -> None:
    """The customer got an answer: first response time, and the next move is his (waiting on
    the customer) unless the case waits for something else (a consultation, a date)."""
    if case.first_response_at is None:
        case.first_response_at = utcnow()
        # The next target is the resolution now (``app.cases.due`` moves it at the flush):
        # the wait below must keep the time left on that one, not on the answered one.
        db.session.flush()
    start_work(case, "answered")
    if case.status in (S.IN_PROGRESS, S.AWAITING_APPROVAL):
        transition(case, S.WAITING_ON_CUSTOMER.value, reason="answered")


def send_back(case: Case, reason: str = "reply rejected") -> None:
    """A waiting reply was rejected: the agent works on the case again."""
    transition(case, S.IN_PROGRESS.value, reason=reason)


def close_for_inactivity(case: Case, days: int) -> int | None:
    """The desk closes a case that has waited ``days`` days for the customer's answer, and
    tells him that his answer reopens it (``notice.inactivity_closed``); the outbox id of
    that notice (None without an address). No wrap-up questionnaire: nobody is asked."""
    reason = f"no answer from the customer for {days} days"
    transition(case, S.CLOSED.value, reason=reason)
    mail_id = None
    if case.customer is not None and case.customer.email:
        mail_id = notices.send(notices.INACTIVITY_CLOSED, case, kind="notification")
    _event(case, "closed for inactivity", days=days, reason=reason, notice_outbox_id=mail_id)
    return mail_id
