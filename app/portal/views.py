"""The public pages of the customer portal (``/portal/…``): no desk login, in the customer's
language (``app.portal.i18n``).

A case page is opened by the signed, expiring link every mail to the customer carries
(``app.answering.portal``); ``/portal/login`` mails a one-time link that opens a session
listing all his cases. An expired link says so (410) and offers a fresh one; a forged one is
not found (404) and shows nothing of anybody. Every POST carries the CSRF token, is counted by
Flask-Limiter per client address (``PORTAL_RATE_LIMIT``) and, on the public forms, has a
honeypot field that people never see and robots fill in.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeSerializer

from app.answering import portal as links
from app.answering import templates as notices
from app.cases.models import Case
from app.cases.views import form_answers
from app.cases.workflow import CaseStatus
from app.customers.models import Customer
from app.errors import DeskError
from app.extensions import db
from app.mail import store
from app.mail.models import Attachment
from app.portal import i18n, intake, services
from app.portal.settings import setting
from app.questionnaires import services as questionnaires
from app.questionnaires.models import Moment, QuestionKind
from forms_designer.builder import form_class_of, validate_submission
from forms_designer.schema import fields_of, languages_of, text_in

SESSION_CUSTOMER = "portal_customer_id"
HONEYPOT = "website"
SURVEY_ANSWER_PREFIX = "survey::"
_CLOSURE_SALT = "loopdesk-portal-survey-closure"


def _address() -> str:
    return get_remote_address() or "unknown"


def _honeypot_filled() -> bool:
    return bool(request.form.get(HONEYPOT, "").strip())


def _page(template: str, status: int = 200, **context):
    context.setdefault("languages", i18n.LANGUAGES)
    context.setdefault("language", i18n.current())
    context.setdefault("signed_in", session.get(SESSION_CUSTOMER) is not None)
    return render_template(f"portal/{template}", **context), status


def _signed_in_customer() -> Customer | None:
    customer_id = session.get(SESSION_CUSTOMER)
    customer = db.session.get(Customer, customer_id) if isinstance(customer_id, int) else None
    return customer


def _language_for(customer: Customer | None) -> str:
    before = customer.language if customer is not None else None
    language = i18n.choose(customer)
    if customer is not None and customer.language != before:
        db.session.commit()  # the ?lang= switch is kept for his mails
    return language


# --- login link ---------------------------------------------------------------------------


def home():
    if _signed_in_customer() is not None:
        return redirect(url_for("portal.cases"))
    return redirect(url_for("portal.login"))


def login():
    """Ask for a one-time login link: the same answer whether or not the address is known."""
    _language_for(_signed_in_customer())
    if request.method == "GET":
        return _page("login.html")
    email = services.normalise_email(request.form.get("email"))
    if not services.looks_like_email(email):
        return _page(
            "login.html",
            400,
            email=request.form.get("email", ""),
            error=i18n.gettext("Enter your e-mail address, e.g. name@example.com."),
        )
    if not _honeypot_filled():
        services.request_login_link(email, address=_address())
    return _page("login_sent.html", email=email)


def login_link(secret):
    """A login link: GET shows a button (mail scanners follow links and must not use it up),
    POST uses it and opens the session."""
    _language_for(None)
    link = services.login_link(secret)
    if link is None:
        return _page("login_expired.html", 410)
    if request.method == "GET":
        return _page("login_confirm.html", secret=secret, customer=link.customer)
    chosen = i18n.normalise(session.get(i18n.SESSION_KEY))  # switched to before signing in
    customer = services.redeem_login_link(secret, address=_address())
    session.clear()
    session[SESSION_CUSTOMER] = customer.id
    if chosen and chosen != customer.language:
        customer.language = chosen  # his choice, kept for his mails
        db.session.commit()
    session[i18n.SESSION_KEY] = (
        chosen or i18n.normalise(customer.language) or i18n.default_language()
    )
    return redirect(url_for("portal.cases"))


def logout():
    session.pop(SESSION_CUSTOMER, None)
    return redirect(url_for("portal.login"))


def cases():
    """All cases of the signed-in customer."""
    customer = _signed_in_customer()
    if customer is None:
        _language_for(None)
        return redirect(url_for("portal.login"))
    _language_for(customer)
    found = services.cases_of(customer)
    return _page(
        "cases.html",
        customer=customer,
        cases=found,
        tokens={c.id: links.portal_token(c) for c in found},
    )


# --- the case page ------------------------------------------------------------------------


def _case_or_page(token):
    """The case of a valid link, or the page to answer instead (404 forged, 410 expired)."""
    link = links.read_portal_token(token)
    if link is None:
        _language_for(None)
        return None, _page("not_found.html", 404)
    _language_for(link.case.customer)
    if link.expired:
        return None, _page(
            "expired.html",
            410,
            case=link.case,
            token=token,
            days=links.max_age_seconds() // 86400,
        )
    return link.case, None


def _case_page(case: Case, token: str, status: int = 200, **extra):
    open_survey = case.status == CaseStatus.CLOSED and _survey_open(case)
    return _page(
        "case.html",
        status,
        case=case,
        token=token,
        messages=services.portal_messages(case),
        may_close=services.may_close(case),
        survey_open=open_survey,
        max_mb=setting("PORTAL_UPLOAD_MAX_MB"),
        max_files=setting("PORTAL_UPLOAD_MAX_FILES"),
        accept=",".join("." + e for e in sorted(services.ALLOWED_EXTENSIONS)),
        **extra,
    )


def case(token):
    found, page = _case_or_page(token)
    if found is None:
        return page
    return _case_page(found, token, notice=request.args.get("done"))


def _uploads(name: str = "attachments") -> list[services.Upload]:
    return [
        services.Upload(f.filename, f.mimetype or "application/octet-stream", f.read())
        for f in request.files.getlist(name)
        if f and f.filename
    ]


def reply(token):
    """The customer writes on his case; it goes through the mail intake like his mail."""
    limit = setting("PORTAL_UPLOAD_MAX_MB") * 1024 * 1024
    request.max_content_length = 3 * limit + 1024 * 1024  # before the form is read
    found, page = _case_or_page(token)
    if found is None:
        return page
    text = request.form.get("text", "")
    if _honeypot_filled():
        return _case_page(
            found, token, 400, form_error=i18n.gettext("Your message could not be sent.")
        )
    try:
        written = services.reply(found, text, _uploads())
    except services.UploadProblem as exc:
        db.session.rollback()
        return _case_page(found, token, 400, text=text, upload_error=str(exc))
    except DeskError as exc:
        db.session.rollback()
        return _case_page(found, token, exc.status_code, text=text, text_error=str(exc))
    if written.id != found.id:
        return redirect(url_for("portal.case", token=links.portal_token(written), done="new"))
    return redirect(url_for("portal.case", token=token, done="sent"))


def close(token):
    """The customer closes his case himself (no closing mail: he is here); on to the exit
    survey when his pool has one."""
    found, page = _case_or_page(token)
    if found is None:
        return page
    if not services.may_close(found):
        return _case_page(
            found, token, 409, form_error=i18n.gettext("This case cannot be closed now.")
        )
    services.close(found)
    if questionnaires.has_exit_survey(found):
        return redirect(url_for("portal.survey", token=token))
    return redirect(url_for("portal.case", token=token, done="closed"))


def fresh_link(token):
    """Mail a fresh link to the customer on file of the case an expired link names; the page
    says the same whether or not a mail left."""
    link = links.read_portal_token(token)
    if link is None:
        _language_for(None)
        return _page("not_found.html", 404)
    _language_for(link.case.customer)
    if link.expired:
        notices.send_fresh_portal_link(link.case)
    return _page("fresh_link.html", case=link.case)


def attachment(token, attachment_id):
    """A file of a message the customer sees (never one of a note or a consultation)."""
    found, page = _case_or_page(token)
    if found is None:
        return page
    row = db.session.get(Attachment, attachment_id)
    if row is None or row.message is None or row.message not in services.portal_messages(found):
        return _page("not_found.html", 404)
    return send_file(
        store.open_blob(row.sha256),
        mimetype=row.content_type,
        as_attachment=True,
        download_name=row.filename or f"attachment-{row.id}",
    )


# --- a new case ---------------------------------------------------------------------------


def new_case_topics():
    """Step one of a new case: the topic tree, in his language."""
    customer = _signed_in_customer()
    language = _language_for(customer)
    return _page("new_topics.html", topics=intake.topic_choices(language))


def _new_case_page(topic, version, status=200, *, errors=None, form=None, values=None):
    language = i18n.current()
    schema = version.schema if version is not None else None
    if schema is not None and form is None:
        form = form_class_of(version, language)(formdata=None, meta={"csrf": False})
    customer = _signed_in_customer()
    given = values or {}
    layout = []
    if schema is not None:
        languages = languages_of(schema)
        layout = [
            {**spec, "label_text": text_in(spec.get("label"), language, languages)}
            for spec in fields_of(schema)
        ]
    return _page(
        "new_case.html",
        status,
        layout=layout,
        topic=topic,
        topic_name=topic.name_in(language),
        version=version,
        schema=schema,
        form=form,
        errors=errors or {},
        email=given.get("email", customer.email if customer else ""),
        name=given.get("name", (customer.name or "") if customer else ""),
        subject=given.get("subject", ""),
        text=given.get("text", ""),
        max_mb=setting("PORTAL_UPLOAD_MAX_MB"),
        max_files=setting("PORTAL_UPLOAD_MAX_FILES"),
        accept=",".join("." + e for e in sorted(services.ALLOWED_EXTENSIONS)),
    )


def new_case(topic_id):
    """Step two: the topic's form, the message and files; a valid POST opens the case."""
    customer = _signed_in_customer()
    _language_for(customer)
    try:
        topic = intake.offered_topic(topic_id)
    except DeskError:
        return _page("not_found.html", 404)
    version = intake.form_version(topic)
    if request.method == "GET":
        return _new_case_page(topic, version)
    limit = setting("PORTAL_UPLOAD_MAX_MB") * 1024 * 1024
    request.max_content_length = 4 * limit + 1024 * 1024  # before the form is read
    # The page's own fields are "contact_…": a form's field keys cannot collide with them.
    values = {k: request.form.get(f"contact_{k}", "") for k in ("email", "name", "subject", "text")}
    if customer is not None:
        values["email"] = customer.email  # signed in: his own address
    language = i18n.current()
    errors: dict[str, list[str]] = {
        key: [problem]
        for key, problem in intake.check_contact(
            values["email"], values["subject"], values["text"]
        ).items()
    }
    answers: dict = {}
    form = None
    if version is not None:
        form_class = form_class_of(version, language)
        answers, field_errors = validate_submission(
            version.schema, request.form, request.files, language, form_class=form_class
        )
        errors.update({f"field:{k}": v for k, v in field_errors.items()})
        form = form_class(formdata=request.form, meta={"csrf": False})
    uploads = _uploads("contact_files")
    if not errors:
        try:
            services.check_uploads(uploads)
        except services.UploadProblem as exc:
            errors["attachments"] = [str(exc)]
    if errors or _honeypot_filled():
        if not errors:
            errors["form"] = [i18n.gettext("Your message could not be sent.")]
        return _new_case_page(topic, version, 400, errors=errors, form=form, values=values)
    try:
        case = intake.submit_portal_case(
            topic=topic,
            email=values["email"],
            name=values["name"],
            subject=values["subject"],
            text=values["text"],
            language=language,
            version=version,
            answers=answers,
            uploads=uploads,
        )
    except services.UploadProblem as exc:
        db.session.rollback()
        errors["attachments"] = [str(exc)]
        return _new_case_page(topic, version, 400, errors=errors, form=form, values=values)
    except DeskError as exc:
        db.session.rollback()
        errors["form"] = [str(exc)]
        return _new_case_page(
            topic, version, exc.status_code, errors=errors, form=form, values=values
        )
    return redirect(url_for("portal.created", token=links.portal_token(case)))


def created(token):
    """The case number and when we aim to answer, after a new case was submitted."""
    found, page = _case_or_page(token)
    if found is None:
        return page
    return _page("created.html", case=found, token=token)


# --- the exit survey ----------------------------------------------------------------------


def _closure_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_CLOSURE_SALT)


def closure_token(case: Case) -> str:
    """Names one closure of the case: a vote on the form it is in counts for that closure
    only (a case reopened and closed again asks again, with a new token)."""
    closed = case.closed_at.isoformat() if case.closed_at else ""
    return _closure_serializer().dumps({"case": case.id, "closed": closed})


def _closure_matches(case: Case, token: str) -> bool:
    try:
        data = _closure_serializer().loads(token or "")
    except BadSignature:
        return False
    closed = case.closed_at.isoformat() if case.closed_at else ""
    return isinstance(data, dict) and data.get("case") == case.id and data.get("closed") == closed


def _survey_open(case: Case) -> bool:
    return questionnaires.has_exit_survey(case) and not questionnaires.survey_answered(case)


def _preselected(questions) -> dict[str, str]:
    """A rating link in a mail (``?rating=4``) only ticks the first rating; it records
    nothing (mail scanners follow links)."""
    rating = request.args.get("rating", "")
    if not rating.isdigit() or not 1 <= int(rating) <= 5:
        return {}
    for question in questions:
        if question.kind == QuestionKind.RATING:
            return {f"{SURVEY_ANSWER_PREFIX}{question.id}": rating}
    return {}


def survey(token):
    """The exit survey of a closed case: GET shows it (a rating in the link is preselected),
    only an explicit POST with the closure's token records it, once per closure."""
    found, page = _case_or_page(token)
    if found is None:
        return page
    questions = questionnaires.questions_for(found, Moment.SURVEY)
    if not questions:
        return _page("not_found.html", 404)
    if found.status != CaseStatus.CLOSED:
        return redirect(url_for("portal.case", token=token))
    if questionnaires.survey_answered(found):
        return _page("survey_thanks.html", case=found, again=True, token=token)
    problem, status, given = None, 200, _preselected(questions)
    if request.method == "POST":
        given = {k: v for k, v in request.form.items() if k.startswith(SURVEY_ANSWER_PREFIX)}
        if _honeypot_filled() or not _closure_matches(found, request.form.get("closure", "")):
            problem, status = (
                i18n.gettext("This survey form is out of date; please answer again."),
                409,
            )
        else:
            try:
                questionnaires.record_survey(
                    found, form_answers(request.form, SURVEY_ANSWER_PREFIX)
                )
                db.session.commit()
            except DeskError as exc:
                db.session.rollback()
                problem, status = str(exc), exc.status_code
            else:
                return _page("survey_thanks.html", case=found, again=False, token=token)
    return _page(
        "survey.html",
        status,
        case=found,
        token=token,
        questions=questions,
        prefix=SURVEY_ANSWER_PREFIX,
        given=given,
        problem=problem,
        closure=closure_token(found),
    )


def too_many_requests(error):
    _language_for(None)
    return _page("too_many.html", 429)


def too_large(error):
    _language_for(None)
    return _page("too_large.html", 413, max_mb=3 * setting("PORTAL_UPLOAD_MAX_MB"))


# --- registration --------------------------------------------------------------------------

PUBLIC_POSTS = {"login", "login_link", "reply", "close", "survey", "fresh_link", "new_case"}


def make_blueprint(limiter) -> Blueprint:
    """The portal's routes for one app; its public POSTs counted by that app's limiter."""
    bp = Blueprint(
        "portal",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/portal/static",
    )
    bp.before_request(i18n.use_portal_domain)
    bp.register_error_handler(429, too_many_requests)
    bp.register_error_handler(413, too_large)

    def limited(view):
        if view.__name__ not in PUBLIC_POSTS:
            return view
        return limiter.limit(
            lambda: setting("PORTAL_RATE_LIMIT"), methods=["POST"], key_func=_address
        )(view)

    routes = [
        ("/portal/", "home", home, ["GET"]),
        ("/portal/login", "login", login, ["GET", "POST"]),
        ("/portal/login/<secret>", "login_link", login_link, ["GET", "POST"]),
        ("/portal/logout", "logout", logout, ["POST"]),
        ("/portal/cases", "cases", cases, ["GET"]),
        ("/portal/new", "new_case_topics", new_case_topics, ["GET"]),
        ("/portal/new/<int:topic_id>", "new_case", new_case, ["GET", "POST"]),
        ("/portal/created/<token>", "created", created, ["GET"]),
        ("/portal/case/<token>", "case", case, ["GET"]),
        ("/portal/case/<token>/reply", "reply", reply, ["POST"]),
        ("/portal/case/<token>/close", "close", close, ["POST"]),
        ("/portal/case/<token>/survey", "survey", survey, ["GET", "POST"]),
        ("/portal/case/<token>/fresh-link", "fresh_link", fresh_link, ["POST"]),
        (
            "/portal/case/<token>/attachment/<int:attachment_id>",
            "attachment",
            attachment,
            ["GET"],
        ),
    ]
    for rule, endpoint, view, methods in routes:
        bp.add_url_rule(rule, endpoint=endpoint, view_func=limited(view), methods=methods)
    return bp


def register(appbuilder) -> None:
    """Add the portal's public pages to a desk."""
    app = current_app._get_current_object()  # views are registered inside create_app's context
    i18n.install(app)
    app.register_blueprint(make_blueprint(appbuilder.sm.limiter))
