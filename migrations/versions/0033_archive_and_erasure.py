"""archive and erasure: archived cases, the event tracker's indexes, the erasure permit

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04 19:00:00

``case.archived_at``: a case closed longer than ``CASE_ARCHIVE_AFTER_DAYS`` is archived by a
job (kept, out of the daily lists, found when asked). Indexes for the event tracker's filters
(user, type) in time order. The closed loop's trigger on ``event`` lets an update through
inside an erasure permit only (``app.core.permits``): PostgreSQL honours the transaction-local
setting ``loopdesk.erasure``, SQLite asks ``loopdesk_erasing()``, a function only the desk's own
connections have. Deletes stay refused everywhere.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

FORBID_WITH_PERMIT = (
    "CREATE OR REPLACE FUNCTION loopdesk_forbid() RETURNS trigger AS $$ BEGIN "
    "IF TG_OP = 'UPDATE' AND current_setting('loopdesk.erasure', true) = 'on' THEN "
    "RETURN NEW; END IF; "
    "RAISE EXCEPTION 'closed loop: % rows are never %', TG_TABLE_NAME, "
    "CASE WHEN TG_OP = 'UPDATE' THEN 'edited' ELSE 'deleted' END; END $$ "
    "LANGUAGE plpgsql"
)
FORBID_ALWAYS = (
    "CREATE OR REPLACE FUNCTION loopdesk_forbid() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'closed loop: % rows are never %', TG_TABLE_NAME, "
    "CASE WHEN TG_OP = 'UPDATE' THEN 'edited' ELSE 'deleted' END; END $$ "
    "LANGUAGE plpgsql"
)


def upgrade():
    # A plain ADD COLUMN (no batch copy of "case": that would drop its triggers).
    op.add_column('case', sa.Column('archived_at', sa.DateTime(), nullable=True))
    op.create_index(
        'ix_case_archive_due', 'case', ['closed_at'], unique=False,
        postgresql_where=sa.text('archived_at IS NULL'),
        sqlite_where=sa.text('archived_at IS NULL'),
    )
    op.create_index('ix_event_actor_created', 'event', ['actor_id', 'created_at'], unique=False)
    op.create_index('ix_event_action_created', 'event', ['action', 'created_at'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(FORBID_WITH_PERMIT)
    elif bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS closed_loop_no_update_event")
        op.execute(
            'CREATE TRIGGER closed_loop_no_update_event BEFORE UPDATE ON "event" '
            "WHEN loopdesk_erasing() IS NOT 1 "
            "BEGIN SELECT RAISE(ABORT, 'closed loop: event rows are never edited'); END"
        )


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(FORBID_ALWAYS)
    elif bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS closed_loop_no_update_event")
        op.execute(
            'CREATE TRIGGER closed_loop_no_update_event BEFORE UPDATE ON "event" '
            "BEGIN SELECT RAISE(ABORT, 'closed loop: event rows are never edited'); END"
        )
    op.drop_index('ix_event_action_created', table_name='event')
    op.drop_index('ix_event_actor_created', table_name='event')
    op.drop_index('ix_case_archive_due', table_name='case')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
