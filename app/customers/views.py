"""Customer list and detail, limited to customers of the user's cases; supervisors and admins
add customers and correct their names and addresses (each change is an Event)."""

from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import StringField
from wtforms.validators import InputRequired, ValidationError

from app.core.views import DeskModelRestApi, DeskModelView
from app.customers import services
from app.customers.models import Customer
from app.errors import DeskError


def address_validator(form, field):
    """The form says at the field what is wrong with an address (invalid or taken)."""
    try:
        field.data = services.clean_address(field.data)
        services.check_address_free(field.data, except_id=_pk(getattr(form, "_id", None)))
    except DeskError as exc:
        raise ValidationError(str(exc)) from None


def _pk(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _address_field():
    return StringField(
        "E-mail address",
        validators=[InputRequired(), address_validator],
        description="Mail to the customer goes here; a corrected address is tried again.",
    )


class CustomerView(DeskModelView):
    datamodel = SQLAInterface(Customer)
    class_permission_name = "Customer"
    route_base = "/customers"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    list_columns = ["email", "name", "organisation", "language", "undeliverable"]
    search_columns = ["email", "name", "organisation", "language"]
    show_columns = [
        "email",
        "name",
        "organisation",
        "language",
        "undeliverable",
        "notes",
        "created_at",
    ]
    add_columns = edit_columns = ["email", "name", "organisation", "language", "notes"]
    add_form_extra_fields = edit_form_extra_fields = {"email": _address_field()}
    label_columns = {"email": "E-mail address", "undeliverable": "Address bounces"}
    base_order = ("email", "asc")
    # His cases (cases feature, loaded with htmx) and, for admins, export and erasure.
    show_template = "customers/show.html"

    def clean(self, item):
        services.prepare_save(item)


class CustomerApi(DeskModelRestApi):
    resource_name = "customer"
    datamodel = SQLAInterface(Customer)
    class_permission_name = "Customer"
    include_route_methods = {"get", "get_list", "info", "put", "post"}
    list_columns = ["id", "email", "name", "organisation", "language", "undeliverable"]
    show_columns = list_columns + ["notes", "created_at"]
    add_columns = edit_columns = ["email", "name", "organisation", "language", "notes"]
    search_columns = ["email", "name", "organisation"]

    def clean(self, item):
        services.prepare_save(item)


def register(appbuilder) -> None:
    appbuilder.add_view(CustomerView, "Customers", icon="fa-address-book", category="Desk")
    appbuilder.add_api(CustomerApi)
