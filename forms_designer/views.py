"""Intake forms and their versions in the configuration menu.

The list shows each form with its versions and their status; publishing the draft and
starting a new draft from the current version are actions calling ``services``. The schema
itself is edited on the designer page, not here: versions are read-only in these views.
"""

from flask import Blueprint, current_app
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.audit.tracking import record_event
from app.core.views import DeskModelView
from app.extensions import db
from forms_designer import designer, services
from forms_designer.api import IntakeFormApi, IntakeFormVersionApi
from forms_designer.list_widget import IntakeFormListWidget
from forms_designer.models import IntakeForm, IntakeFormVersion


def _committed(func):
    def run(item):
        func(item)
        db.session.commit()

    return run


class IntakeFormVersionView(DeskModelView):
    datamodel = SQLAInterface(IntakeFormVersion)
    class_permission_name = "IntakeFormVersion"
    route_base = "/intake-form-versions"
    item_name = "Form version"
    base_permissions = ["can_list", "can_show"]
    base_order = ("number", "desc")
    list_columns = ["form", "number", "status", "created_by", "created_at", "published_at"]
    show_columns = [
        "form",
        "number",
        "status",
        "created_by",
        "created_at",
        "published_at",
        "published_by",
        "schema",
    ]
    search_columns = ["form", "status"]


class IntakeFormView(DeskModelView):
    datamodel = SQLAInterface(IntakeForm)
    class_permission_name = "IntakeForm"
    route_base = "/intake-forms"
    # "Open designer" on every row and on the detail page (forms_designer.designer).
    list_widget = IntakeFormListWidget
    show_template = "forms_designer/intake_form_show.html"
    item_name = "Intake form"
    list_columns = ["name", "pool", "versions_label", "created_at"]
    label_columns = {"versions_label": "Versions"}
    search_columns = ["name", "pool"]
    add_columns = edit_columns = ["name", "pool"]
    show_columns = ["name", "pool", "versions_label", "created_at"]
    related_views = [IntakeFormVersionView]

    def post_add(self, item):
        record_event(db.session, item, "created", new=item.name)
        db.session.commit()

    @action("publish", "Publish draft", "Publish the draft of the selected forms?", "fa-upload")
    def publish(self, items):
        return self.run_service(_committed(services.publish), items, "Published {items}.")

    @action(
        "new_draft",
        "New draft",
        "Start a draft from the current version of the selected forms?",
        "fa-pencil",
    )
    def new_draft(self, items):
        return self.run_service(
            _committed(services.new_draft_from_current), items, "Draft ready for {items}."
        )


# The designer's and the portal's scripts: /static/forms_designer/forms/visible_if.js, ...
assets = Blueprint(
    "forms_designer_assets",
    __name__,
    static_folder="static",
    static_url_path="/static/forms_designer",
)


def register(appbuilder) -> None:
    current_app.register_blueprint(assets)
    appbuilder.add_view(IntakeFormView, "Intake forms", icon="fa-wpforms", category="Configuration")
    appbuilder.add_view_no_menu(IntakeFormVersionView)
    appbuilder.add_api(IntakeFormApi)
    appbuilder.add_api(IntakeFormVersionApi)
    designer.register(appbuilder)
