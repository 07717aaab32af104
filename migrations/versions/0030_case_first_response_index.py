"""an index on the cases' first-response time, for the dashboard

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 19:00:00

The dashboard (reports.dashboard) reads this month's first responses by their time; without
an index that is a scan of every case. (Messages, closes and answers get theirs with the
report subscriptions' migration; received_at had one from the start.)
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_case_first_response_at', 'case', ['first_response_at'], unique=False)


def downgrade():
    op.drop_index('ix_case_first_response_at', table_name='case')
