"""Base classes for the generated views and APIs: record rules built in, deletes opted out.

Every ``DeskModelView`` and ``DeskModelRestApi``:

* filters its rows with the record rules (``base_filters``), which Flask-AppBuilder applies to
  list, show, edit, search and the REST endpoints;
* filters every related-field dropdown (add, edit and search forms) with the record rules of
  the related model;
* re-checks the record rules for actions, which Flask-AppBuilder does not filter by itself;
* checks the model's write rule (``app.security.rules.ensure_may_change``: "only a supervisor
  of this pool may change it") for the row as loaded and as it would be saved, on add, edit
  and delete, so a REST endpoint for the same model keeps the same rule;
* deletes configuration only while nothing refers to it, and deactivates it otherwise
  (``app.core.retire``);
* offers no delete for closed-loop records (cases, messages, raw mail, events);
* has human titles ("Pools", "Pool", "New pool", "Edit pool") from ``item_name``, and
  column labels in sentence case ("Received at");
* refuses input longer than its column with a clear message (forms: WTForms ``Length``, the
  REST API: marshmallow ``Length``), never cutting it silently;
* labels the empty choice of optional dropdowns "—".

Subclasses put their own preparation of a row (normalising, checking a template renders) in
``clean(item)``, not in ``pre_add``/``pre_update``, so the write rule is never skipped.
"""

from __future__ import annotations

import re
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import flask_appbuilder.api as fab_api
import jsonschema
from flask import abort, flash, g, redirect, request
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.models.sqla.interface import SQLAInterface
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from sqlalchemy import String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, RelationshipProperty
from wtforms import BooleanField, SelectFieldBase, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from app.audit.tracking import NeverDeleted
from app.core.retire import retire
from app.errors import AccessDenied, DeskError
from app.extensions import appbuilder, db
from app.security.rules import RecordRule, ensure_may_change, is_visible

RULE = [["id", RecordRule, None]]


_VALIDATORS: dict[int, tuple[dict, Any]] = {}


def _validate(instance, schema) -> None:
    """``jsonschema.validate`` with the validator kept per schema: FAB's ``@rison`` checks
    its (constant) schema on every request, 7 ms of every REST list page."""
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cls = validator_for(schema)
        cls.check_schema(schema)
        cached = _VALIDATORS[id(schema)] = (schema, cls(schema))
    error = best_match(cached[1].iter_errors(instance))
    if error is not None:
        raise error


# FAB's ``rison`` decorator reads ``jsonschema.validate`` from its module's ``jsonschema``.
fab_api.jsonschema = SimpleNamespace(validate=_validate, ValidationError=jsonschema.ValidationError)


def _related_rules(model) -> dict:
    """``{relationship: [["id", RecordRule, None]]}`` for each relation of ``model``."""
    rules = {}
    for prop in model.__mapper__.iterate_properties:
        if isinstance(prop, RelationshipProperty):
            rules[prop.key] = [["id", RecordRule, None]]
    return rules


def _display_value(value):
    """Lists and detail pages: a dash for empty values, times to the minute, Yes/No for
    flags and related rows as "a, b" (not Python's ``True`` and ``[a, b]``)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value) or "–"
    return value


BLANK_CHOICE = "—"


def _unbound_fields(form_class):
    """(name, UnboundField) of each field a form class will build."""
    for name in dir(form_class):
        unbound = getattr(form_class, name, None)
        if getattr(unbound, "field_class", None) is not None:
            yield name, unbound


def _unrequire_checkboxes(form_class) -> None:
    """FAB marks checkboxes of NOT NULL boolean columns as required, so "off" could never be
    saved; a boolean always has a value, so drop those validators."""
    for _name, unbound in _unbound_fields(form_class):
        if issubclass(unbound.field_class, BooleanField):
            validators = unbound.kwargs.get("validators") or []
            unbound.kwargs["validators"] = [
                v for v in validators if not isinstance(v, (DataRequired, InputRequired))
            ]


def _label_blank_choices(form_class) -> None:
    """WTForms 3.3 shows an option's value when its label is empty, so the empty choice FAB
    adds to optional dropdowns read "__None"; it reads "—" instead."""
    for _name, unbound in _unbound_fields(form_class):
        if (
            issubclass(unbound.field_class, QuerySelectField)
            and unbound.kwargs.get("allow_blank")
            and not unbound.kwargs.get("blank_text")
        ):
            unbound.kwargs["blank_text"] = BLANK_CHOICE


def _style_plain_fields(form_class) -> None:
    """Extra fields a view declares with WTForms' own widgets (a ``SelectField`` of choices)
    get Bootstrap's ``form-control`` like FAB's, instead of a bare browser control."""
    for _name, unbound in _unbound_fields(form_class):
        if unbound.kwargs.get("widget") is not None or unbound.kwargs.get("render_kw"):
            continue
        if issubclass(unbound.field_class, SelectFieldBase) and not issubclass(
            unbound.field_class, QuerySelectField
        ):
            unbound.kwargs["render_kw"] = {"class": "form-control"}
        elif unbound.field_class is StringField:
            unbound.kwargs["render_kw"] = {"class": "form-control"}


def column_max_length(model, name: str) -> int | None:
    """The length of a String column of ``model`` (None for other columns and attributes)."""
    column = model.__table__.columns.get(name)
    if column is not None and isinstance(column.type, String) and column.type.length:
        return column.type.length
    return None


def _limit_text_fields(form_class, model) -> None:
    """Every text field that fills a String column refuses longer input with a clear error.

    FAB adds ``Length`` to the fields it generates; extra fields a view declares itself
    (``*_form_extra_fields``) get it here, so no form cuts a value silently.
    """
    for name, unbound in _unbound_fields(form_class):
        limit = column_max_length(model, name)
        if limit is None or not issubclass(unbound.field_class, StringField):
            continue
        if issubclass(unbound.field_class, SelectFieldBase):
            continue  # its choices bound it
        validators = list(unbound.kwargs.get("validators") or [])
        if not any(isinstance(v, Length) for v in validators):
            validators.append(Length(max=limit))
            unbound.kwargs["validators"] = validators


# Words that stay in capitals in labels.
ACRONYMS = {"smtp": "SMTP", "imap": "IMAP", "sla": "SLA", "id": "ID", "sha256": "SHA-256"}


def column_label(name: str) -> str:
    """A column's label in sentence case: "received_at" → "Received at", "smtp_host" →
    "SMTP host" (FAB writes "Received At", "Smtp Host")."""
    words = [ACRONYMS.get(w, w) for w in re.split(r"[._]+", name) if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def item_name_of(model) -> str:
    """The name of one record, for titles and messages: "CategoryRule" → "Category rule"."""
    words = re.sub(r"(?<=.)([A-Z])", r" \1", model.__name__).split()
    return " ".join([words[0]] + [w.lower() for w in words[1:]])


def plural(name: str) -> str:
    """English plural of an item name ("Mailbox" → "Mailboxes", "Category" → "Categories")."""
    if re.search(r"[^aeiou]y$", name):
        return name[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", name):
        return name + "es"
    return name + "s"


_PAGE_ARG = re.compile(r"^(page|psize)_")
_ORDER_ARG = re.compile(r"^_oc_(.+)$")
_FILTER_ARG = re.compile(r"^_flt_(\d)_(.+)$")
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 1000


def _view_named(name: str):
    for view in appbuilder().baseviews:
        if type(view).__name__ == name:
            return view
    return None


def _orderable_columns(view_name: str) -> set[str]:
    return set(getattr(_view_named(view_name), "order_columns", None) or ())


def _check_filter(name: str, index: int, column: str, values: list[str]) -> None:
    """A ``_flt_<n>_<column>`` filter exists on the requested view, and a number it compares
    with fits the database's integers (FAB passes ``99999999999999999999`` on as it is)."""
    view = _view_named((request.endpoint or "").split(".")[0])
    filters = getattr(view, "_filters", None)
    offered = getattr(filters, "_all_filters", {}).get(column, ()) if filters else ()
    if index >= len(offered):
        raise DeskError(f"{name}: there is no such filter")
    datamodel = view.datamodel
    if datamodel.is_boolean(column) and any(value != "y" for value in values):
        # FAB turns only "y" into True and hands anything else to the database as text,
        # which PostgreSQL refuses to compare with a boolean.
        raise DeskError(f"{name}: a yes/no filter takes 'y'")
    for value in values:
        number = value.strip().lstrip("+-")
        is_number = number.isascii() and number.isdigit()
        if datamodel.is_relation(column) and not (is_number and int(number) < 2**63):
            # a related row's id: FAB looks it up as given, and PostgreSQL refuses "abc"
            raise DeskError(f"{name}: {value[:40]!r} is not a valid choice")
        if datamodel.is_integer(column) and is_number and int(number) >= 2**63:
            raise DeskError(f"{name}: {value[:40]!r} is not a valid value")


def refuse_bad_list_arguments() -> None:
    """Before a request to any page (ours and Flask-AppBuilder's own, such as the user list):
    FAB's lists read ``page_<View>`` and ``psize_<View>`` with a bare ``int()`` (``abc`` ends
    in a 500), pass a negative number on to the database, and hand any ``_oc_<View>`` name to
    SQLAlchemy, which fails on a relation (``customer``) or an unknown column. Refuse such a
    parameter with a 400 that says which one is wrong."""
    for name, value in request.args.items():
        flt = _FILTER_ARG.match(name)
        if flt:
            _check_filter(name, int(flt.group(1)), flt.group(2), request.args.getlist(name))
            continue
        order = _ORDER_ARG.match(name)
        if order:
            if value not in _orderable_columns(order.group(1)):
                raise DeskError(f"{name}: the list cannot be sorted by {value[:40]!r}")
            continue
        match = _PAGE_ARG.match(name)
        if not match:
            continue
        limit = MAX_PAGE if match.group(1) == "page" else MAX_PAGE_SIZE
        if not (value.isascii() and value.isdigit() and int(value) <= limit) or (
            match.group(1) == "psize" and int(value) == 0
        ):
            what = "page number" if match.group(1) == "page" else "page size"
            lowest = 0 if match.group(1) == "page" else 1
            raise DeskError(f"{name}: a {what} is a whole number from {lowest} to {limit}")


def _sortable(model, column: str) -> bool:
    if "." in column:  # a related row's column, joined by FAB
        return True
    attr = getattr(model, column, None)
    return isinstance(attr, QueryableAttribute) and not isinstance(
        attr.property, RelationshipProperty
    )


class PrefetchingInterface(SQLAInterface):
    """Flask-AppBuilder's model interface whose lists load the related rows they show
    (``prefetch``: many-to-one relations, e.g. a case's customer and pool) with one query per
    relation. FAB's list loads them lazily, one query per row (25 rows, 25 customers); rows
    already in the session are then found there without a query."""

    def __init__(self, obj, session=None, prefetch: tuple[str, ...] = ()):
        super().__init__(obj, session)
        self.prefetch = tuple(prefetch)

    def query(self, *args, **kwargs):
        count, items = super().query(*args, **kwargs)
        relationships = self.obj.__mapper__.relationships
        for name in self.prefetch:
            prop = relationships[name]
            (local,) = prop.local_columns
            ids = {getattr(item, local.key) for item in items} - {None}
            if ids:
                target = prop.mapper
                rows = self.session.scalars(
                    select(target.class_).where(target.primary_key[0].in_(ids))
                ).all()
                # The session holds rows weakly: keep them for the request that shows them.
                g.setdefault("_prefetched_rows", []).append(rows)
        return count, items


class CountingInterface(SQLAInterface):
    """Flask-AppBuilder's model interface whose list count leaves out the related rows the
    list shows: FAB builds the whole joined, eager-loading select (each ``pool.name`` a join
    and its loader options) to count the rows, the same rows as without those left joins."""

    def query_count(self, query, filters=None, select_columns=None) -> int:
        return super().query_count(query, filters, None)


class DeskModelView(ModelView):
    """A ModelView that obeys the record rules everywhere FAB lets it slip."""

    page_size = 25
    # One record, e.g. "Pool"; empty: from the model's class name. Titles not set by a view
    # follow from it: list "Pools", detail "Pool", add "New pool", edit "Edit pool".
    item_name: str = ""
    item_name_plural: str = ""
    # Declared by FAB without annotations; named here so the type checker knows them.
    base_filters: list | None
    base_permissions: list[str] | None
    order_columns: list[str]
    method_permission_name: dict[str, str] | None
    list_title: str
    show_title: str
    add_title: str
    edit_title: str

    def __init__(self, **kwargs):
        model = self.datamodel.obj
        self.base_filters = list(self.base_filters or []) + RULE
        rel = _related_rules(model)
        for attr in (
            "add_form_query_rel_fields",
            "edit_form_query_rel_fields",
            "search_form_query_rel_fields",
        ):
            merged = dict(rel)
            merged.update(getattr(self, attr, None) or {})
            setattr(self, attr, merged)
        if issubclass(model, NeverDeleted) and self.base_permissions is None:
            self.base_permissions = ["can_list", "can_show", "can_edit", "can_add"]
        # FAB names an action's permission "<name>" (no "can_" prefix) unless the method is
        # mapped; map every action so roles grant them as can_<name> like everything else.
        mapping = dict(self.method_permission_name or {})
        for attr_name in dir(type(self)):
            func = getattr(type(self), attr_name, None)
            action = getattr(func, "_action", None)
            if action:
                mapping.setdefault(attr_name, action[0])
        self.method_permission_name = mapping
        super().__init__(**kwargs)
        # FAB offers a Python property (``Topic.path``) for sorting, which SQL cannot do: a
        # click on that column's header ended in a 500.
        self.order_columns = [c for c in self.order_columns if _sortable(model, c)]
        for form in (self.add_form, self.edit_form):
            _unrequire_checkboxes(form)
            _limit_text_fields(form, model)
        for form in (self.add_form, self.edit_form, self.search_form):
            _label_blank_choices(form)
        for form in (self.add_form, self.edit_form):
            _style_plain_fields(form)
        for name in {*self.list_columns, *self.show_columns}:
            self.formatters_columns.setdefault(name, _display_value)

    def _prettify_column(self, data):
        return column_label(data)

    def _init_titles(self):
        """Human titles instead of FAB's "List Pool", "Show Pool", "Add Pool"."""
        name = self.item_name or item_name_of(self.datamodel.obj)
        self.item_name = name
        self.list_title = self.list_title or self.item_name_plural or plural(name)
        self.show_title = self.show_title or name
        # "New pool", but "New SLA policy": an abbreviation keeps its capitals.
        lower = name if name[1:2].isupper() else f"{name[0].lower()}{name[1:]}"
        self.add_title = self.add_title or f"New {lower}"
        self.edit_title = self.edit_title or f"Edit {lower}"
        self.add_row_message = f"{name} added."
        self.edit_row_message = f"{name} saved."
        super()._init_titles()

    # Actions: FAB loads the rows with datamodel.get(pk) and no filters; check them here.
    def _visible_or_404(self, pk):
        item = self.datamodel.get(self._deserialize_pk_if_composite(pk), self._base_filters)
        if item is None or not is_visible(item):
            abort(404)
        return item

    # Overrides must carry @expose again: FAB finds routes on the overriding function.
    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        self._visible_or_404(pk)
        return super().action(name, pk)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        for pk in request.form.getlist("rowid"):
            self._visible_or_404(pk)
        return super().action_post()

    # Writes: the write rule for the row as loaded (a 403 page with the reason, before the
    # form is even shown) and, in pre_add/pre_update, for the row as it would be saved.
    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        ensure_may_change(self._visible_or_404(pk))
        return super().edit(pk)

    def clean(self, item) -> None:
        """Prepare a row before it is saved (normalise, validate); raise DeskError to refuse."""

    def _prepare(self, item) -> None:
        try:
            self.clean(item)
            ensure_may_change(item)
        except DeskError:
            # Flask-AppBuilder flashes the message and saves nothing, but the form has
            # already been copied onto the row: drop that before anything else commits.
            db.session.rollback()
            raise

    def pre_add(self, item):
        self._prepare(item)

    def pre_update(self, item):
        self._prepare(item)

    def _delete(self, pk):
        """Delete through ``retire``: configuration in use is deactivated instead."""
        item = self._visible_or_404(pk)
        try:
            ensure_may_change(item)
            flash(retire(item), "info")
        except DeskError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        self.update_redirect()

    def run_service(self, func, items, success: str):
        """Call a service on one or many items, flash its outcome, return to the list/show."""
        items = items if isinstance(items, list) else [items]
        done = []
        for item in items:
            try:
                func(item)
                done.append(item)
            except DeskError as exc:
                flash(f"{item}: {exc}", "danger")
        if done:
            flash(success.format(n=len(done), items=", ".join(str(i) for i in done)), "success")
        return redirect(self.get_redirect())


class DeskModelRestApi(ModelRestApi):
    """A ModelRestApi with record rules on rows and related fields, and no delete route for
    closed-loop records."""

    allow_browser_login = True
    page_size = 25
    # Declared by FAB without annotations; named here so the type checker knows them.
    base_filters: list | None
    include_route_methods: set[str] | None

    def __init__(self, **kwargs):
        model = self.datamodel.obj
        self.base_filters = list(self.base_filters or []) + RULE
        rel = _related_rules(model)
        for attr in ("add_query_rel_fields", "edit_query_rel_fields"):
            merged = dict(rel)
            merged.update(getattr(self, attr, None) or {})
            setattr(self, attr, merged)
        if issubclass(model, NeverDeleted):
            routes = set(
                self.include_route_methods or {"get", "get_list", "info", "put", "post", "delete"}
            )
            self.include_route_methods = routes - {"delete"}
        super().__init__(**kwargs)

    # FAB's API loads related ids for PUT/POST without the *_query_rel_fields filters, so a
    # forged id could point a row at a pool the caller cannot see: check each one here.
    def _check_related(self, item):
        for prop in type(item).__mapper__.relationships:
            if prop.uselist:
                continue
            value = getattr(item, prop.key, None)
            if (
                value is not None
                and prop.key in (self.edit_query_rel_fields or {})
                and not is_visible(value)
            ):
                raise AccessDenied(f"{prop.key}: not a valid choice")

    def clean(self, item) -> None:
        """Prepare a row before it is saved (normalise, validate); raise DeskError to refuse
        (answered with the error's status, 400 for invalid input)."""

    def pre_update(self, item):
        self._check_related(item)
        self.clean(item)
        ensure_may_change(item)

    def pre_add(self, item):
        self._check_related(item)
        self.clean(item)
        ensure_may_change(item)

    def _refused(self, exc: DeskError):
        self.datamodel.session.rollback()
        if isinstance(exc, AccessDenied):  # a forged related id: a field error
            return self.response_422(message=str(exc))
        return self.response(exc.status_code, message=str(exc))

    def _duplicate(self):
        """A unique column (a name) already taken, or a reference the database refuses: the
        database said no, the caller may correct his input."""
        self.datamodel.session.rollback()
        return self.response(
            409, message="A record with these values exists already, or a reference is invalid."
        )

    # A hook (clean, the write rule) that refuses the input raises a DeskError: answered with its
    # message, like the schema's own validation errors.
    def _nested_related(self) -> dict[str, list[str]]:
        """Fields of related rows given as anything but ids. marshmallow-sqlalchemy takes an
        object (``{"agent": {...}}``) for a row to look up or else to *create* from its keys:
        a forged object would add a row no rule checked, or end in a 500."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return {}
        errors = {}
        for prop in self.datamodel.obj.__mapper__.relationships:
            if prop.key not in body:
                continue
            value = body[prop.key]
            values = value if prop.uselist and isinstance(value, list) else [value]
            if prop.uselist and not isinstance(value, list):
                errors[prop.key] = ["A list of ids."]
            elif any(
                not (v is None and not prop.uselist)
                and not (isinstance(v, int) and not isinstance(v, bool))
                for v in values
            ):
                errors[prop.key] = ["The id of a related record."]
        return errors

    def put_headless(self, pk):
        nested = self._nested_related()
        if nested:
            return self.response_422(message=nested)
        item = self.datamodel.get(pk, self._base_filters)
        try:
            if item is not None:
                ensure_may_change(item)  # the row as loaded; pre_update checks it as saved
            return super().put_headless(pk)
        except DeskError as exc:
            return self._refused(exc)
        except IntegrityError:
            return self._duplicate()

    def post_headless(self):
        nested = self._nested_related()
        if nested:
            return self.response_422(message=nested)
        try:
            return super().post_headless()
        except DeskError as exc:
            return self._refused(exc)
        except IntegrityError:
            return self._duplicate()

    def delete_headless(self, pk):
        """Delete through ``retire``: configuration in use is deactivated instead (200 with
        the message), a row in use without an ``active`` flag is refused (409)."""
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        try:
            ensure_may_change(item)
            return self.response(200, message=retire(item))
        except DeskError as exc:
            return self._refused(exc)
