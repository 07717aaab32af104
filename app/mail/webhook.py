"""HTTP inbound webhook: ``POST /inbound/<mailbox address or id>`` with the raw MIME message as
the request body.

Authentication, per mailbox (``Mailbox.webhook_secret``; a mailbox without one accepts nothing):

* ``X-Loopdesk-Token: <secret>``, or
* ``X-Loopdesk-Signature: sha256=<hex HMAC-SHA256 of the body, keyed with the secret>``.

The answer is 2xx only once the message is stored (202 with the raw message id; processing
errors still answer 202: the mail is in quarantine, not lost); 401 without credentials, 403 with
wrong ones, 413 above ``INBOUND_MAX_BYTES``, 503 when it could not be stored (retry later).

``?process=later`` answers as soon as the mail is stored (``"status": "stored"``) and processes
it right after the answer, in the same worker: what the MTA pipe client asks for, since the MTA
only needs to know that the mail is safe, and an MTA process waiting for the case to be opened
would hold the next mail back. A worker that dies in between leaves the row ``stored``, which
the stale-rows job processes (``app.mail.tasks``).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from app.extensions import db
from app.mail import intake
from app.mail.models import RawMessage
from app.mail.sanitize import split_quoted
from app.mail.settings import setting
from app.mail.store import TooLarge
from app.mailcore.models import Mailbox

log = logging.getLogger(__name__)
bp = Blueprint("inbound", __name__)
DEFAULT_MAX_BYTES = 50 << 20
TOKEN_HEADER = "X-Loopdesk-Token"
SIGNATURE_HEADER = "X-Loopdesk-Signature"
PROCESS_LATER = "later"


def max_bytes() -> int:
    return int(setting("INBOUND_MAX_BYTES"))


def sign(secret: str, body: bytes) -> str:
    """The signature header value a sender puts on ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _mailbox(ref: str):
    if ref.isdigit():
        return db.session.get(Mailbox, int(ref))
    return db.session.scalar(select(Mailbox).where(Mailbox.address == ref.strip().lower()))


def _too_large():
    return jsonify(error=f"message larger than {max_bytes()} bytes"), 413


@bp.post("/inbound/<mailbox_ref>")
def inbound(mailbox_ref: str):
    mailbox = _mailbox(mailbox_ref)
    if mailbox is None or not mailbox.webhook_secret or not mailbox.active:
        return jsonify(error="no such mailbox, or its webhook is not enabled"), 404
    if request.content_length is not None and request.content_length > max_bytes():
        return _too_large()
    token = request.headers.get(TOKEN_HEADER)
    signature = request.headers.get(SIGNATURE_HEADER)
    if not token and not signature:
        return jsonify(error=f"authentication required: {TOKEN_HEADER} or {SIGNATURE_HEADER}"), 401
    secret = mailbox.webhook_secret
    recipient = request.args.get("recipient")
    now = request.args.get("process") != PROCESS_LATER
    try:
        if token:
            if not hmac.compare_digest(token.encode(), secret.encode()):
                return jsonify(error="wrong token"), 403
            result = intake.receive(
                request.stream, mailbox=mailbox, source="webhook", recipient=recipient, process=now
            )
        else:
            body = request.stream.read(max_bytes() + 1)
            if len(body) > max_bytes():
                return _too_large()
            if not hmac.compare_digest(signature.strip(), sign(secret, body)):
                return jsonify(error="wrong signature"), 403
            result = intake.receive(
                body, mailbox=mailbox, source="webhook", recipient=recipient, process=now
            )
    except TooLarge:
        return _too_large()
    except Exception as exc:
        log.exception("webhook: could not store a message for %s", mailbox.address)
        return jsonify(error=f"could not store the message, retry later: {type(exc).__name__}"), 503
    response = jsonify(raw_id=result.raw_id, status=result.status, case_id=result.case_id)
    response.status_code = 202
    if not now:
        app = current_app._get_current_object()
        response.call_on_close(functools.partial(_process_after_answer, app, result.raw_id))
    return response


def _process_after_answer(app, raw_id: int) -> None:
    """Process a mail stored by a ``?process=later`` call, once its answer has gone out."""
    with app.app_context():
        try:
            row = db.session.get(RawMessage, raw_id)
            if row is not None and row.status == "stored":
                intake.process_raw(row)
        except Exception:  # the row stays stored: the stale-rows job processes it
            log.exception("webhook: raw #%s stored, processing it failed", raw_id)
        finally:
            db.session.remove()


def register_webhook() -> None:
    """Add the blueprint to the app being built (exempt from CSRF: it is authenticated by
    secret, not by session) and the ``fold_quotes`` template filter for the case thread."""
    app = current_app._get_current_object()
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)
    app.add_template_filter(split_quoted, "fold_quotes")
