"""Knowledge base articles of the demo desk (``desk init --demo`` calls ``seed_articles``)."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.actor import acting_as
from app.extensions import db
from app.knowledge import services
from app.knowledge.models import KnowledgeArticle

REFUND = {
    "en": (
        "How do I get a refund?",
        "<p>You can return an order within <strong>14 days</strong> of delivery:</p>"
        "<ol><li>Open the order in your account.</li><li>Choose <em>Return items</em>.</li>"
        "<li>Send the parcel with the label we mail you.</li></ol>"
        "<p>The money is back on your card within 5 business days of our receiving the parcel.</p>",
    ),
    "pl": (
        "Jak otrzymać zwrot pieniędzy?",
        "<p>Zamówienie można zwrócić w ciągu <strong>14 dni</strong> od dostawy:</p>"
        "<ol><li>Otwórz zamówienie na swoim koncie.</li><li>Wybierz <em>Zwróć produkty</em>.</li>"
        "<li>Wyślij paczkę z etykietą, którą prześlemy e-mailem.</li></ol>"
        "<p>Zwrot płatności trafi na kartę w ciągu 5 dni roboczych od otrzymania paczki.</p>",
    ),
    "de": (
        "Wie bekomme ich mein Geld zurück?",
        "<p>Sie können eine Bestellung innerhalb von <strong>14 Tagen</strong> nach Lieferung "
        "zurückgeben:</p><ol><li>Öffnen Sie die Bestellung in Ihrem Konto.</li>"
        "<li>Wählen Sie <em>Artikel zurücksenden</em>.</li>"
        "<li>Senden Sie das Paket mit dem Etikett, das wir Ihnen mailen.</li></ol>"
        "<p>Die Rückerstattung erfolgt innerhalb von 5 Werktagen nach Eingang des Pakets.</p>",
    ),
    "sv": (
        "Hur får jag pengarna tillbaka?",
        "<p>Du kan returnera en beställning inom <strong>14 dagar</strong> efter leverans:</p>"
        "<ol><li>Öppna beställningen i ditt konto.</li><li>Välj <em>Returnera varor</em>.</li>"
        "<li>Skicka paketet med etiketten vi mejlar dig.</li></ol>"
        "<p>Pengarna finns på ditt kort inom 5 arbetsdagar efter att vi fått paketet.</p>",
    ),
}

PASSWORD = {
    "en": (
        "Resetting your password",
        '<p>Go to the <a href="https://example.com/login">login page</a> and choose '
        "<strong>Forgot password</strong>. The mail with the reset link arrives within a few "
        "minutes; please also look in your spam folder.</p>"
        "<p>The link is valid for one hour.</p>",
    ),
    "pl": (
        "Jak zresetować hasło",
        '<p>Przejdź do <a href="https://example.com/login">strony logowania</a> i wybierz '
        "<strong>Nie pamiętam hasła</strong>. Wiadomość z linkiem dotrze w ciągu kilku minut; "
        "sprawdź też folder spam.</p><p>Link jest ważny przez godzinę.</p>",
    ),
    "de": (
        "Passwort zurücksetzen",
        '<p>Öffnen Sie die <a href="https://example.com/login">Anmeldeseite</a> und wählen Sie '
        "<strong>Passwort vergessen</strong>. Die Mail mit dem Link kommt in wenigen Minuten; "
        "bitte sehen Sie auch im Spam-Ordner nach.</p><p>Der Link gilt eine Stunde.</p>",
    ),
}

ARTICLES = [
    # versions, pools, public, status, tags
    (REFUND, ["Billing"], True, "published", "refund, return, money"),
    (
        {
            "en": (
                "Correcting an invoice",
                "<p>We have corrected your invoice and sent the new one to your address on "
                "file. The old invoice is <em>cancelled</em>; you do not need to do anything "
                "with it.</p>",
            ),
            "de": (
                "Korrektur einer Rechnung",
                "<p>Wir haben Ihre Rechnung korrigiert und die neue an Ihre hinterlegte Adresse "
                "geschickt. Die alte Rechnung ist <em>storniert</em>.</p>",
            ),
        },
        ["Billing"],
        False,
        "published",
        "invoice, vat",
    ),
    (
        {
            "en": (
                "Double charge on a card",
                "<p>A second charge you see is a <strong>reservation</strong> by your bank; it "
                "disappears within 7 days without any action on your side.</p>",
            )
        },
        ["Billing"],
        False,
        "published",
        "card, payment, refund",
    ),
    (PASSWORD, ["Technical support"], True, "published", "password, login"),
    (
        {
            "en": (
                "The app crashes on start",
                "<p>Please try these steps:</p><ul><li>update the app to the latest version;</li>"
                "<li>restart your phone;</li><li>reinstall the app (your data stays in your "
                "account).</li></ul><p>If it still crashes, reply with your phone model.</p>",
            )
        },
        ["Technical support"],
        False,
        "published",
        "app, crash",
    ),
    (
        {
            "en": (
                "Our opening hours",
                "<p>We answer mail Monday to Friday, 8:00–17:00.</p>",
            ),
            "pl": ("Godziny pracy", "<p>Odpowiadamy od poniedziałku do piątku, 8:00–17:00.</p>"),
            "sv": ("Våra öppettider", "<p>Vi svarar måndag till fredag, 8.00–17.00.</p>"),
            "de": ("Unsere Öffnungszeiten", "<p>Wir antworten Montag bis Freitag, 8–17 Uhr.</p>"),
        },
        [],
        True,
        "published",
        "hours",
    ),
    (
        {"en": ("Discount for NGOs", "<p>To be agreed with the sales lead.</p>")},
        ["Sales"],
        False,
        "draft",
        "discount",
    ),
]


def seed_articles(pools: dict) -> int:
    """The demo articles, once (none are added when the desk already has articles)."""
    if db.session.scalar(select(KnowledgeArticle.id).limit(1)) is not None:
        return 0
    with acting_as(None):
        for versions, pool_names, public, status, tags in ARTICLES:
            services.save_article(
                None,
                services.ArticleInput(
                    versions=versions,
                    tags=tags,
                    pool_ids=[pools[name].id for name in pool_names],
                    public=public,
                    status=status,
                ),
            )
    return len(ARTICLES)
