"""Customer list and detail, limited to customers of the user's cases."""

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.core.views import DeskModelRestApi, DeskModelView
from app.customers.models import Customer


class CustomerView(DeskModelView):
    datamodel = SQLAInterface(Customer)
    class_permission_name = "Customer"
    route_base = "/customers"
    base_permissions = ["can_list", "can_show", "can_edit"]
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
    edit_columns = ["name", "organisation", "language", "notes"]
    base_order = ("email", "asc")


class CustomerApi(DeskModelRestApi):
    resource_name = "customer"
    datamodel = SQLAInterface(Customer)
    class_permission_name = "Customer"
    include_route_methods = {"get", "get_list", "info", "put"}
    list_columns = ["id", "email", "name", "organisation", "language", "undeliverable"]
    show_columns = list_columns + ["notes", "created_at"]
    edit_columns = ["name", "organisation", "language", "notes"]
    search_columns = ["email", "name", "organisation"]


def register(appbuilder) -> None:
    appbuilder.add_view(CustomerView, "Customers", icon="fa-address-book", category="Desk")
    appbuilder.add_api(CustomerApi)
