"""intake forms with immutable versions

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 18:00:00

``intake_form`` becomes the form (name, the pool whose supervisors design it, created_at) and
``intake_form_version`` holds its schemas: draft, current or obsolete, who created and who
published each. Every old ``intake_form`` row becomes a form with the same id (topics keep
pointing at it) and one version: its number, ``current`` if it was published, else ``draft``;
its old field list ({"name", "label", "type", "required", "choices"}) is rewritten in the
form-schema format (README, "Form schema") with English labels. ``downgrade`` puts the current
(else the latest) version's number and schema back on the form row.
"""
import json
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

OLD_TYPES = {
    "text": "short_text", "string": "short_text", "short_text": "short_text",
    "textarea": "long_text", "long_text": "long_text", "email": "email",
    "phone": "phone", "tel": "phone", "number": "number", "integer": "number",
    "date": "date", "select": "single_choice", "choice": "single_choice",
    "radio": "single_choice", "single_choice": "single_choice",
    "multiple": "multiple_choice", "checkboxes": "multiple_choice",
    "multiple_choice": "multiple_choice", "checkbox": "checkbox", "boolean": "checkbox",
    "file": "file",
}


def _key(name, used):
    key = re.sub(r"[^a-z0-9_]+", "_", str(name or "").lower()).strip("_") or "field"
    if not key[0].isalpha():
        key = f"f_{key}"
    key = key[:60]
    candidate, n = key, 2
    while candidate in used:
        candidate, n = f"{key}_{n}", n + 1
    used.add(candidate)
    return candidate


def convert(old):
    """The old list of fields in the form-schema format (a dict already in it is kept)."""
    if isinstance(old, dict) and "fields" in old:
        return old
    fields, used = [], set()
    for item in old if isinstance(old, list) else []:
        if not isinstance(item, dict):
            continue
        kind = OLD_TYPES.get(str(item.get("type", "text")).lower(), "short_text")
        field = {
            "key": _key(item.get("name") or item.get("label"), used),
            "type": kind,
            "label": {"en": str(item.get("label") or item.get("name") or "Field")},
            "required": bool(item.get("required")),
        }
        if kind in ("single_choice", "multiple_choice"):
            choices = item.get("choices") or []
            if isinstance(choices, str):
                choices = choices.splitlines()
            values = [str(c).strip() for c in choices if str(c).strip()]
            if values:
                field["options"] = [{"value": v, "label": {"en": v}} for v in dict.fromkeys(values)]
            else:
                field["type"] = "short_text"
        fields.append(field)
    return {"languages": ["en"], "fields": fields}


def _relax_foreign_keys():
    """SQLite: the batch copy of ``intake_form`` drops the old table while topics point at
    it (see 0018)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA foreign_keys = OFF")
        op.execute("PRAGMA defer_foreign_keys = ON")


def _enforce_foreign_keys():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA foreign_keys = ON")


def _detach_topics(bind):
    """SQLite rebuilds ``intake_form`` (a batch copy): its DROP would count every topic that
    points at a form as a broken reference until commit, even once the copy has the old name
    again. The links are taken off for the copy and put back after it."""
    links = bind.execute(sa.text("SELECT id, form_id FROM topic WHERE form_id IS NOT NULL")).fetchall()
    bind.execute(sa.text("UPDATE topic SET form_id = NULL WHERE form_id IS NOT NULL"))
    return links


def _attach_topics(bind, links):
    for topic_id, form_id in links:
        bind.execute(sa.text("UPDATE topic SET form_id = :f WHERE id = :t"), {"f": form_id, "t": topic_id})


def upgrade():
    bind = op.get_bind()
    old = sa.table(
        'intake_form',
        sa.column('id', sa.Integer), sa.column('version', sa.Integer),
        sa.column('schema', sa.JSON), sa.column('published', sa.Boolean),
        sa.column('created_at', sa.DateTime),
    )
    # Typed columns: SQLite hands back text for a raw SELECT of a DateTime or a JSON.
    rows = bind.execute(
        sa.select(old.c.id, old.c.version, old.c.schema, old.c.published, old.c.created_at)
        .order_by(old.c.id)
    ).fetchall()
    links = _detach_topics(bind)
    _relax_foreign_keys()
    with op.batch_alter_table('intake_form', schema=None) as batch_op:
        batch_op.drop_constraint('uq_intake_form_name_version', type_='unique')
        batch_op.drop_column('version')
        batch_op.drop_column('schema')
        batch_op.drop_column('published')
        batch_op.add_column(sa.Column('pool_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_intake_form_pool_id', 'pool', ['pool_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_intake_form_pool_id'), ['pool_id'], unique=False)
    _enforce_foreign_keys()
    _attach_topics(bind, links)

    op.create_table(
        'intake_form_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('form_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('schema', sa.JSON(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('published_at', sa.DateTime(), nullable=True),
        sa.Column('published_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
        sa.ForeignKeyConstraint(['form_id'], ['intake_form.id'], ),
        sa.ForeignKeyConstraint(['published_by_id'], ['ab_user.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('form_id', 'number', name='uq_intake_form_version_number'),
    )
    for status in ('draft', 'current'):
        op.create_index(
            f'uq_intake_form_version_{status}',
            'intake_form_version',
            ['form_id'],
            unique=True,
            postgresql_where=sa.text(f"status = '{status}'"),
            sqlite_where=sa.text(f"status = '{status}'"),
        )
    version = sa.table(
        'intake_form_version',
        sa.column('form_id', sa.Integer), sa.column('number', sa.Integer),
        sa.column('status', sa.String), sa.column('schema', sa.JSON),
        sa.column('created_at', sa.DateTime), sa.column('published_at', sa.DateTime),
    )
    for form_id, number, schema, published, created_at in rows:
        if isinstance(schema, str):
            schema = json.loads(schema)
        op.bulk_insert(version, [{
            'form_id': form_id,
            'number': number or 1,
            'status': 'current' if published else 'draft',
            'schema': convert(schema),
            'created_at': created_at,
            'published_at': created_at if published else None,
        }])


def downgrade():
    bind = op.get_bind()
    versions = bind.execute(sa.text(
        "SELECT form_id, number, status, schema FROM intake_form_version ORDER BY form_id, number"
    )).fetchall()
    op.drop_index('uq_intake_form_version_current', table_name='intake_form_version')
    op.drop_index('uq_intake_form_version_draft', table_name='intake_form_version')
    op.drop_table('intake_form_version')
    links = _detach_topics(bind)
    _relax_foreign_keys()
    with op.batch_alter_table('intake_form', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_form_pool_id'))
        batch_op.drop_constraint('fk_intake_form_pool_id', type_='foreignkey')
        batch_op.drop_column('pool_id')
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('schema', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('published', sa.Boolean(), nullable=False, server_default=sa.false()))
    chosen = {}
    for form_id, number, status, schema in versions:
        if form_id not in chosen or chosen[form_id][1] != 'current':
            chosen[form_id] = (number, status, schema)
    for form_id, (number, status, schema) in chosen.items():
        if not isinstance(schema, str):
            schema = json.dumps(schema)
        bind.execute(
            sa.text("UPDATE intake_form SET version = :n, schema = :s, published = :p WHERE id = :id"),
            {"n": number, "s": schema, "p": status == 'current', "id": form_id},
        )
    bind.execute(sa.text("UPDATE intake_form SET schema = '[]' WHERE schema IS NULL"))
    with op.batch_alter_table('intake_form', schema=None) as batch_op:
        batch_op.alter_column('schema', existing_type=sa.JSON(), nullable=False)
        batch_op.create_unique_constraint('uq_intake_form_name_version', ['name', 'version'])
    _enforce_foreign_keys()
    _attach_topics(bind, links)
