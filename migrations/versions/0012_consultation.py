"""departments and consultations

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-03 14:30:00

Consultation of departments: the desk-wide list of departments (e-mail address, response
deadline in hours, language of reminders) and one row per consultation from a case, with its
sent, deadline, answered and reminded times and the Message-IDs its replies thread by.
Consultations are part of the closed loop: database triggers refuse deleting them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None

NEVER_DELETED = ("consultation",)


def _create_closed_loop_triggers():
    bind = op.get_bind()
    for table in NEVER_DELETED:
        if bind.dialect.name == "postgresql":
            # loopdesk_forbid() comes from 0001.
            op.execute(
                f'CREATE TRIGGER closed_loop_no_delete BEFORE DELETE ON "{table}" '
                "FOR EACH ROW EXECUTE FUNCTION loopdesk_forbid()"
            )
            op.execute(
                f'CREATE TRIGGER closed_loop_no_truncate BEFORE TRUNCATE ON "{table}" '
                "FOR EACH STATEMENT EXECUTE FUNCTION loopdesk_forbid()"
            )
        elif bind.dialect.name == "sqlite":
            op.execute(
                f'CREATE TRIGGER closed_loop_no_delete_{table} BEFORE DELETE ON "{table}" '
                f"BEGIN SELECT RAISE(ABORT, 'closed loop: {table} rows are never deleted'); END"
            )


def _drop_closed_loop_triggers():
    bind = op.get_bind()
    for table in NEVER_DELETED:
        if bind.dialect.name == "postgresql":
            op.execute(f'DROP TRIGGER IF EXISTS closed_loop_no_delete ON "{table}"')
            op.execute(f'DROP TRIGGER IF EXISTS closed_loop_no_truncate ON "{table}"')
        elif bind.dialect.name == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS closed_loop_no_delete_{table}")


def upgrade():
    op.create_table(
        'department',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('response_hours', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'consultation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('asked_by_id', sa.Integer(), nullable=True),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=False),
        sa.Column('deadline_at', sa.DateTime(), nullable=False),
        sa.Column('answered_at', sa.DateTime(), nullable=True),
        sa.Column('reminded_at', sa.DateTime(), nullable=True),
        sa.Column('message_row_id', sa.Integer(), nullable=True),
        sa.Column('answer_message_row_id', sa.Integer(), nullable=True),
        sa.Column('message_id', sa.String(length=998), nullable=True),
        sa.Column('reminder_message_id', sa.String(length=998), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['case.id']),
        sa.ForeignKeyConstraint(['department_id'], ['department.id']),
        sa.ForeignKeyConstraint(['asked_by_id'], ['ab_user.id']),
        sa.ForeignKeyConstraint(['message_row_id'], ['message.id']),
        sa.ForeignKeyConstraint(['answer_message_row_id'], ['message.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_consultation_case_id', 'consultation', ['case_id'])
    op.create_index('ix_consultation_department_id', 'consultation', ['department_id'])
    op.create_index('ix_consultation_message_id', 'consultation', ['message_id'])
    op.create_index(
        'ix_consultation_reminder_message_id', 'consultation', ['reminder_message_id']
    )
    op.create_index('ix_consultation_status_deadline', 'consultation', ['status', 'deadline_at'])
    _create_closed_loop_triggers()


def downgrade():
    _drop_closed_loop_triggers()
    op.drop_table('consultation')
    op.drop_table('department')
