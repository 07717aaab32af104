"""topic tree: a topic's SLA policy and names per language; the intake answers of a case

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 18:30:00

``topic.sla_policy_id`` links the policy a topic's cases follow (inherited by subtopics);
``topic.name_translations`` / ``description_translations`` hold {language: text} for the
portal. ``case_intake_answer`` keeps the customer's answers to the topic's intake form as
rows (one per field and per selected value), never deleted (triggers as in 0013).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

NEVER_DELETED = ("case_intake_answer",)


def _relax_foreign_keys():
    """SQLite: the batch copy of ``topic`` drops the old table while cases, policies and
    subtopics point at it (see 0018)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA foreign_keys = OFF")
        op.execute("PRAGMA defer_foreign_keys = ON")


def _enforce_foreign_keys():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA foreign_keys = ON")


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
    _relax_foreign_keys()
    with op.batch_alter_table('topic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_policy_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('name_translations', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('description_translations', sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            'fk_topic_sla_policy_id', 'sla_policy', ['sla_policy_id'], ['id']
        )
    _enforce_foreign_keys()

    op.create_table(
        'case_intake_answer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('form_version_id', sa.Integer(), nullable=True),
        sa.Column('field_key', sa.String(length=64), nullable=False),
        sa.Column('label', sa.String(length=500), nullable=False),
        sa.Column('value_text', sa.Text(), nullable=False),
        sa.Column('value_label', sa.String(length=500), nullable=True),
        sa.Column('value_key', sa.String(length=191), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case.id']),
        sa.ForeignKeyConstraint(
            ['form_version_id'],
            ['intake_form_version.id'],
            name='fk_case_intake_answer_form_version_id',
        ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_case_intake_answer_field_value', 'case_intake_answer', ['field_key', 'value_key']
    )
    op.create_index('ix_case_intake_answer_case', 'case_intake_answer', ['case_id', 'position'])
    _create_closed_loop_triggers()


def downgrade():
    _drop_closed_loop_triggers()
    op.drop_index('ix_case_intake_answer_case', table_name='case_intake_answer')
    op.drop_index('ix_case_intake_answer_field_value', table_name='case_intake_answer')
    op.drop_table('case_intake_answer')
    _relax_foreign_keys()
    with op.batch_alter_table('topic', schema=None) as batch_op:
        batch_op.drop_constraint('fk_topic_sla_policy_id', type_='foreignkey')
        batch_op.drop_column('description_translations')
        batch_op.drop_column('name_translations')
        batch_op.drop_column('sla_policy_id')
    _enforce_foreign_keys()
