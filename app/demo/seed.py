"""``flask --app run demo seed``: pools, mailboxes, agents of every role, topics and cases.

Deterministic for a given seed, and idempotent for the configuration part (running it twice
adds cases but not a second copy of the pools and users).
"""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta

from app.agents.models import Absence, AgentProfile, PoolMembership
from app.answering.models import (
    Document,
    DocumentVersion,
    PoolLayout,
    Reply,
    ReplyStatus,
    ResponseTemplate,
)
from app.answering.richtext import reply_body
from app.audit.actor import acting_as
from app.cases import services
from app.cases.intake_answers import record_intake_answers
from app.cases.models import Message, MessageDirection
from app.cases.workflow import CaseStatus, transition
from app.consultation.deadline import consultation_deadline
from app.consultation.models import Consultation, ConsultationStatus, Department
from app.core.priority import Priority
from app.core.timeutil import utcnow
from app.customers.models import Customer
from app.extensions import db
from app.knowledge.demo import seed_articles
from app.mail.intake import receive
from app.mailcore.models import Mailbox
from app.organisation.models import ClosePolicy, Pool, Skill, Topic
from app.questionnaires import services as questionnaires
from app.questionnaires.models import (
    AskedOn,
    Dictionary,
    DictionaryValue,
    Moment,
    Purpose,
    Question,
    QuestionKind,
    Questionnaire,
)
from app.security.bootstrap import create_user
from app.sla.models import SlaCalendar, SlaOpeningHours, SlaPolicy
from forms_designer import services as form_services
from forms_designer.models import IntakeForm

POOLS = {
    "Billing": {
        "sla_hours": 24,
        "mailboxes": ["billing@loopdesk.example", "invoices@loopdesk.example"],
    },
    "Technical support": {
        "sla_hours": 8,
        "mailboxes": ["support@loopdesk.example", "help@loopdesk.example"],
    },
    "Sales": {"sla_hours": 48, "mailboxes": ["sales@loopdesk.example"]},
}
SKILLS = ["English", "German", "French", "Refunds", "Networking", "Enterprise contracts"]
# The topic tree customers pick from in the portal: (name, pool, priority, names in the
# portal's languages, subtopics as (name, skill, priority, names)); empty: inherited.
TOPICS = [
    (
        "Invoices",
        "Billing",
        None,
        {"pl": "Faktury", "sv": "Fakturor", "de": "Rechnungen"},
        [
            (
                "Copy of an invoice",
                None,
                Priority.LOW,
                {"pl": "Kopia faktury", "sv": "Kopia av en faktura", "de": "Rechnungskopie"},
            ),
            (
                "Wrong invoice",
                None,
                None,
                {"pl": "Błędna faktura", "sv": "Felaktig faktura", "de": "Falsche Rechnung"},
            ),
            (
                "Refund",
                "Refunds",
                Priority.HIGH,
                {"pl": "Zwrot pieniędzy", "sv": "Återbetalning", "de": "Rückerstattung"},
            ),
        ],
    ),
    (
        "Delivery",
        "Sales",
        None,
        {"pl": "Dostawa", "sv": "Leverans", "de": "Lieferung"},
        [
            (
                "Where is my parcel",
                None,
                Priority.HIGH,
                {
                    "pl": "Gdzie jest moja paczka",
                    "sv": "Var är mitt paket",
                    "de": "Wo ist mein Paket",
                },
            ),
            (
                "Damaged parcel",
                None,
                None,
                {"pl": "Uszkodzona paczka", "sv": "Skadat paket", "de": "Beschädigtes Paket"},
            ),
        ],
    ),
    (
        "Technical problem",
        "Technical support",
        None,
        {"pl": "Problem techniczny", "sv": "Tekniskt problem", "de": "Technisches Problem"},
        [
            ("Cannot log in", None, Priority.HIGH, {"pl": "Nie mogę się zalogować"}),
            ("Connection drops", "Networking", None, {"pl": "Połączenie się zrywa"}),
        ],
    ),
    (
        "Buying",
        "Sales",
        None,
        {"pl": "Zakup", "sv": "Köpa", "de": "Kaufen"},
        [
            ("Quote request", None, None, {"pl": "Prośba o ofertę"}),
            ("Enterprise plan", "Enterprise contracts", None, {"pl": "Plan dla firm"}),
        ],
    ),
]


def _t(en: str, pl: str, sv: str, de: str) -> dict[str, str]:
    """A text in the portal's four languages."""
    return {"en": en, "pl": pl, "sv": sv, "de": de}


LANGUAGES = ["en", "pl", "sv", "de"]
MONTHS = [
    ("september", _t("September", "Wrzesień", "September", "September")),
    ("october", _t("October", "Październik", "Oktober", "Oktober")),
    ("november", _t("November", "Listopad", "November", "November")),
]
# The intake forms of some topics, published as real versions (forms_designer.services) and
# linked to their topics, so the portal asks them; the demo's cases carry answers to them.
# Each has labels in the portal's four languages and a field shown only on a condition.
INTAKE_FORMS = {
    "Copy of an invoice": {
        "languages": LANGUAGES,
        "fields": [
            {
                "key": "invoice_no",
                "type": "short_text",
                "label": _t("Invoice number", "Numer faktury", "Fakturanummer", "Rechnungsnummer"),
                "help": _t(
                    "As printed on the invoice, e.g. FV/2026/123",
                    "Tak jak na fakturze, np. FV/2026/123",
                    "Som på fakturan, t.ex. FV/2026/123",
                    "Wie auf der Rechnung, z. B. FV/2026/123",
                ),
                "required": True,
                "max_length": 40,
            },
            {
                "key": "months",
                "type": "multiple_choice",
                "label": _t("Which months?", "Które miesiące?", "Vilka månader?", "Welche Monate?"),
                "options": [{"value": value, "label": label} for value, label in MONTHS],
            },
            {
                "key": "by_post",
                "type": "checkbox",
                "label": _t(
                    "Also send it by post",
                    "Wyślijcie ją też pocztą",
                    "Skicka den även med post",
                    "Auch per Post schicken",
                ),
            },
            {
                "key": "postal_address",
                "type": "long_text",
                "label": _t("Postal address", "Adres pocztowy", "Postadress", "Postanschrift"),
                "required": True,
                "max_length": 500,
                "visible_if": {"properties": {"by_post": {"const": True}}, "required": ["by_post"]},
            },
        ],
    },
    "Wrong invoice": {
        "languages": LANGUAGES,
        "fields": [
            {
                "key": "invoice_no",
                "type": "short_text",
                "label": _t("Invoice number", "Numer faktury", "Fakturanummer", "Rechnungsnummer"),
                "required": True,
                "max_length": 40,
            },
            {
                "key": "what_wrong",
                "type": "single_choice",
                "label": _t("What is wrong?", "Co jest nie tak?", "Vad är fel?", "Was ist falsch?"),
                "required": True,
                "options": [
                    {
                        "value": "amount",
                        "label": _t("The amount", "Kwota", "Beloppet", "Der Betrag"),
                    },
                    {
                        "value": "address",
                        "label": _t("The address", "Adres", "Adressen", "Die Adresse"),
                    },
                    {
                        "value": "vat",
                        "label": _t("The VAT number", "Numer NIP", "Momsnumret", "Die USt-IdNr."),
                    },
                    {
                        "value": "other",
                        "label": _t("Something else", "Coś innego", "Något annat", "Etwas anderes"),
                    },
                ],
            },
            {
                "key": "details",
                "type": "long_text",
                "label": _t(
                    "Tell us what is wrong",
                    "Opisz, co jest nie tak",
                    "Berätta vad som är fel",
                    "Beschreiben Sie, was falsch ist",
                ),
                "required": True,
                "max_length": 2000,
                "visible_if": {
                    "properties": {"what_wrong": {"const": "other"}},
                    "required": ["what_wrong"],
                },
            },
        ],
    },
    "Where is my parcel": {
        "languages": LANGUAGES,
        "fields": [
            {
                "key": "order_no",
                "type": "short_text",
                "label": _t("Order number", "Numer zamówienia", "Ordernummer", "Bestellnummer"),
                "required": True,
                "pattern": "^ORD-[0-9]{5}$",
                "help": _t("e.g. ORD-12345", "np. ORD-12345", "t.ex. ORD-12345", "z. B. ORD-12345"),
            },
            {
                "key": "tracking",
                "type": "short_text",
                "label": _t("Tracking number", "Numer przesyłki", "Kollinummer", "Sendungsnummer"),
            },
            {
                "key": "ordered_on",
                "type": "date",
                "label": _t("Ordered on", "Data zamówienia", "Beställd den", "Bestellt am"),
            },
        ],
    },
    "Refund": {
        "languages": LANGUAGES,
        "fields": [
            {
                "key": "reason",
                "type": "single_choice",
                "label": _t(
                    "Why a refund?",
                    "Dlaczego zwrot?",
                    "Varför en återbetalning?",
                    "Warum eine Rückerstattung?",
                ),
                "required": True,
                "options": [
                    {
                        "value": "double",
                        "label": _t(
                            "Charged twice",
                            "Podwójne obciążenie",
                            "Debiterad två gånger",
                            "Doppelt abgebucht",
                        ),
                    },
                    {
                        "value": "cancelled",
                        "label": _t(
                            "Order cancelled",
                            "Anulowane zamówienie",
                            "Avbruten order",
                            "Bestellung storniert",
                        ),
                    },
                    {
                        "value": "faulty",
                        "label": _t(
                            "Faulty product",
                            "Wadliwy produkt",
                            "Defekt produkt",
                            "Defektes Produkt",
                        ),
                    },
                ],
            },
            {
                "key": "fault",
                "type": "long_text",
                "label": _t(
                    "What is wrong with it?",
                    "Co jest z nim nie tak?",
                    "Vad är fel på den?",
                    "Was ist daran defekt?",
                ),
                "required": True,
                "visible_if": {
                    "properties": {"reason": {"const": "faulty"}},
                    "required": ["reason"],
                },
            },
            {
                "key": "amount",
                "type": "number",
                "label": _t("Amount (EUR)", "Kwota (EUR)", "Belopp (EUR)", "Betrag (EUR)"),
                "minimum": 0,
                "maximum": 100000,
            },
        ],
    },
}
# The names of the demo's forms (Configuration → Form designer), by topic.
FORM_NAMES = {
    "Copy of an invoice": "Copy of an invoice",
    "Wrong invoice": "Wrong invoice",
    "Where is my parcel": "Parcel enquiry",
    "Refund": "Refund request",
}


def demo_answers(rnd: random.Random, topic_name: str, now) -> dict:
    if topic_name == "Copy of an invoice":
        months = rnd.sample(["september", "october", "november"], rnd.randint(1, 2))
        by_post = rnd.random() < 0.3
        answers = {
            "invoice_no": f"FV/2026/{rnd.randint(100, 999)}",
            "months": months,
            "by_post": by_post,
        }
        if by_post:
            answers["postal_address"] = f"ul. Polna {rnd.randint(1, 99)}, 00-950 Warszawa"
        return answers
    if topic_name == "Wrong invoice":
        wrong = rnd.choice(["amount", "address", "vat", "other"])
        answers = {"invoice_no": f"FV/2026/{rnd.randint(100, 999)}", "what_wrong": wrong}
        if wrong == "other":
            answers["details"] = "The invoice names the wrong company."
        return answers
    if topic_name == "Where is my parcel":
        return {
            "order_no": f"ORD-{rnd.randint(10000, 99999)}",
            "tracking": f"JJD{rnd.randint(10**9, 10**10 - 1)}",
            "ordered_on": (now - timedelta(days=rnd.randint(3, 12))).date(),
        }
    reason = rnd.choice(["double", "cancelled", "faulty"])
    answers = {"reason": reason, "amount": rnd.choice([19.9, 49, 120, 240.5])}
    if reason == "faulty":
        answers["fault"] = "It stopped working after a week."
    return answers


def seed_intake_forms(pools: dict) -> dict:
    """Publish each topic's intake form (once: a form that exists keeps its versions) and
    link it to its topic; returns {topic name: current version}."""
    versions = {}
    topics = {t.name: t for t in db.session.query(Topic).all()}
    with acting_as(None):
        for topic_name, schema in INTAKE_FORMS.items():
            topic = topics[topic_name]
            pool = topic.effective("pool")
            name = FORM_NAMES[topic_name]
            form = db.session.query(IntakeForm).filter_by(name=name, pool_id=pool.id).first()
            if form is None:
                form = form_services.create_form(name, pool)
                form_services.save_draft(form, schema)
                form_services.publish(form)
            if topic.form_id != form.id:
                topic.form = form
            versions[topic_name] = form_services.current_version(form)
    db.session.flush()
    return versions


# Topics that follow an SLA policy of their own (set on the topic tree page).
TOPIC_POLICIES = {"Refund": "Refunds", "Where is my parcel": "Delivery: parcels"}
# A reply written in the composer with formatting, waiting for a supervisor's approval.
PENDING_REPLY_HTML = (
    "<p>Thank you for your patience; here is what we <strong>found</strong>:</p>"
    "<ul><li>the invoice was sent twice</li><li>the second one is <em>cancelled</em></li></ul>"
    '<p>Details are in our <a href="https://example.com/help/invoices">help centre</a>.</p>'
)

AGENTS = [
    # username, first, last, role, pools with priority, skills
    ("supervisor", "Sam", "Supervisor", "Supervisor", {"Billing": 1, "Technical support": 2}, []),
    ("manager", "Mia", "Manager", "Manager", {}, []),
    ("agent1", "Alice", "Alder", "Agent", {"Billing": 1}, ["English", "Refunds"]),
    ("agent2", "Bob", "Birch", "Agent", {"Billing": 2, "Sales": 1}, ["German"]),
    ("agent3", "Carla", "Cedar", "Agent", {"Technical support": 1}, ["English", "Networking"]),
    ("agent4", "Dan", "Dogwood", "Agent", {"Technical support": 1}, ["French"]),
    ("agent5", "Eve", "Elm", "Agent", {"Sales": 1}, ["Enterprise contracts"]),
    ("agent6", "Finn", "Fir", "Agent", {"Technical support": 2, "Billing": 3}, ["English"]),
]
FIRST = [
    "Anna",
    "Ben",
    "Chloe",
    "David",
    "Ella",
    "Felix",
    "Greta",
    "Hugo",
    "Ida",
    "Jonas",
    "Klara",
    "Leon",
    "Mila",
    "Noah",
    "Olga",
    "Paul",
    "Rosa",
    "Simon",
    "Tara",
    "Ugo",
]
LAST = [
    "Meyer",
    "Schmidt",
    "Dubois",
    "Rossi",
    "Novak",
    "Jensen",
    "Silva",
    "Kowalski",
    "Smith",
    "Berg",
    "Laine",
    "Horvat",
]
ORGS = ["Acme GmbH", "Globex", "Initech", "Umbrella Ltd", "Hooli", None, None]
SUBJECTS = {
    "Billing": [
        "Invoice {n} is wrong",
        "Refund for order {n}",
        "Double charge on my card",
        "Change billing address",
        "VAT number missing on invoice {n}",
    ],
    "Technical support": [
        "Cannot log in since yesterday",
        "App crashes on start",
        "Connection drops every {n} minutes",
        "Error 500 when saving",
        "Password reset mail never arrives",
    ],
    "Sales": [
        "Quote for {n} licences",
        "Enterprise plan pricing",
        "Discount for NGOs?",
        "Trial extension",
        "Upgrade from basic to pro",
    ],
}


# Departments agents consult (Configuration → Departments): name, address, hours, language.
DEPARTMENTS = [
    ("Legal", "legal@company.example", 48, "en"),
    ("Finance", "finance@company.example", 8, "en"),
    ("Logistik", "logistik@company.example", 24, "de"),
]
CONSULTATION_QUESTIONS = [
    "The customer asks for a refund beyond 30 days. May we grant it?",
    "Is the clause in section 4 of his contract still valid?",
    "Where is the shipment? The tracking number does not work.",
]


def _get_or_create(model, defaults=None, **keys):
    row = db.session.query(model).filter_by(**keys).one_or_none()
    if row is None:
        row = model(**keys, **(defaults or {}))
        db.session.add(row)
        db.session.flush()
    return row


def seed_configuration(password: str | None = None) -> dict:
    pools = {}
    for name, spec in POOLS.items():
        pool = _get_or_create(
            Pool, {"sla_hours": spec["sla_hours"], "description": f"{name} enquiries"}, name=name
        )
        pools[name] = pool
        for address in spec["mailboxes"]:
            _get_or_create(
                Mailbox,
                {"pool": pool, "display_name": f"{name} team", "inbound_protocol": "pipe"},
                address=address,
            )
    skills = {name: _get_or_create(Skill, name=name) for name in SKILLS}
    for position, (name, pool_name, priority, names, children) in enumerate(TOPICS):
        parent = _get_or_create(
            Topic,
            {
                "pool": pools[pool_name],
                "priority": int(priority) if priority else None,
                "position": position,
                "name_translations": names,
            },
            name=name,
            parent_id=None,
        )
        for child_pos, (child, skill, child_priority, child_names) in enumerate(children):
            _get_or_create(
                Topic,
                {
                    "skill": skills.get(skill) if skill else None,
                    "priority": int(child_priority) if child_priority else None,
                    "position": child_pos,
                    "name_translations": child_names,
                },
                name=child,
                parent_id=parent.id,
            )
    users = {}
    for username, first, last, role, memberships, agent_skills in AGENTS:
        user = create_user(username, role, password=password, first_name=first, last_name=last)
        users[username] = user
        if role == "Manager":
            continue
        profile = _get_or_create(AgentProfile, user_id=user.id)
        profile.skills = [skills[s] for s in agent_skills]
        profile.replies_need_approval = username == "agent6"
        for pool_name, priority in memberships.items():
            _get_or_create(
                PoolMembership,
                {"priority": priority, "is_supervisor": role == "Supervisor"},
                agent_id=profile.id,
                pool_id=pools[pool_name].id,
            )
    seed_answering(pools, users)
    seed_articles(pools)
    seed_absences(pools, users)
    seed_sla(pools)
    forms = seed_intake_forms(pools)
    departments = [
        _get_or_create(Department, {"email": e, "response_hours": h, "language": lang}, name=n)
        for n, e, h, lang in DEPARTMENTS
    ]
    db.session.commit()
    return {
        "pools": pools,
        "skills": skills,
        "users": users,
        "departments": departments,
        "forms": forms,
    }


def _seed_consultation(rnd, case, agent, departments, now, *, answered: bool) -> None:
    """A consultation as the service leaves it: the row and its thread entries (no mail: the
    demo desk sends nothing); open ones are sometimes overdue, and then were reminded."""
    department = rnd.choice(departments)
    if answered:  # on a case closed since: asked soon after it came in
        sent = min(case.received_at + timedelta(hours=rnd.uniform(0.1, 2)), now)
    else:
        sent = now - timedelta(hours=rnd.uniform(1, 60))
    question = rnd.choice(CONSULTATION_QUESTIONS)
    deadline = consultation_deadline(sent, department)
    asked = Message(
        case=case,
        direction=MessageDirection.CONSULTATION,
        author=agent,
        from_address=case.mailbox.address if case.mailbox else None,
        to_addresses=department.email,
        subject=f"Question about case {case.number}",
        body_text=question,
        created_at=sent,
    )
    row = Consultation(
        case=case,
        department=department,
        asked_by=agent,
        question=question,
        sent_at=sent,
        deadline_at=deadline,
        message=asked,
        status=ConsultationStatus.OPEN.value,
    )
    db.session.add_all([asked, row])
    if answered:
        at = min(sent + timedelta(hours=rnd.uniform(0.5, department.response_hours * 1.5)), now)
        row.answered_at, row.status = at, ConsultationStatus.ANSWERED.value
        row.answer_message = Message(
            case=case,
            direction=MessageDirection.CONSULTATION,
            from_address=department.email,
            subject=f"Re: Question about case {case.number}",
            body_text="Yes, go ahead; we checked it.",
            created_at=at,
        )
    elif deadline < now:
        row.reminded_at = deadline + timedelta(minutes=5)
        row.status = ConsultationStatus.OVERDUE.value


# SLA policies of the demo pools: (pool, topic, priority, first response, resolution) in
# business minutes on the Warsaw office calendar.
POLICIES = [
    ("Billing standard", "Billing", None, None, 8 * 60, 3 * 8 * 60),
    ("Technical support standard", "Technical support", None, None, 4 * 60, 2 * 8 * 60),
    ("Technical support urgent", "Technical support", None, Priority.URGENT, 60, 4 * 60),
    ("Refunds", "Billing", "Refund", None, 4 * 60, 2 * 8 * 60),
    ("Sales standard", "Sales", None, None, 2 * 8 * 60, 5 * 8 * 60),
    ("Delivery: parcels", "Sales", None, Priority.HIGH, 2 * 60, 8 * 60),
]


def seed_sla(pools: dict) -> None:
    """A Europe/Warsaw Mon-Fri 08:00-16:00 calendar with Polish holidays for every demo pool,
    and a policy or two per pool."""
    calendar = _get_or_create(
        SlaCalendar, {"time_zone": "Europe/Warsaw", "holiday_country": "PL"}, name="Warsaw office"
    )
    if not calendar.hours:
        calendar.hours = [
            SlaOpeningHours(weekday=day, opens="08:00", closes="16:00") for day in range(5)
        ]
    for pool in pools.values():
        pool.sla_calendar = calendar
    for name, pool_name, topic_name, priority, first, resolution in POLICIES:
        topic = db.session.query(Topic).filter_by(name=topic_name).first() if topic_name else None
        _get_or_create(
            SlaPolicy,
            {
                "pool": pools[pool_name],
                "topic": topic,
                "priority": int(priority) if priority else None,
                "first_response_minutes": first,
                "resolution_minutes": resolution,
            },
            name=name,
        )
    db.session.flush()
    for topic_name, policy_name in TOPIC_POLICIES.items():
        topic = db.session.query(Topic).filter_by(name=topic_name).first()
        if topic is not None and topic.sla_policy is None:
            topic.sla_policy = db.session.query(SlaPolicy).filter_by(name=policy_name).first()
    db.session.flush()


def seed_absences(pools: dict, users: dict) -> None:
    """Sales pushes new cases by round robin (at most 15 open per agent); Carla stands in for
    Dan, who is away next week (his cases go to her when it starts)."""
    pools["Sales"].routing = "round_robin"
    pools["Sales"].max_open_per_agent = 15
    profiles = {
        name: db.session.query(AgentProfile).filter_by(user_id=user.id).first()
        for name, user in users.items()
    }
    profiles["agent4"].substitute = profiles["agent3"]
    if not profiles["agent4"].absences:
        start = utcnow().replace(hour=6, minute=0, second=0, microsecond=0) + timedelta(days=7)
        db.session.add(
            Absence(
                agent=profiles["agent4"],
                starts_at=start,
                ends_at=start + timedelta(days=5),
                note="Holiday",
            )
        )


TEMPLATES = [
    (
        "Thank you",
        "en",
        "Re: {{ case_subject }}",
        'thank you for your message about "{{ case_subject }}". We are looking into it and will '
        "answer by {{ due_date }}.",
    ),
    (
        "Thank you",
        "de",
        "Re: {{ case_subject }}",
        'vielen Dank für Ihre Nachricht zu "{{ case_subject }}". Wir kümmern uns darum und '
        "antworten bis {{ due_date }}.",
    ),
    (
        "Need more details",
        "en",
        "Re: {{ case_subject }}",
        "to help you with case {{ case_number }} we need a few more details: ...",
    ),
]


def seed_answering(pools: dict, users: dict) -> None:
    """Templates, a header and footer per pool, wrap-up questions, auto-responses and one
    library document, so the answering tools have something to show."""
    for name, language, subject, body in TEMPLATES:
        _get_or_create(
            ResponseTemplate, {"subject": subject, "body": body}, name=name, language=language
        )
    for pool in pools.values():
        _get_or_create(
            PoolLayout,
            {
                "header": "Dear {{ customer_name }},",
                "footer": f"Kind regards,\n{{{{ agent_name }}}}\n{pool.name} team\n\n"
                "Please keep {{ case_number }} in the subject when you write to us.",
            },
            pool_id=pool.id,
            language="en",
        )
        pool.auto_response_enabled = True
        pool.auto_response_text = pool.auto_response_text or (
            "Thank you for writing to us. Your case number is {case_number}; "
            "we will answer within {hours} business hours."
        )
    seed_questionnaires(pools)
    pools["Sales"].close_policy = ClosePolicy.SUPERVISORS.value
    price_list = _get_or_create(
        Document, {"description": "Current prices of every plan"}, name="Price list"
    )
    if not price_list.versions:
        content = b"Basic 9 EUR / Pro 29 EUR / Enterprise: ask\n"
        db.session.add(
            DocumentVersion(
                document=price_list,
                version=1,
                filename="price-list.txt",
                content_type="text/plain",
                size=len(content),
                content=content,
                sha256=hashlib.sha256(content).hexdigest(),
                uploaded_by_id=users["supervisor"].id,
            )
        )


# The demo desk looks like a working morning: what share of the cases is in which state, and
# when the open ones are due. Open cases are mostly due later today or tomorrow; a few are
# overdue (by hours, at most two days), some due within the next two hours.
FATES = (
    # fate, weight
    ("waiting", 20),  # received, nobody has claimed it yet
    ("in_progress", 30),
    ("consultation", 4),
    ("postponed", 6),
    ("awaiting_approval", 3),
    ("closed", 37),
)
DUE = (
    # bucket, weight, hours from now (low, high)
    ("overdue", 12, (-48, -0.5)),
    ("due_soon", 18, (0.1, 2)),
    ("due_later", 70, (2, 36)),
)
WRAP_UP_ANSWERS = [
    {
        "Was the customer's problem solved?": "yes",
        "Which product?": "Basic",
        "Refund issued?": "no",
    },
    {
        "Was the customer's problem solved?": "yes",
        "Which product?": "Pro",
        "Refund issued?": "yes, 12 EUR",
    },
    {"Was the customer's problem solved?": "no", "Which product?": "Enterprise"},
]
PRODUCTS = ["Basic", "Pro", "Enterprise"]


def seed_questionnaires(pools) -> None:
    """A "Which product?" dictionary, Billing's wrap-up asked on close and its exit survey."""
    products = _get_or_create(
        Dictionary, {"description": "The plans we sell"}, name="Which product?"
    )
    for position, value in enumerate(PRODUCTS, start=1):
        _get_or_create(
            DictionaryValue, {"position": position}, dictionary_id=products.id, value=value
        )
    billing = pools["Billing"]
    wrap_up = _get_or_create(
        Questionnaire,
        {"purpose": Purpose.WRAP_UP.value, "asked_on": AskedOn.CLOSE.value},
        name="Billing wrap-up",
        pool_id=billing.id,
    )
    survey = _get_or_create(
        Questionnaire,
        {"purpose": Purpose.EXIT_SURVEY.value, "asked_on": AskedOn.CLOSE.value},
        name="Billing exit survey",
        pool_id=billing.id,
    )
    questions = [
        (wrap_up, "Was the customer's problem solved?", QuestionKind.YES_NO, True, None),
        (wrap_up, "Which product?", QuestionKind.CHOICE, False, products),
        (wrap_up, "Refund issued?", QuestionKind.TEXT, False, None),
        (survey, "How satisfied are you with our answer?", QuestionKind.RATING, True, None),
        (survey, "What could we do better?", QuestionKind.TEXT, False, None),
    ]
    for position, (questionnaire, text, kind, required, dictionary) in enumerate(questions):
        _get_or_create(
            Question,
            {
                "position": position,
                "kind": kind.value,
                "required": required,
                "dictionary_id": dictionary.id if dictionary else None,
            },
            questionnaire_id=questionnaire.id,
            text=text,
        )


def _pick(rnd: random.Random, table):
    return rnd.choices(table, weights=[row[1] for row in table])[0]


def _due_and_received(rnd, now, pool):
    """(due, received) of an open case: due in one of the DUE buckets, received one SLA
    earlier (so the due time is what the pool's SLA gives)."""
    _bucket, _weight, (low, high) = _pick(rnd, DUE)
    sla = pool.sla_hours or 24
    high = min(high, sla - 0.25)  # received before now
    low = min(low, high - 0.1)
    due = now + timedelta(hours=rnd.uniform(low, high))
    return due, due - timedelta(hours=sla)


def seed_demo(cases: int = 300, random_seed: int = 7, password: str | None = None) -> str:
    """Seed configuration and ``cases`` cases with threads; returns a one-line summary."""
    rnd = random.Random(random_seed)
    config = seed_configuration(password)
    pools, users = config["pools"], config["users"]
    members = {name: [a[0] for a in AGENTS if name in a[4]] for name in pools}
    approval_pools = [name for name in pools if "agent6" in members[name]]
    topics = {t.name: t for t in db.session.query(Topic).all()}
    mailboxes = {
        p: db.session.query(Mailbox).filter_by(pool_id=pool.id).all() for p, pool in pools.items()
    }
    customers = []
    for i in range(max(20, cases // 3)):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        email = f"{first.lower()}.{last.lower()}{i}@example.com"
        customers.append(
            _get_or_create(
                Customer,
                {
                    "name": f"{first} {last}",
                    "organisation": rnd.choice(ORGS),
                    "language": rnd.choice(["en", "en", "de", "fr"]),
                },
                email=email,
            )
        )
    now = utcnow()
    # A generator of its own: the consultations do not change which cases the seed makes.
    consultation_rnd = random.Random(random_seed + 1)
    answers_rnd = random.Random(random_seed + 2)
    departments = config["departments"]
    for i in range(cases):
        fate = _pick(rnd, FATES)[0]
        pool_name = rnd.choice(approval_pools if fate == "awaiting_approval" else list(pools))
        pool = pools[pool_name]
        if fate == "closed":
            received = now - timedelta(hours=rnd.uniform(30, 24 * 30))
            due = received + timedelta(hours=pool.sla_hours or 24)
        else:
            due, received = _due_and_received(rnd, now, pool)
        customer = rnd.choice(customers)
        subject = rnd.choice(SUBJECTS[pool_name]).format(n=rnd.randint(2, 9999))
        topic = rnd.choice([t for t in topics.values() if t.effective("pool") is pool] or [None])
        mailbox = rnd.choice(mailboxes[pool_name])
        with acting_as(None):
            case = services.open_case(
                pool=pool,
                subject=subject,
                customer=customer,
                mailbox=mailbox,
                topic=topic,
                priority=rnd.choices(list(Priority), weights=[2, 6, 3, 1])[0],
                received_at=received,
                commit=False,
            )
            if topic is not None and topic.name in config["forms"]:
                version = config["forms"][topic.name]
                record_intake_answers(
                    case,
                    version.id,
                    version.schema,
                    demo_answers(answers_rnd, topic.name, now),
                )
            # The demo's working day: due times spread over today and tomorrow.
            case.sla_due_at = case.first_response_due_at = due
            case.resolution_due_at = max(due, case.resolution_due_at or due)
            db.session.add(
                Message(
                    case=case,
                    direction=MessageDirection.INBOUND,
                    from_address=customer.email,
                    to_addresses=mailbox.address,
                    subject=subject,
                    created_at=received,
                    body_text=f"Hello,\n\n{subject}. Could you please help?\n\nRegards,\n{customer.name}",
                    message_id=f"<demo-{random_seed}-{i}@example.com>",
                )
            )
            db.session.flush()  # the case exists: what happens next is in its history
        if fate == "waiting":
            continue
        agent_name = "agent6" if fate == "awaiting_approval" else rnd.choice(members[pool_name])
        agent = users[agent_name]
        with acting_as(agent):
            case.assignee = agent
            transition(case, CaseStatus.IN_PROGRESS.value, reason="claimed")
            answered = received + timedelta(hours=rnd.uniform(0.2, (pool.sla_hours or 24) * 0.8))
            replied = fate == "closed" or (answered < now and rnd.random() < 0.6)
            if fate == "awaiting_approval":
                replied = False
            if replied:
                answered = min(answered, now - timedelta(minutes=5))
                case.first_response_at = answered
                db.session.add(
                    Message(
                        case=case,
                        direction=MessageDirection.OUTBOUND,
                        author=agent,
                        from_address=mailbox.address,
                        to_addresses=customer.email,
                        subject=f"Re: {subject}",
                        created_at=answered,
                        body_text=f"Dear {customer.name},\n\nthank you for your message. "
                        f"We are on it.\n\nKind regards,\n{agent.first_name}",
                        message_id=f"<demo-{random_seed}-{i}-reply@loopdesk.example>",
                        in_reply_to=f"<demo-{random_seed}-{i}@example.com>",
                    )
                )
            if fate == "in_progress" and rnd.random() < 0.3:
                db.session.add(
                    Message(
                        case=case,
                        direction=MessageDirection.NOTE,
                        author=agent,
                        body_text="Checked the account; waiting for finance.",
                        created_at=min(answered, now),
                    )
                )
            elif fate == "consultation":
                transition(case, CaseStatus.UNDER_CONSULTATION.value, reason="consultation sent")
                _seed_consultation(consultation_rnd, case, agent, departments, now, answered=False)
            elif fate == "postponed":
                transition(case, CaseStatus.POSTPONED.value, reason="waiting for the customer")
                case.postponed_until = (now + timedelta(days=rnd.randint(1, 7))).replace(
                    minute=0, second=0, microsecond=0
                )
            elif fate == "awaiting_approval":
                written = reply_body(PENDING_REPLY_HTML)
                db.session.add(
                    Reply(
                        case=case,
                        author_id=agent.id,
                        language=customer.language or "en",
                        recipient=customer.email,
                        subject=f"Re: {subject} [{case.number}]",
                        body=written.text if written else "",
                        body_html=written.html if written else None,
                        status=ReplyStatus.PENDING,
                    )
                )
                transition(case, CaseStatus.AWAITING_APPROVAL.value, reason="reply needs approval")
            elif fate == "closed":
                if consultation_rnd.random() < 0.1:
                    _seed_consultation(
                        consultation_rnd, case, agent, departments, now, answered=True
                    )
                if questionnaires.questions_for(case, Moment.CLOSE):
                    questionnaires.record_answers(case, Moment.CLOSE, rnd.choice(WRAP_UP_ANSWERS))
                transition(case, CaseStatus.CLOSED.value, reason="answered")
                closed = answered + timedelta(hours=rnd.uniform(0.5, 72))
                case.closed_at = min(closed, now - timedelta(minutes=2))
            db.session.flush()
            if case.first_response_at is not None and case.is_open:
                # The answer set the resolution target on the calendar (the flush above);
                # the demo keeps its working day's spread of due times instead.
                case.resolution_due_at = case.sla_due_at = due
        if i % 50 == 49:
            db.session.commit()
    db.session.commit()
    automatic = seed_automatic_mail([m for ms in mailboxes.values() for m in ms])
    return (
        f"{len(pools)} pools, {sum(len(m) for m in mailboxes.values())} mailboxes, "
        f"{len(users)} users, {len(customers)} customers, {cases} cases, "
        f"{automatic} automatic mails"
    )


# Machine mail that threads to no case: the intake keeps it out of the queues, on the
# supervisors' Automatic mail list (Archive), where one can still open a case for it.
AUTOMATIC_MAIL = [
    (
        "From: Lena Park <lena.park@example.org>\r\nSubject: Out of office: your enquiry\r\n"
        "Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n",
        "I am out of the office until Monday and will read your message then.\r\n",
    ),
    (
        "From: Mail Delivery System <mailer-daemon@mx.example.net>\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n",
        "This is the mail system. Your message could not be delivered to "
        "nobody@example.net: user unknown.\r\n",
    ),
    (
        "From: Office Supplies Weekly <news@supplies.example>\r\nSubject: This week's offers\r\n"
        "Precedence: bulk\r\nList-Unsubscribe: <mailto:leave@supplies.example>\r\n",
        "Paper, toner and more at this week's prices.\r\n",
    ),
]


def seed_automatic_mail(mailboxes) -> int:
    """Hand a few automatic mails (out-of-office, a bounce, a newsletter) to the real intake."""
    for n, (headers, body) in enumerate(AUTOMATIC_MAIL):
        mailbox = mailboxes[n % len(mailboxes)]
        raw = (
            f"{headers}To: {mailbox.address}\r\nMessage-ID: <demo-auto-{n}@example.org>\r\n"
            f"Date: Thu, 03 Dec 2026 08:0{n}:00 +0000\r\n\r\n{body}"
        ).encode()
        receive(raw, mailbox=mailbox, source="import", source_ref="demo")
    return len(AUTOMATIC_MAIL)
