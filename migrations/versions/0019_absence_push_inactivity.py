"""absence hand-over, push routing and inactivity reminders

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 14:30:00

Pools say how new cases reach agents (``routing``: pull, round_robin, least_loaded; a cap of
open cases per agent; the member who got the last pushed case), where an absent agent's cases
go (``absence_handover``) and when cases waiting on the customer are reminded and closed
(``inactivity_reminder_days`` "7,14", ``inactivity_close_days`` 21; existing pools get these
defaults). ``inactivity_notice`` records each reminder and close sent, once per waiting period.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs (no batch copy of the pool table, which SQLite could not drop while
    # mailboxes and cases refer to it).
    op.add_column('pool', sa.Column('routing', sa.String(length=16), server_default='pull', nullable=False))
    op.add_column('pool', sa.Column('max_open_per_agent', sa.Integer(), nullable=True))
    op.add_column('pool', sa.Column('last_routed_user_id', sa.Integer(), nullable=True))
    op.add_column('pool', sa.Column('absence_handover', sa.String(length=16), server_default='substitute', nullable=False))
    op.add_column('pool', sa.Column('inactivity_reminder_days', sa.String(length=64), server_default='7,14', nullable=True))
    op.add_column('pool', sa.Column('inactivity_close_days', sa.Integer(), server_default='21', nullable=True))

    op.create_table(
        'inactivity_notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('waiting_since', sa.DateTime(), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('step', sa.String(length=16), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['case.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'waiting_since', 'days', name='uq_inactivity_step'),
    )
    with op.batch_alter_table('inactivity_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inactivity_notice_case_id'), ['case_id'], unique=False)


def downgrade():
    with op.batch_alter_table('inactivity_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inactivity_notice_case_id'))
    op.drop_table('inactivity_notice')

    for column in (
        'inactivity_close_days',
        'inactivity_reminder_days',
        'absence_handover',
        'last_routed_user_id',
        'max_open_per_agent',
        'routing',
    ):
        op.drop_column('pool', column)
