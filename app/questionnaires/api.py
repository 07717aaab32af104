"""REST API: questionnaires with their questions (``/api/v1/questionnaire/``), the
dictionaries with their values (``/api/v1/dictionary/``) and answers, read only
(``/api/v1/answer/``); the same record rules as the pages. Answers are given with
the case actions (``close``, ``reply``: ``"answers"``), never written here."""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.core.views import DeskModelRestApi
from app.questionnaires.models import Answer, Dictionary, Questionnaire

READ_ONLY = {"get", "get_list", "info"}


class QuestionnaireApi(DeskModelRestApi):
    resource_name = "questionnaire"
    datamodel = SQLAInterface(Questionnaire)
    class_permission_name = "Questionnaire"
    include_route_methods = READ_ONLY
    list_columns = show_columns = [
        "id",
        "name",
        "purpose",
        "asked_on",
        "active",
        "pool.id",
        "pool.name",
        "mailbox.id",
        "mailbox.address",
        "questions.id",
        "questions.text",
        "questions.kind",
        "questions.required",
        "questions.position",
    ]


class AnswerApi(DeskModelRestApi):
    resource_name = "answer"
    datamodel = SQLAInterface(Answer)
    class_permission_name = "Answer"
    include_route_methods = READ_ONLY
    list_columns = show_columns = [
        "id",
        "case.id",
        "case.number",
        "question.id",
        "question.text",
        "questionnaire.id",
        "questionnaire.name",
        "value_text",
        "value_number",
        "dictionary_value.id",
        "dictionary_value.value",
        "answered_by.username",
        "answered_at",
        "context",
    ]
    search_columns = ["case", "question", "questionnaire", "context", "dictionary_value"]
    order_columns = ["answered_at", "id"]


class DictionaryApi(DeskModelRestApi):
    resource_name = "dictionary"
    datamodel = SQLAInterface(Dictionary)
    class_permission_name = "Dictionary"
    include_route_methods = READ_ONLY
    list_columns = show_columns = [
        "id",
        "name",
        "description",
        "active",
        "values.id",
        "values.value",
        "values.position",
        "values.active",
    ]
    search_columns = ["name", "active"]
    order_columns = ["id", "name"]
    base_order = ("name", "asc")
