"""Configuration views of questionnaires (with their questions) and of dictionaries (with their
values): supervisors keep their pools' questionnaires, admins and supervisors the dictionaries.

The write rules (``record_rules.WRITE_RULES``) and the checks in ``clean`` are asked by the
base view for every save, so the REST API (``api.py``) refuses the same rows.
"""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import SelectField

from app.core.views import DeskModelView
from app.errors import DeskError
from app.questionnaires.models import (
    ASKED_ON_LABELS,
    KIND_LABELS,
    PURPOSE_LABELS,
    Dictionary,
    DictionaryValue,
    Question,
    QuestionKind,
    Questionnaire,
)


def check_question(question: Question) -> None:
    """A question fits its kind: a dictionary choice has a dictionary, a multiple choice a
    dictionary or own options, a number range runs upwards."""
    kind = QuestionKind(question.kind)
    if kind is QuestionKind.CHOICE and question.dictionary is None:
        raise DeskError("A choice from a dictionary needs its dictionary.")
    if kind is QuestionKind.MULTIPLE and question.dictionary is None and not question.own_options:
        raise DeskError("A multiple choice needs a dictionary or its own options (one per line).")
    low, high = question.min_value, question.max_value
    if low is not None and high is not None and low > high:
        raise DeskError("The minimum is above the maximum.")


def check_questionnaire(questionnaire: Questionnaire) -> None:
    """A questionnaire belongs to a pool or to a mailbox, not both."""
    if (questionnaire.pool is None) == (questionnaire.mailbox is None):
        raise DeskError("A questionnaire belongs to a pool or to a mailbox: choose one of them.")


class DictionaryValueView(DeskModelView):
    datamodel = SQLAInterface(DictionaryValue)
    class_permission_name = "DictionaryValue"
    route_base = "/dictionaryvalues"
    item_name = "Dictionary value"
    list_columns = ["dictionary", "value", "position", "active"]
    add_columns = edit_columns = show_columns = ["dictionary", "value", "position", "active"]
    search_columns = ["dictionary", "value", "active"]
    base_order = ("position", "asc")


class DictionaryView(DeskModelView):
    datamodel = SQLAInterface(Dictionary)
    class_permission_name = "Dictionary"
    route_base = "/dictionaries"
    list_columns = ["name", "description", "active"]
    add_columns = edit_columns = show_columns = ["name", "description", "active"]
    search_columns = ["name", "active"]
    related_views = [DictionaryValueView]
    base_order = ("name", "asc")


_QUESTION_FIELDS = [
    "questionnaire",
    "position",
    "text",
    "kind",
    "required",
    "dictionary",
    "options",
    "min_value",
    "max_value",
    "active",
]


class QuestionView(DeskModelView):
    datamodel = SQLAInterface(Question)
    class_permission_name = "Question"
    route_base = "/questions"
    list_columns = ["questionnaire", "position", "text", "kind_label", "required", "active"]
    add_columns = edit_columns = show_columns = _QUESTION_FIELDS
    search_columns = ["questionnaire", "text", "kind", "active"]
    label_columns = {
        "kind_label": "Kind",
        "options": "Own options (multiple choice without a dictionary; one per line)",
        "min_value": "Minimum (numbers)",
        "max_value": "Maximum (numbers)",
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": SelectField(
            "Kind", choices=[(kind.value, label) for kind, label in KIND_LABELS.items()]
        ),
    }
    base_order = ("position", "asc")

    def clean(self, item):
        check_question(item)


class QuestionnaireView(DeskModelView):
    datamodel = SQLAInterface(Questionnaire)
    class_permission_name = "Questionnaire"
    route_base = "/questionnaires"
    list_columns = ["name", "purpose", "scope_label", "asked_on", "active"]
    add_columns = edit_columns = ["name", "purpose", "pool", "mailbox", "asked_on", "active"]
    show_columns = ["name", "purpose", "pool", "mailbox", "asked_on", "active"]
    search_columns = ["name", "purpose", "pool", "mailbox", "active"]
    label_columns = {"scope_label": "For", "asked_on": "Asked"}
    related_views = [QuestionView]
    add_form_extra_fields = edit_form_extra_fields = {
        "purpose": SelectField(
            "Purpose", choices=[(p.value, label) for p, label in PURPOSE_LABELS.items()]
        ),
        "asked_on": SelectField(
            "Asked (wrap-up)", choices=[(a.value, label) for a, label in ASKED_ON_LABELS.items()]
        ),
    }
    formatters_columns = {
        "purpose": lambda v: PURPOSE_LABELS.get(v, v),  # type: ignore[call-overload]
        "asked_on": lambda v: ASKED_ON_LABELS.get(v, v),  # type: ignore[call-overload]
    }
    base_order = ("name", "asc")

    def clean(self, item):
        check_questionnaire(item)


def register(appbuilder) -> None:
    # the API imports this module
    from app.questionnaires.api import AnswerApi, DictionaryApi, QuestionnaireApi

    appbuilder.add_view(
        QuestionnaireView, "Questionnaires", icon="fa-list-ol", category="Configuration"
    )
    appbuilder.add_view(QuestionView, "Questions", icon="fa-question", category="Configuration")
    appbuilder.add_view(DictionaryView, "Dictionaries", icon="fa-book", category="Configuration")
    appbuilder.add_view_no_menu(DictionaryValueView)
    appbuilder.add_api(QuestionnaireApi)
    appbuilder.add_api(AnswerApi)
    appbuilder.add_api(DictionaryApi)
