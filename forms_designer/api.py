"""REST API of intake forms (``/api/v1/intakeform/``) and their versions
(``/api/v1/intakeformversion/``: the schema of each), read only, with the same record rules
as the pages (a supervisor sees his pools' forms and the desk-wide ones, an agent none).
Forms are designed, saved and published on the designer page (``forms_designer.services``)."""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.core.views import DeskModelRestApi
from forms_designer.models import IntakeForm, IntakeFormVersion

READ_ONLY = {"get", "get_list", "info"}


class IntakeFormApi(DeskModelRestApi):
    resource_name = "intakeform"
    datamodel = SQLAInterface(IntakeForm)
    class_permission_name = "IntakeForm"
    include_route_methods = READ_ONLY
    list_columns = show_columns = [
        "id",
        "name",
        "pool.id",
        "pool.name",
        "created_at",
        "versions.id",
        "versions.number",
        "versions.status",
    ]
    search_columns = ["name", "pool"]
    order_columns = ["id", "name", "created_at"]
    base_order = ("name", "asc")


class IntakeFormVersionApi(DeskModelRestApi):
    resource_name = "intakeformversion"
    datamodel = SQLAInterface(IntakeFormVersion)
    class_permission_name = "IntakeFormVersion"
    include_route_methods = READ_ONLY
    list_columns = ["id", "form.id", "form.name", "number", "status", "created_at", "published_at"]
    show_columns = list_columns + ["schema"]
    search_columns = ["form", "status", "number"]
    order_columns = ["id", "number", "created_at"]
    base_order = ("id", "asc")
