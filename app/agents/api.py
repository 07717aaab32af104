"""REST API of absences (``/api/v1/absence/``): the same checks and hand-over as the pages.

An agent records his own absences, a supervisor those of the agents of his pools (the write
rule); every absence is checked by ``app.agents.absences.check_absence`` and, once started,
hands the agent's open cases over at once (``absence_saved``).
"""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface
from marshmallow import Schema, fields

from app.agents import absences
from app.agents.models import Absence
from app.core.views import DeskModelRestApi
from app.extensions import db

FIELDS = ["id", "agent_id", "starts_at", "ends_at", "substitute_id", "note"]


class AbsenceSchema(Schema):
    """An absence as the API answers it: ids, not nested rows (two relations to the agent
    profile would clash in the OpenAPI schemas)."""

    id = fields.Integer()
    agent_id = fields.Integer()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    substitute_id = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)


class AbsenceListSchema(AbsenceSchema):
    """The same fields in a list (a class of its own: one schema per place in the spec)."""


INPUT = ["agent", "starts_at", "ends_at", "substitute", "note"]


class AbsenceApi(DeskModelRestApi):
    datamodel = SQLAInterface(Absence)
    resource_name = "absence"
    class_permission_name = "Absence"
    list_columns = show_columns = FIELDS
    list_model_schema = AbsenceListSchema(many=True)
    show_model_schema = AbsenceSchema()
    add_columns = edit_columns = INPUT
    order_columns = ["starts_at", "ends_at"]
    base_order = ("starts_at", "desc")

    def clean(self, item):
        absences.check_absence(item)

    # The new row hangs off its agent before it is in the session: checking its related ids
    # and the write rule must not flush it half-made (SQLAlchemy warns and skips it).
    def pre_add(self, item):
        with db.session.no_autoflush:
            super().pre_add(item)

    def pre_update(self, item):
        with db.session.no_autoflush:
            super().pre_update(item)

    def post_add(self, item):
        absences.absence_saved(item)

    def post_update(self, item):
        absences.absence_saved(item)
