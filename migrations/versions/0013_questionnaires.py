"""questionnaires with dictionaries, answers as rows, and who may close per pool

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:30:00

Creates dictionary, dictionary_value, questionnaire, question and questionnaire_answer, and
``pool.close_policy``. Every pool's ``wrap_up_questions`` text (one question per line, "*" =
required) becomes a wrap-up questionnaire of free-text questions asked on close, and the
answers of the old "wrap_up" Events become Answer rows where the question matches (the Events
stay: they are history). The text column is then dropped: two places for the same questions
would disagree as soon as a supervisor edits one; ``downgrade`` writes the free-text
questions back into it.
"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

NEVER_DELETED = ("questionnaire_answer",)

pool = sa.table(
    'pool',
    sa.column('id', sa.Integer),
    sa.column('name', sa.String),
    sa.column('wrap_up_questions', sa.Text),
)
questionnaire = sa.table(
    'questionnaire',
    sa.column('id', sa.Integer),
    sa.column('name', sa.String),
    sa.column('purpose', sa.String),
    sa.column('pool_id', sa.Integer),
    sa.column('asked_on', sa.String),
    sa.column('active', sa.Boolean),
)
question = sa.table(
    'question',
    sa.column('id', sa.Integer),
    sa.column('questionnaire_id', sa.Integer),
    sa.column('position', sa.Integer),
    sa.column('text', sa.String),
    sa.column('kind', sa.String),
    sa.column('required', sa.Boolean),
    sa.column('active', sa.Boolean),
)
answer = sa.table(
    'questionnaire_answer',
    sa.column('case_id', sa.Integer),
    sa.column('question_id', sa.Integer),
    sa.column('questionnaire_id', sa.Integer),
    sa.column('value_text', sa.Text),
    sa.column('answered_by_id', sa.Integer),
    sa.column('answered_at', sa.DateTime),
    sa.column('context', sa.String),
)
event = sa.table(
    'event',
    sa.column('id', sa.Integer),
    sa.column('case_id', sa.Integer),
    sa.column('actor_id', sa.Integer),
    sa.column('created_at', sa.DateTime),
    sa.column('action', sa.String),
    sa.column('details', sa.JSON),
)
case = sa.table('case', sa.column('id', sa.Integer), sa.column('pool_id', sa.Integer))


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


def parse_wrap_up_text(text):
    """(question, required) pairs of the old textarea: one per line, "*" = required."""
    found = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            found.append((line.lstrip("*").strip(), line.startswith("*")))
    return [(q, r) for q, r in found if q]


def _move_wrap_up_text(bind):
    """Each pool's wrap-up text → a questionnaire; old wrap-up Events' answers → rows."""
    by_pool = {}  # pool id -> (questionnaire id, {question text: question id})
    for pool_id, name, text in bind.execute(
        sa.select(pool.c.id, pool.c.name, pool.c.wrap_up_questions).order_by(pool.c.id)
    ):
        pairs = parse_wrap_up_text(text)
        if not pairs:
            continue
        qn_id = bind.execute(
            questionnaire.insert()
            .values(
                name=f"Wrap-up {name}"[:128],
                purpose='wrap_up',
                pool_id=pool_id,
                asked_on='close',
                active=True,
            )
            .returning(questionnaire.c.id)
        ).scalar_one()
        ids = {}
        for position, (text_, required) in enumerate(pairs, start=1):
            if text_ in ids:
                continue
            ids[text_] = bind.execute(
                question.insert()
                .values(
                    questionnaire_id=qn_id,
                    position=position,
                    text=text_[:500],
                    kind='text',
                    required=required,
                    active=True,
                )
                .returning(question.c.id)
            ).scalar_one()
        by_pool[pool_id] = (qn_id, ids)
    if not by_pool:
        return
    rows = bind.execute(
        sa.select(
            event.c.case_id, event.c.actor_id, event.c.created_at, event.c.details, case.c.pool_id
        )
        .select_from(event.join(case, case.c.id == event.c.case_id))
        .where(event.c.action == 'wrap_up')
        .order_by(event.c.id)
    )
    answers = []
    for case_id, actor_id, created_at, details, pool_id in rows:
        if isinstance(details, str):  # a JSON text column written by hand
            details = json.loads(details)
        if pool_id not in by_pool or not isinstance(details, dict):
            continue
        qn_id, ids = by_pool[pool_id]
        for text_, value in (details.get("answers") or {}).items():
            question_id = ids.get(str(text_).strip())
            value = "" if value is None else str(value).strip()
            if question_id is None or not value:
                continue
            answers.append(
                {
                    "case_id": case_id,
                    "question_id": question_id,
                    "questionnaire_id": qn_id,
                    "value_text": value,
                    "answered_by_id": actor_id,
                    "answered_at": created_at,
                    "context": 'close',
                }
            )
    if answers:
        bind.execute(answer.insert(), answers)


def upgrade():
    op.create_table('dictionary',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('dictionary_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dictionary_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['dictionary_id'], ['dictionary.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dictionary_id', 'value', name='uq_dictionary_value')
    )
    with op.batch_alter_table('dictionary_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dictionary_value_dictionary_id'), ['dictionary_id'], unique=False)

    op.create_table('questionnaire',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=True),
    sa.Column('mailbox_id', sa.Integer(), nullable=True),
    sa.Column('asked_on', sa.String(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailbox.id'], ),
    sa.ForeignKeyConstraint(['pool_id'], ['pool.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('questionnaire', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questionnaire_mailbox_id'), ['mailbox_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_questionnaire_pool_id'), ['pool_id'], unique=False)

    op.create_table('question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('questionnaire_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('dictionary_id', sa.Integer(), nullable=True),
    sa.Column('options', sa.Text(), nullable=True),
    sa.Column('min_value', sa.Float(), nullable=True),
    sa.Column('max_value', sa.Float(), nullable=True),
    sa.Column('required', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['dictionary_id'], ['dictionary.id'], ),
    sa.ForeignKeyConstraint(['questionnaire_id'], ['questionnaire.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_questionnaire_id'), ['questionnaire_id'], unique=False)

    op.create_table('questionnaire_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('questionnaire_id', sa.Integer(), nullable=False),
    sa.Column('value_text', sa.Text(), nullable=True),
    sa.Column('value_number', sa.Float(), nullable=True),
    sa.Column('dictionary_value_id', sa.Integer(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=False),
    sa.Column('context', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['dictionary_value_id'], ['dictionary_value.id'], ),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], ),
    sa.ForeignKeyConstraint(['questionnaire_id'], ['questionnaire.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('questionnaire_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questionnaire_answer_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_questionnaire_answer_questionnaire_id'), ['questionnaire_id'], unique=False)
        batch_op.create_index('ix_answer_question_value', ['question_id', 'dictionary_value_id'], unique=False)

    with op.batch_alter_table('pool', schema=None) as batch_op:
        batch_op.add_column(sa.Column('close_policy', sa.String(length=16), server_default='agents', nullable=False))

    _move_wrap_up_text(op.get_bind())
    # A plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): recreating the pool table would
    # trip the foreign keys of the cases that point at it.
    with op.batch_alter_table('pool', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('wrap_up_questions')
    _create_closed_loop_triggers()


def downgrade():
    _drop_closed_loop_triggers()
    bind = op.get_bind()
    with op.batch_alter_table('pool', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('wrap_up_questions', sa.Text(), nullable=True))
    # The wrap-up questions go back into the text (free text only: the old field knew no
    # other kind); answer rows do not go back, the wrap-up Events still hold them.
    texts = {}
    for pool_id, text_, required in bind.execute(
        sa.select(questionnaire.c.pool_id, question.c.text, question.c.required)
        .select_from(question.join(questionnaire, questionnaire.c.id == question.c.questionnaire_id))
        .where(
            questionnaire.c.purpose == 'wrap_up',
            questionnaire.c.pool_id.is_not(None),
            questionnaire.c.asked_on.in_(('close', 'both')),
            questionnaire.c.active.is_(True),
            question.c.active.is_(True),
        )
        .order_by(questionnaire.c.id, question.c.position, question.c.id)
    ):
        texts.setdefault(pool_id, []).append(("*" if required else "") + text_)
    for pool_id, lines in texts.items():
        bind.execute(
            pool.update().where(pool.c.id == pool_id).values(wrap_up_questions="\n".join(lines))
        )
    with op.batch_alter_table('pool', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('close_policy')

    with op.batch_alter_table('questionnaire_answer', schema=None) as batch_op:
        batch_op.drop_index('ix_answer_question_value')
        batch_op.drop_index(batch_op.f('ix_questionnaire_answer_questionnaire_id'))
        batch_op.drop_index(batch_op.f('ix_questionnaire_answer_case_id'))
    op.drop_table('questionnaire_answer')
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_questionnaire_id'))
    op.drop_table('question')
    with op.batch_alter_table('questionnaire', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questionnaire_pool_id'))
        batch_op.drop_index(batch_op.f('ix_questionnaire_mailbox_id'))
    op.drop_table('questionnaire')
    with op.batch_alter_table('dictionary_value', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dictionary_value_dictionary_id'))
    op.drop_table('dictionary_value')
    op.drop_table('dictionary')
