"""The portal's languages: English, Polish, Swedish and German, with Flask-Babel.

The texts are gettext catalogues in ``app/portal/translations/<lang>/LC_MESSAGES/portal.po``
(English is the msgid itself). They are compiled by the desk itself, in memory, the first time
a language is used in a process (Babel's ``write_mo``): there is no ``.mo`` file to forget to
build or to go stale. The portal's pages use them as Flask-Babel's domain of the request, so
templates write ``{{ _("…") }}``; the desk's own pages keep Flask-AppBuilder's catalogues.

The language of a page: a ``?lang=`` switch (kept in the session, and stored on the customer
when the page knows who he is), else the session's choice, else the customer's stored
language, else the browser's ``Accept-Language``, else the desk's default. Mails to the
customer use his stored language (``translate``).
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel import support
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, g, request, session
from flask_babel import Domain, get_babel, get_locale, refresh

LANGUAGES: dict[str, str] = {"en": "English", "pl": "Polski", "sv": "Svenska", "de": "Deutsch"}
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DOMAIN = "portal"
SESSION_KEY = "portal_language"


@cache
def catalogue(language: str) -> support.NullTranslations:
    """The compiled catalogue of ``language`` (English and unknown languages: the msgids)."""
    po = TRANSLATIONS / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == "en" or not po.is_file():
        return support.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return support.Translations(buffer, domain=DOMAIN)


class PortalDomain(Domain):
    """Flask-Babel's domain of the portal's requests: the catalogues above."""

    def __init__(self):
        super().__init__(domain=DOMAIN)

    def get_translations(self):
        locale = get_locale()
        return catalogue(locale.language if locale is not None else "en")


DOMAIN_INSTANCE = PortalDomain()


def normalise(value: str | None) -> str | None:
    """``value``'s portal language (``pl-PL`` → ``pl``), or None when it has none."""
    if not value:
        return None
    code = str(value).strip().replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else None


def default_language() -> str:
    return normalise(current_app.config.get("DESK_DEFAULT_LANGUAGE")) or "en"


def choose(customer=None) -> str:
    """The language of this page (see the module docstring); a ``?lang=`` switch is kept in
    the session and stored on ``customer`` (an Event, as every change of a customer)."""
    asked = normalise(request.args.get("lang"))
    if asked:
        session[SESSION_KEY] = asked
        if customer is not None and customer.language != asked:
            customer.language = asked
    language = (
        asked
        or normalise(session.get(SESSION_KEY))
        or (normalise(customer.language) if customer is not None else None)
        or normalise(request.accept_languages.best_match(list(LANGUAGES)))
        or default_language()
    )
    g.portal_language = language
    refresh()  # a locale asked for earlier in this request is asked again
    return language


def current() -> str:
    return g.get("portal_language") or default_language()


def gettext(message: str, **values) -> str:
    """``message`` in this page's language, with ``%(name)s`` values filled in."""
    text = catalogue(current()).ugettext(message)
    return text % values if values else text


def translate(language: str | None, message: str, **values) -> str:
    """``message`` in ``language`` (a mail to a customer in his language)."""
    text = catalogue(normalise(language) or default_language()).ugettext(message)
    return text % values if values else text


def use_portal_domain() -> None:
    """``before_request`` of the portal: its templates' ``_()`` read the portal catalogues."""
    DOMAIN_INSTANCE.as_default()
    g.portal_language = g.get("portal_language") or choose()


def install(app: Flask) -> None:
    """The portal's language wins on its pages; Flask-AppBuilder's choice everywhere else."""
    babel = get_babel(app)
    desk_selector = babel.locale_selector

    def select_locale():
        chosen = g.get("portal_language")
        if chosen:
            return chosen
        return desk_selector() if desk_selector is not None else None

    babel.locale_selector = select_locale
    desk_timezone = babel.timezone_selector

    def select_timezone():
        # The portal's dates (received, due) in the desk's time zone, as its mails say them.
        if g.get("portal_language"):
            return current_app.config.get("DESK_TIMEZONE") or "UTC"
        return desk_timezone() if desk_timezone is not None else None

    babel.timezone_selector = select_timezone
