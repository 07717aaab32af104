"""report subscriptions and their deliveries; indexes the reports read by period

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04 19:00:00

Managers and supervisors subscribe to a report mailed weekly or monthly
(``report_subscription``); each period of a subscription is one ``report_delivery`` row, unique
per (subscription, period start), so the scheduler runs one report and sends one mail per
period however often it runs. The reports read messages, closed cases and answers by the
moment they happened: an index on each of those times lets a month be read without scanning
the whole history; the mails and the status changes are read from their indexes alone.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("report", sa.String(length=64), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("breakdowns", sa.JSON(), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_report_subscription_user_id", "report_subscription", ["user_id"], unique=False
    )
    op.create_table(
        "report_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("mailed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox_mail.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["report_run.id"]),
        sa.ForeignKeyConstraint(["subscription_id"], ["report_subscription.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscription_id", "since", name="uq_report_delivery_period"),
    )
    op.create_index(
        "ix_report_delivery_subscription_id", "report_delivery", ["subscription_id"], unique=False
    )
    op.create_index("ix_report_delivery_status", "report_delivery", ["status"], unique=False)
    op.create_index(
        "ix_message_created",
        "message",
        ["created_at", "direction", "case_id", "author_id"],
        unique=False,
    )
    op.create_index(
        "ix_event_status_case",
        "event",
        ["case_id", "created_at", "id", "new_value"],
        unique=False,
        postgresql_where=sa.text("action = 'status'"),
        sqlite_where=sa.text("action = 'status'"),
    )
    op.create_index("ix_case_closed_at", "case", ["closed_at"], unique=False)
    op.create_index(
        "ix_questionnaire_answer_answered_at", "questionnaire_answer", ["answered_at"], unique=False
    )


def downgrade():
    op.drop_index("ix_questionnaire_answer_answered_at", table_name="questionnaire_answer")
    op.drop_index("ix_case_closed_at", table_name="case")
    op.drop_index("ix_event_status_case", table_name="event")
    op.drop_index("ix_message_created", table_name="message")
    op.drop_index("ix_report_delivery_status", table_name="report_delivery")
    op.drop_index("ix_report_delivery_subscription_id", table_name="report_delivery")
    op.drop_table("report_delivery")
    op.drop_index("ix_report_subscription_user_id", table_name="report_subscription")
    op.drop_table("report_subscription")
