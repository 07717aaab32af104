"""The list widget of intake forms: FAB's list with an "Open designer" button on each row."""

from flask_appbuilder.widgets import ListWidget


class IntakeFormListWidget(ListWidget):
    template = "forms_designer/intake_form_list.html"
