"""Doors onto ``app.privacy.services`` from the customer's page: export (a ZIP) and erasure
(a confirmation page: the reason, and the customer's address typed again)."""

from __future__ import annotations

import io

from flask import abort, flash, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user

from app.customers.models import Customer
from app.errors import DeskError
from app.extensions import db
from app.privacy import services


class CustomerPrivacyView(BaseView):
    """``/privacy/customer/<id>/export`` (POST: the ZIP) and ``/privacy/customer/<id>/erase``
    (GET: the confirmation page; POST: erase)."""

    route_base = "/privacy"
    class_permission_name = "CustomerPrivacy"
    method_permission_name = {"export": "export", "erase": "erase"}
    default_view = "erase"

    def _customer(self, customer_id) -> Customer:
        customer = db.session.get(Customer, customer_id)
        if customer is None:
            abort(404)
        return customer

    @expose("/customer/<int:customer_id>/export", methods=["POST"])
    @has_access
    def export(self, customer_id):
        customer = self._customer(customer_id)
        data = services.export_customer(customer, current_user)
        return send_file(
            io.BytesIO(data),
            mimetype="application/zip",
            as_attachment=True,
            download_name=f"customer-{customer.id}-personal-data.zip",
        )

    @expose("/customer/<int:customer_id>/erase", methods=["GET", "POST"])
    @has_access
    def erase(self, customer_id):
        customer = self._customer(customer_id)
        error = None
        if request.method == "POST":
            typed = (request.form.get("confirm_address") or "").strip().lower()
            if services.is_erased(customer):
                error = "This customer's personal data was erased already."
            elif typed != (customer.email or "").lower():
                error = "Type the customer's address exactly to confirm."
            else:
                try:
                    done = services.erase_customer(
                        customer, current_user, request.form.get("reason", "")
                    )
                except DeskError as exc:
                    db.session.rollback()
                    if exc.status_code in (403, 404):
                        raise
                    error = str(exc)
                else:
                    flash(f"Personal data erased: {done}.", "success")
                    if done.files_failed:
                        flash(
                            f"{len(done.files_failed)} files could not be removed; see the log.",
                            "danger",
                        )
                    return redirect(url_for("CustomerView.show", pk=customer_id))
        return (
            self.render_template(
                "privacy/erase.html",
                title="Erase personal data",
                customer=customer,
                held=services.describe(customer),
                erased=services.is_erased(customer),
                error=error,
                reason=request.form.get("reason", ""),
            ),
            400 if error else 200,
        )


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(CustomerPrivacyView)
