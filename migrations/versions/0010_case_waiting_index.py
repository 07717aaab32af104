"""a partial index on the cases waiting for an agent (Get next case)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:35:00

``claim_next_case`` picks among unassigned cases that are received or in progress, by pool,
due time and arrival; the partial index holds only those rows, so it stays small however many
closed cases the desk keeps.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

WAITING = "assignee_id IS NULL AND status IN ('received', 'in_progress')"


def upgrade():
    op.create_index(
        'ix_case_waiting',
        'case',
        ['pool_id', 'sla_due_at', 'received_at', 'id'],
        postgresql_where=sa.text(WAITING),
        sqlite_where=sa.text(WAITING),
    )


def downgrade():
    op.drop_index('ix_case_waiting', table_name='case')
