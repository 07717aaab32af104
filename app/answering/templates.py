"""Texts: the canned responses agents start from, and the desk's own notices.

Response templates are offered per case in the customer's language (the most specific scope
wins, see ``rendering.pick_template``). The desk's notices (``notice.link`` for replies in link
mode, ``notice.postponed``, ``notice.confirmation``, ``notice.closed`` and the inactivity
notices for the case actions and jobs) have a default text here (some in several languages)
and can be reworded with a template of the same name. Cases send their notices through
``app.cases.notices``; ``connect`` (the ``setup`` of answering's manifest) hands them
``send_notice``, so cases never import answering.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.answering import rendering
from app.answering.models import ResponseTemplate
from app.answering.portal import portal_link, rating_links, survey_link
from app.audit.actor import current_actor
from app.audit.models import Event
from app.audit.tracking import record_event
from app.cases import notices
from app.cases.models import Case
from app.core.timeutil import utcnow
from app.errors import AccessDenied
from app.extensions import db
from app.mail import autoresponse
from app.mailcore.identity import tag_subject
from app.outbox import services as outbox
from app.security import rules

FRESH_LINK = "notice.fresh_link"
# A customer may ask for a fresh link this often per case; more requests are answered alike
# but mail nothing, so the page cannot be used to flood his mailbox.
FRESH_LINK_INTERVAL = timedelta(minutes=10)

# The desk's own notices; a supervisor overrides them (per language, pool, topic) with a
# response template of the same name. Each carries the signed link to the case.
DEFAULT_NOTICES = {
    "notice.link": (
        "Your case {{ case_number }} has a new answer",
        "Dear {{ customer_name }},\n\nyour case {{ case_number }} has a new answer.\n"
        "Read it here:\n{{ case_link }}\n\n{{ desk_name }}",
    ),
    notices.POSTPONED: (
        "Your case {{ case_number }} is on hold until {{ postponed_until }}",
        "Dear {{ customer_name }},\n\nwe are waiting for something we need to answer your "
        "case {{ case_number }} ({{ case_subject }}). We will come back to you on "
        "{{ postponed_until }} (UTC).\n\nYour case online: {{ case_link }}\n\n{{ desk_name }}",
    ),
    FRESH_LINK: (
        "A new link to your case",
        "Dear {{ customer_name }},\n\nyou asked for a new link to your case {{ case_number }} "
        "({{ case_subject }}). Here it is:\n{{ case_link }}\n\n"
        "If you did not ask for it, you can ignore this mail.\n\n{{ desk_name }}",
    ),
    notices.INACTIVITY_REMINDER: (
        "We are waiting for your answer: {{ case_number }}",
        "Dear {{ customer_name }},\n\nwe answered your case {{ case_number }} "
        "({{ case_subject }}) and are waiting for your reply. If you still need help, simply "
        "answer this mail.\n\nYour case online: {{ case_link }}\n\n{{ desk_name }}",
    ),
    notices.INACTIVITY_CLOSED: (
        "Your case {{ case_number }} has been closed",
        "Dear {{ customer_name }},\n\nwe have not heard from you about your case "
        "{{ case_number }} ({{ case_subject }}) for a while, so we have closed it. If you "
        "still need help, simply reply to this mail and we will reopen it.\n\n"
        "Your case online: {{ case_link }}\n\n{{ desk_name }}",
    ),
    notices.CONFIRMATION: (
        "We received your request: {{ case_number }}",
        "Dear {{ customer_name }},\n\nwe have opened case {{ case_number }} for your request "
        '"{{ case_subject }}". You can expect an answer by {{ due_date }} (UTC).\n'
        "Please keep the case number in the subject when you write to us.\n\n"
        "Your case online: {{ case_link }}\n\n{{ desk_name }}",
    ),
    notices.CLOSED: (
        "Your case {{ case_number }} is closed",
        "Dear {{ customer_name }},\n\nwe have closed your case {{ case_number }} "
        "({{ case_subject }}). If something is still open, just answer this mail and the case "
        "opens again.\n{% if survey_link %}\nPlease tell us how we did (two minutes):\n"
        "{{ survey_link }}\nOr start with a rating from 1 (poor) to 5 (very good):\n"
        "{{ rating_links }}\n{% endif %}\nYour case online: {{ case_link }}\n\n{{ desk_name }}",
    ),
}

# The desk's own notices in the portal's other languages (a template of the same name still
# wins); tests/portal/test_languages.py checks that each has all three.
DEFAULT_NOTICE_TRANSLATIONS = {
    ("notice.link", "pl"): (
        "Twoje zgłoszenie {{ case_number }} ma nową odpowiedź",
        "Dzień dobry {{ customer_name }},\n\nTwoje zgłoszenie {{ case_number }} ma nową "
        "odpowiedź.\nPrzeczytaj ją tutaj:\n{{ case_link }}\n\n{{ desk_name }}",
    ),
    ("notice.link", "sv"): (
        "Ditt ärende {{ case_number }} har ett nytt svar",
        "Hej {{ customer_name }},\n\ndu har fått ett nytt svar i ärende {{ case_number }}.\n"
        "Läs det här:\n{{ case_link }}\n\n{{ desk_name }}",
    ),
    ("notice.link", "de"): (
        "Ihre Anfrage {{ case_number }} hat eine neue Antwort",
        "Guten Tag {{ customer_name }},\n\nIhre Anfrage {{ case_number }} hat eine neue "
        "Antwort.\nSie finden sie hier:\n{{ case_link }}\n\n{{ desk_name }}",
    ),
    (notices.POSTPONED, "pl"): (
        "Twoje zgłoszenie {{ case_number }} jest wstrzymane do {{ postponed_until }}",
        "Dzień dobry {{ customer_name }},\n\nczekamy na coś, czego potrzebujemy, aby "
        "odpowiedzieć na zgłoszenie {{ case_number }} ({{ case_subject }}). Wrócimy do Ciebie "
        "{{ postponed_until }} (UTC).\n\nTwoje zgłoszenie online: {{ case_link }}\n\n"
        "{{ desk_name }}",
    ),
    (notices.POSTPONED, "sv"): (
        "Ditt ärende {{ case_number }} vilar till {{ postponed_until }}",
        "Hej {{ customer_name }},\n\nvi väntar på något vi behöver för att svara på ditt "
        "ärende {{ case_number }} ({{ case_subject }}). Vi återkommer till dig "
        "{{ postponed_until }} (UTC).\n\nDitt ärende på webben: {{ case_link }}\n\n"
        "{{ desk_name }}",
    ),
    (notices.POSTPONED, "de"): (
        "Ihre Anfrage {{ case_number }} ruht bis {{ postponed_until }}",
        "Guten Tag {{ customer_name }},\n\nwir warten auf etwas, das wir für die Antwort auf "
        "Ihre Anfrage {{ case_number }} ({{ case_subject }}) brauchen. Wir melden uns am "
        "{{ postponed_until }} (UTC) bei Ihnen.\n\nIhre Anfrage online: {{ case_link }}\n\n"
        "{{ desk_name }}",
    ),
    (FRESH_LINK, "pl"): (
        "Nowy link do Twojego zgłoszenia",
        "Dzień dobry {{ customer_name }},\n\notrzymaliśmy prośbę o nowy link do zgłoszenia "
        "{{ case_number }} ({{ case_subject }}). Oto on:\n{{ case_link }}\n\n"
        "Jeśli to nie Ty o niego prosisz, zignoruj tę wiadomość.\n\n{{ desk_name }}",
    ),
    (FRESH_LINK, "sv"): (
        "En ny länk till ditt ärende",
        "Hej {{ customer_name }},\n\ndu bad om en ny länk till ditt ärende {{ case_number }} "
        "({{ case_subject }}). Här är den:\n{{ case_link }}\n\n"
        "Om du inte bad om den kan du strunta i det här mejlet.\n\n{{ desk_name }}",
    ),
    (FRESH_LINK, "de"): (
        "Ein neuer Link zu Ihrer Anfrage",
        "Guten Tag {{ customer_name }},\n\nSie haben einen neuen Link zu Ihrer Anfrage "
        "{{ case_number }} ({{ case_subject }}) angefordert. Hier ist er:\n{{ case_link }}\n\n"
        "Wenn Sie ihn nicht angefordert haben, können Sie diese E-Mail ignorieren.\n\n"
        "{{ desk_name }}",
    ),
    (notices.INACTIVITY_REMINDER, "pl"): (
        "Czekamy na Twoją odpowiedź: {{ case_number }}",
        "Dzień dobry {{ customer_name }},\n\nodpowiedzieliśmy na Twoje zgłoszenie {{ "
        "case_number }} ({{ case_subject }}) i czekamy na Twoją odpowiedź. Jeśli nadal "
        "potrzebujesz pomocy, po prostu odpowiedz na tę wiadomość.\n\n"
        "Twoje zgłoszenie online: {{ case_link }}\n\n{{ desk_name }}",
    ),
    (notices.INACTIVITY_REMINDER, "sv"): (
        "Vi väntar på ditt svar: {{ case_number }}",
        "Hej {{ customer_name }},\n\nvi har svarat på ditt ärende {{ case_number }} ({{ "
        "case_subject }}) och väntar på ditt svar. Om du fortfarande behöver hjälp räcker det "
        "att du svarar på det här mejlet.\n\nDitt ärende på webben: {{ case_link }}\n\n"
        "{{ desk_name }}",
    ),
    (notices.INACTIVITY_REMINDER, "de"): (
        "Wir warten auf Ihre Antwort: {{ case_number }}",
        "Guten Tag {{ customer_name }},\n\nwir haben Ihre Anfrage {{ case_number }} ({{ "
        "case_subject }}) beantwortet und warten auf Ihre Rückmeldung. Wenn Sie weiterhin "
        "Hilfe benötigen, antworten Sie einfach auf diese E-Mail.\n\n"
        "Ihre Anfrage online: {{ case_link }}\n\n{{ desk_name }}",
    ),
    (notices.INACTIVITY_CLOSED, "pl"): (
        "Twoje zgłoszenie {{ case_number }} zostało zamknięte",
        "Dzień dobry {{ customer_name }},\n\nod pewnego czasu nie otrzymaliśmy od Ciebie "
        "odpowiedzi w sprawie zgłoszenia {{ case_number }} ({{ case_subject }}), dlatego je "
        "zamknęliśmy. Jeśli nadal potrzebujesz pomocy, po prostu odpowiedz na tę wiadomość, a "
        "ponownie otworzymy zgłoszenie.\n\nTwoje zgłoszenie online: {{ case_link }}\n\n"
        "{{ desk_name }}",
    ),
    (notices.INACTIVITY_CLOSED, "sv"): (
        "Ditt ärende {{ case_number }} har stängts",
        "Hej {{ customer_name }},\n\nvi har inte hört av dig på ett tag om ditt ärende {{ "
        "case_number }} ({{ case_subject }}), så vi har stängt det. Om du fortfarande behöver "
        "hjälp, svara bara på det här mejlet så öppnar vi ärendet igen.\n\n"
        "Ditt ärende på webben: {{ case_link }}\n\n{{ desk_name }}",
    ),
    (notices.INACTIVITY_CLOSED, "de"): (
        "Ihre Anfrage {{ case_number }} wurde geschlossen",
        "Guten Tag {{ customer_name }},\n\nwir haben seit einiger Zeit nichts von Ihnen zu "
        "Ihrer Anfrage {{ case_number }} ({{ case_subject }}) gehört und sie daher "
        "geschlossen. Wenn Sie weiterhin Hilfe benötigen, antworten Sie einfach auf diese "
        "E-Mail, dann öffnen wir sie wieder.\n\nIhre Anfrage online: {{ case_link }}\n\n"
        "{{ desk_name }}",
    ),
    (notices.CONFIRMATION, "pl"): (
        "Otrzymaliśmy Twoje zgłoszenie: {{ case_number }}",
        "Dzień dobry {{ customer_name }},\n\notworzyliśmy zgłoszenie {{ case_number }} w "
        'sprawie "{{ case_subject }}". Odpowiedzi możesz się spodziewać do {{ due_date }} '
        "(UTC).\nPisząc do nas, zostaw numer zgłoszenia w temacie.\n\n"
        "Twoje zgłoszenie online: {{ case_link }}\n\n{{ desk_name }}",
    ),
    (notices.CONFIRMATION, "sv"): (
        "Vi har tagit emot ditt ärende: {{ case_number }}",
        "Hej {{ customer_name }},\n\nvi har öppnat ärende {{ case_number }} för din fråga "
        '"{{ case_subject }}". Du kan vänta dig ett svar senast {{ due_date }} (UTC).\n'
        "Behåll ärendenumret i ämnesraden när du skriver till oss.\n\n"
        "Ditt ärende på webben: {{ case_link }}\n\n{{ desk_name }}",
    ),
    (notices.CONFIRMATION, "de"): (
        "Wir haben Ihre Anfrage erhalten: {{ case_number }}",
        "Guten Tag {{ customer_name }},\n\nwir haben die Anfrage {{ case_number }} zu "
        '"{{ case_subject }}" eröffnet. Sie erhalten eine Antwort bis {{ due_date }} (UTC).\n'
        "Bitte behalten Sie die Nummer im Betreff, wenn Sie uns schreiben.\n\n"
        "Ihre Anfrage online: {{ case_link }}\n\n{{ desk_name }}",
    ),
    (notices.CLOSED, "pl"): (
        "Twoje zgłoszenie {{ case_number }} jest zamknięte",
        "Dzień dobry {{ customer_name }},\n\nzamknęliśmy Twoje zgłoszenie {{ case_number }} "
        "({{ case_subject }}). Jeśli coś jest jeszcze otwarte, odpowiedz na tę wiadomość, a "
        "zgłoszenie otworzy się ponownie.\n{% if survey_link %}\nOceń naszą pomoc (dwie "
        "minuty):\n{{ survey_link }}\nMożesz też zacząć od oceny od 1 (słabo) do 5 "
        "(bardzo dobrze):\n{{ rating_links }}\n{% endif %}\nTwoje zgłoszenie online: {{ case_link }}"
        "\n\n{{ desk_name }}",
    ),
    (notices.CLOSED, "sv"): (
        "Ditt ärende {{ case_number }} är stängt",
        "Hej {{ customer_name }},\n\nvi har stängt ditt ärende {{ case_number }} "
        "({{ case_subject }}). Om något fortfarande är oklart, svara bara på det här mejlet så "
        "öppnas ärendet igen.\n{% if survey_link %}\nBerätta hur vi gjorde (två minuter):\n"
        "{{ survey_link }}\nEller börja med ett betyg från 1 (dåligt) till 5 (mycket bra):\n"
        "{{ rating_links }}\n{% endif %}\nDitt ärende på webben: {{ case_link }}\n\n"
        "{{ desk_name }}",
    ),
    (notices.CLOSED, "de"): (
        "Ihr Fall {{ case_number }} ist abgeschlossen",
        "Guten Tag {{ customer_name }},\n\nwir haben Ihren Fall {{ case_number }} "
        "({{ case_subject }}) abgeschlossen. Ist noch etwas offen, antworten Sie einfach auf "
        "diese Mail, dann öffnet sich der Fall wieder.\n{% if survey_link %}\nWie waren wir? "
        "Sagen Sie es uns (zwei Minuten):\n{{ survey_link }}\nOder beginnen Sie mit einer "
        "Bewertung von 1 (schlecht) bis 5 (sehr gut):\n{{ rating_links }}\n{% endif %}\n"
        "Ihre Anfrage online: {{ case_link }}\n\n{{ desk_name }}",
    ),
}


def default_notice(name: str, case: Case) -> tuple[str, str]:
    """The desk's own (subject, text) of notice ``name`` in the customer's language (his, else
    the desk's), else in English."""
    language = rendering.customer_language(case)
    return DEFAULT_NOTICE_TRANSLATIONS.get((name, language), DEFAULT_NOTICES[name])


def templates_for(case: Case) -> list[ResponseTemplate]:
    """Canned responses offered on a case: one entry per name, in the customer's language."""
    rows = db.session.scalars(
        rules.visible(select(ResponseTemplate), ResponseTemplate)
        .where(ResponseTemplate.active.is_(True), ~ResponseTemplate.name.startswith("notice."))
        .order_by(ResponseTemplate.name)
    ).all()
    picked = {}
    for name in dict.fromkeys(r.name for r in rows):
        best = rendering.pick_template(name, case)
        if best is not None:
            picked[name] = best
    return list(picked.values())


def render_template_for(
    case: Case, template_id, language: str | None = None
) -> tuple[ResponseTemplate, str, str]:
    """(template version used, subject, body) of a canned response for this case: what the
    agent starts from before editing."""
    rules.ensure_visible(case)
    template = db.session.get(ResponseTemplate, template_id)
    if template is None or not rules.is_visible(template) or not template.active:
        raise AccessDenied("No such template, or it is not offered in your pools.")
    version = rendering.language_version(template, case, language)
    context = rendering.placeholder_context(case, current_actor(), case_link=portal_link(case))
    subject = rendering.render_text(version.subject, context, what=f"template {version.name}")
    body = rendering.render_text(version.body, context, what=f"template {version.name}")
    return version, subject, body


def render_notice(name: str, case: Case) -> tuple[str, str]:
    """Subject (with the case tag) and text of one of the desk's notices, in the customer's
    language."""
    context = rendering.placeholder_context(
        case,
        None,
        case_link=portal_link(case),
        survey_link=survey_link(case) if name == notices.CLOSED else "",
        rating_links=rating_links(case) if name == notices.CLOSED else "",
    )
    template = rendering.pick_template(name, case)
    subject_src, body_src = default_notice(name, case)
    if template is not None:
        subject_src, body_src = template.subject or subject_src, template.body
    subject = rendering.render_text(subject_src, context, what=name)
    return tag_subject(subject, case.number), rendering.render_text(body_src, context, what=name)


def send_notice(name: str, case: Case, kind: str) -> int:
    """Queue one of the desk's notices to the case's customer (an automatic mail); returns
    the outbox id. The caller commits it with the change it tells of."""
    subject, text = render_notice(name, case)
    mail = outbox.queue_mail(
        kind=kind,
        to=case.customer.email,
        subject=subject,
        text=text,
        case=case,
        mailbox=case.mailbox,
        automatic=True,
    )
    db.session.flush()
    return mail.id


def send_fresh_portal_link(case: Case) -> bool:
    """Mail the case's customer a fresh portal link, asked for on the page of an expired one;
    recorded as an Event. Only to the address on file, and at most once per
    ``FRESH_LINK_INTERVAL``: False when nothing was sent (no address, asked moments ago)."""
    if case.customer is None or not case.customer.email:
        return False
    recent = db.session.scalar(
        select(Event.id).where(
            Event.case_id == case.id,
            Event.action == "portal link sent",
            Event.created_at >= utcnow() - FRESH_LINK_INTERVAL,
        )
    )
    if recent is not None:
        return False
    mail_id = send_notice(FRESH_LINK, case, "notification")
    record_event(
        db.session,
        case,
        "portal link sent",
        new=case.customer.email,
        details={"outbox_id": mail_id},
    )
    db.session.commit()
    return True


def connect() -> None:
    """Answering writes the notices that the case actions send (see ``app.cases.notices``)
    and signs the case link of the intake's own mails (``app.mail.autoresponse``)."""
    notices.install_sender(send_notice)
    autoresponse.install_case_link(portal_link)
