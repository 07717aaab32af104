"""Intake forms as plain records until the drag-and-drop designer arrives."""

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.core.views import DeskModelView
from forms_designer import designer
from forms_designer.list_widget import IntakeFormListWidget
from forms_designer.models import IntakeForm


class IntakeFormView(DeskModelView):
    datamodel = SQLAInterface(IntakeForm)
    class_permission_name = "IntakeForm"
    route_base = "/intake-forms"
    # "Open designer" on every row and on the detail page (forms_designer.designer).
    list_widget = IntakeFormListWidget
    show_template = "forms_designer/intake_form_show.html"
    list_columns = ["name", "version", "published", "created_at"]
    search_columns = ["name", "published"]
    add_columns = edit_columns = ["name", "version", "published"]
    show_columns = ["name", "version", "published", "schema", "created_at"]


def register(appbuilder) -> None:
    appbuilder.add_view(IntakeFormView, "Intake forms", icon="fa-wpforms", category="Configuration")
    designer.register(appbuilder)
