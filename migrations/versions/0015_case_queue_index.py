"""a partial index on the waiting cases in due order (My pools' queue)

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-03 14:30:00

The queue of an agent in several pools lists the waiting cases of all of them, most urgent
first. ``ix_case_waiting`` starts with the pool, so for several pools PostgreSQL sorted every
waiting case to show the first 50; this index holds the same rows in due order, so a page of
the queue reads about as many index entries as it shows.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None

WAITING = "assignee_id IS NULL AND status IN ('received', 'in_progress')"


def upgrade():
    op.create_index(
        'ix_case_waiting_due',
        'case',
        ['sla_due_at', 'received_at', 'id'],
        postgresql_where=sa.text(WAITING),
        sqlite_where=sa.text(WAITING),
    )


def downgrade():
    op.drop_index('ix_case_waiting_due', table_name='case')
