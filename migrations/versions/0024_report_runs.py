"""report runs: progress step, attempts, start and heartbeat times

Revision ID: 0024
Revises: 0019
Create Date: 2026-12-04 18:30:00

A report run says what its job is doing (``step``), when it started and last showed life
(``started_at``, ``heartbeat_at``) and how often it was queued (``attempts``): the scheduled
check queues again a run whose job was lost, and fails it after too many attempts.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("report_run", sa.Column("step", sa.String(length=128), nullable=True))
    op.add_column(
        "report_run", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("report_run", sa.Column("started_at", sa.DateTime(), nullable=True))
    op.add_column("report_run", sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
    op.create_index("ix_report_run_status", "report_run", ["status"], unique=False)


def downgrade():
    op.drop_index("ix_report_run_status", table_name="report_run")
    with op.batch_alter_table("report_run") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("started_at")
        batch.drop_column("attempts")
        batch.drop_column("step")
