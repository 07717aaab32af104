"""a postponed case's due clock waits

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 19:40:00

While a case is postponed its due time waits: the seconds it had left are kept in
``case.sla_paused_seconds`` and the due time is set again from them when the case comes back.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_paused_seconds', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('sla_paused_seconds')
