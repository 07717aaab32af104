"""What the department reads: the question mail and the reminder, as system templates.

Both are notices of the desk (``notice.consultation`` and ``notice.consultation_reminder``)
with a default text here; an admin or supervisor rewords them per language with a response
template of the same name (Answering → Templates), as with the customer notices. A
department gets the version in its own language (``Department.language``), else the desk
default. Besides the usual placeholders they have the consultation's own
(``PLACEHOLDERS``).
"""

from __future__ import annotations

import re

from app.answering import rendering

QUESTION = "notice.consultation"
REMINDER = "notice.consultation_reminder"

PLACEHOLDERS = {
    "department_name": "the consulted department's name",
    "question": "the agent's question",
    "consultation_sent": "when the consultation was sent, YYYY-MM-DD HH:MM (UTC)",
    "consultation_deadline": "when the department should answer, YYYY-MM-DD HH:MM (UTC)",
    "consulting_agent": "the full name of the agent who asks",
}

DEFAULT_TEXTS = {
    QUESTION: (
        "Question about case {{ case_number }}: {{ case_subject }}",
        "Dear colleagues of {{ department_name }},\n\n{{ consulting_agent }} asks you about "
        "case {{ case_number }} ({{ case_subject }}):\n\n{{ question }}\n\n"
        "Please answer by {{ consultation_deadline }} (UTC), simply by replying to this mail; "
        "your answer goes to the case, not to the customer.\n\n{{ desk_name }}",
    ),
    REMINDER: (
        "Reminder: question about case {{ case_number }}",
        "Dear colleagues of {{ department_name }},\n\non {{ consultation_sent }} (UTC) "
        "{{ consulting_agent }} asked you about case {{ case_number }} ({{ case_subject }}) "
        "and hoped for your answer by {{ consultation_deadline }} (UTC):\n\n{{ question }}\n\n"
        "Please reply to this mail; your answer goes to the case, not to the customer.\n\n"
        "{{ desk_name }}",
    ),
}

# "[Consultation 7]" in the subject: a reply whose client lost the Message-IDs still finds
# its consultation (accepted only from the department's own address).
TAG_RE = re.compile(r"\[Consultation (\d{1,12})\]")


def subject_tag(consultation_id: int) -> str:
    return f"[Consultation {consultation_id}]"


def find_tag(subject: str | None) -> int | None:
    match = TAG_RE.search(subject or "")
    return int(match.group(1)) if match else None


def register_placeholders() -> None:
    """Tell the template editor which placeholders these notices have."""
    for name in DEFAULT_TEXTS:
        rendering.NOTICE_PLACEHOLDERS[name] = PLACEHOLDERS


def _fmt(value) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else ""


def render(name: str, consultation) -> tuple[str, str]:
    """(subject with the consultation tag, text) of ``name`` for ``consultation``."""
    case, department = consultation.case, consultation.department
    agent = consultation.asked_by
    context = rendering.placeholder_context(case, agent)
    full_name = context["agent_name"]
    context.update(
        department_name=department.name,
        question=consultation.question,
        consultation_sent=_fmt(consultation.sent_at),
        consultation_deadline=_fmt(consultation.deadline_at),
        consulting_agent=full_name or getattr(agent, "username", "") or "",
    )
    template = rendering.pick_template(name, case, language=department.language)
    subject_src, body_src = DEFAULT_TEXTS[name]
    if template is not None:
        subject_src, body_src = template.subject or subject_src, template.body
    subject = rendering.render_text(subject_src, context, what=name)
    body = rendering.render_text(body_src, context, what=name)
    subject = " ".join(subject.split())  # one line
    return f"{subject} {subject_tag(consultation.id)}", body
