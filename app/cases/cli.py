"""``flask --app run case show|transition``: work on cases from the shell.

The commands call the case actions (``app.cases.actions``) like the pages and the API, so the
same input gets the same answer: ``--as`` applies that user's record rules and permissions,
and a refusal prints the same one-line reason.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.audit.actor import acting_as
from app.cases import actions, services
from app.cases.models import Case
from app.errors import DeskError
from app.extensions import appbuilder, db

case_cli = AppGroup("case", help="Work on cases from the shell (same rules as the UI).")


def acting_user(username: str | None):
    """``acting_as`` the user named by ``--as``; without it the desk itself acts."""
    if username is None:
        return acting_as(None)
    user = appbuilder().sm.find_user(username=username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return acting_as(user)


def _find_case(number: str) -> Case:
    case = db.session.query(Case).filter(Case.number == number).one_or_none()
    if case is None:
        raise click.ClickException(f"no case {number}")
    return case


@case_cli.command("show")
@click.argument("number")
@click.option("--as", "username", default=None, help="Act as this user (record rules apply).")
def case_show(number: str, username: str | None):
    """Print a case with its thread and history."""
    with acting_user(username):
        try:
            case = services.get_case(_find_case(number).id)  # the desk itself sees every case
        except DeskError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{case.number} [{case.status}] {case.subject}")
        click.echo(f"pool: {case.pool}  assignee: {case.assignee or '-'}  due: {case.sla_due_at}")
        for m in case.messages:
            click.echo(f"  {m.created_at:%Y-%m-%d %H:%M} {m.direction:<12} {m.subject or ''}")
        for e in case.events:
            click.echo(f"  * {e.created_at:%Y-%m-%d %H:%M} {e.actor_name}: {e.summary}")


@case_cli.command("transition")
@click.argument("number")
@click.argument("status")
@click.option("--as", "username", default=None, help="Act as this user (record rules apply).")
@click.option("--reason", default=None)
@click.option(
    "--until",
    default=None,
    help="For 'postponed': ISO date and time, e.g. 2026-12-05T14:30 (UTC) or with +02:00.",
)
@click.option(
    "--notify/--no-notify", default=True, help="Postponed: tell the customer (the default)."
)
@click.option(
    "--answer",
    "answer_pairs",
    multiple=True,
    metavar="QUESTION=VALUE",
    help="Closed: a wrap-up answer (question id or text); repeat it for every answer and "
    "for each value of a multiple choice.",
)
def case_transition(
    number: str,
    status: str,
    username: str | None,
    reason: str | None,
    until: str | None,
    notify: bool,
    answer_pairs: tuple[str, ...],
):
    """Move a case to STATUS through the state machine."""
    answers: dict[str, object] = {}
    for pair in answer_pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.ClickException(f"--answer {pair!r}: write QUESTION=VALUE")
        key = key.strip()
        if key in answers:
            previous = answers[key]
            answers[key] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            answers[key] = value
    with acting_user(username):
        case = _find_case(number)
        try:
            actions.change_status(
                case,
                status,
                reason=reason,
                until=until,
                notify=notify,
                answers=answers or None,
            )
        except DeskError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        click.echo(f"{case.number} is now {case.status}")


def register(app) -> None:
    app.cli.add_command(case_cli)
