"""deactivate skills and agents instead of deleting them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00

Configuration that cases depend on is never deleted: a pool, mailbox, topic, skill or agent
that other rows refer to is deactivated instead. Pools, mailboxes and topics have an
``active`` flag already; skills and agent profiles get one (existing rows stay active).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('skill', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))

    with op.batch_alter_table('agent_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('agent_profile', schema=None) as batch_op:
        batch_op.drop_column('active')

    with op.batch_alter_table('skill', schema=None) as batch_op:
        batch_op.drop_column('active')
