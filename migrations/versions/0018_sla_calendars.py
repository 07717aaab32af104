"""SLA on business calendars

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 14:30:00

Business calendars (weekly opening hours, holidays, closures), SLA policies per pool, topic and
priority, the alerts sent before and at a breach, a calendar per pool, and a case's two targets
(first response, resolution). A waiting case's clock stands still since ``sla_paused_at``
(for the cases waiting now: the due time less the time they had left, ``sla_paused_seconds``
of 0008, which now counts business seconds), and the business time of its finished waits is
summed in ``sla_paused_business_seconds``.
"""

from datetime import timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _relax_foreign_keys():
    """SQLite: the batch copy of ``pool`` drops the old table while mailboxes, topics and
    memberships point at it. Outside a transaction foreign keys are off for the copy; inside
    one (``foreign_keys`` cannot change there) they are checked at commit, when the copy has
    the old name again."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA foreign_keys = OFF")
        op.execute("PRAGMA defer_foreign_keys = ON")


def _enforce_foreign_keys():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA foreign_keys = ON")


def upgrade():
    op.create_table(
        "sla_calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("holiday_country", sa.String(length=8), nullable=True),
        sa.Column("holiday_subdivision", sa.String(length=16), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "sla_opening_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.String(length=5), nullable=False),
        sa.Column("closes", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendar.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sla_opening_hours_calendar_id", "sla_opening_hours", ["calendar_id"])
    op.create_table(
        "sla_closure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("starts_at", sa.DateTime(), nullable=True),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendar.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sla_closure_calendar_id", "sla_closure", ["calendar_id"])
    op.create_table(
        "sla_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=True),
        sa.Column("warn_minutes", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendar.id"],
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pool.id"],
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topic.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sla_policy_pool_id", "sla_policy", ["pool_id"])
    op.create_table(
        "sla_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "target", "kind", name="uq_sla_alert_once"),
    )
    _relax_foreign_keys()
    with op.batch_alter_table("pool", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_calendar_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_pool_sla_calendar_id", "sla_calendar", ["sla_calendar_id"], ["id"]
        )
    _enforce_foreign_keys()
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_response_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("resolution_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("sla_paused_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "sla_paused_business_seconds", sa.Integer(), server_default="0", nullable=False
            )
        )
    case = sa.table(
        "case",
        sa.column("id", sa.Integer()),
        sa.column("sla_due_at", sa.DateTime()),
        sa.column("first_response_at", sa.DateTime()),
        sa.column("first_response_due_at", sa.DateTime()),
        sa.column("resolution_due_at", sa.DateTime()),
        sa.column("sla_paused_seconds", sa.Integer()),
        sa.column("sla_paused_at", sa.DateTime()),
    )
    bind = op.get_bind()
    # Until now a case had one target, its answer due time: it serves as both.
    bind.execute(
        case.update().values(
            first_response_due_at=case.c.sla_due_at, resolution_due_at=case.c.sla_due_at
        )
    )
    waiting = bind.execute(
        sa.select(case.c.id, case.c.sla_due_at, case.c.sla_paused_seconds).where(
            case.c.sla_paused_seconds.is_not(None), case.c.sla_due_at.is_not(None)
        )
    ).all()
    for case_id, due_at, seconds_left in waiting:
        bind.execute(
            case.update()
            .where(case.c.id == case_id)
            .values(sla_paused_at=due_at - timedelta(seconds=seconds_left))
        )


def downgrade():
    # First, before any row changes open a transaction (see _relax_foreign_keys).
    _relax_foreign_keys()
    with op.batch_alter_table("pool", schema=None) as batch_op:
        batch_op.drop_constraint("fk_pool_sla_calendar_id", type_="foreignkey")
        batch_op.drop_column("sla_calendar_id")
    _enforce_foreign_keys()
    for column in (
        "sla_paused_business_seconds",
        "sla_paused_at",
        "resolution_due_at",
        "first_response_due_at",
    ):
        op.execute(f'ALTER TABLE "case" DROP COLUMN {column}')
    op.drop_table("sla_alert")
    op.drop_index("ix_sla_policy_pool_id", table_name="sla_policy")
    op.drop_table("sla_policy")
    op.drop_index("ix_sla_closure_calendar_id", table_name="sla_closure")
    op.drop_table("sla_closure")
    op.drop_index("ix_sla_opening_hours_calendar_id", table_name="sla_opening_hours")
    op.drop_table("sla_opening_hours")
    op.drop_table("sla_calendar")
