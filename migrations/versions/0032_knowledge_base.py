"""knowledge base: articles, their language versions and pools, and every use in a reply

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04 19:00:00

``knowledge_article`` (tags, public flag, status draft/published/archived; never deleted),
``knowledge_article_pool`` (the pools an article is offered in; none: desk-wide),
``knowledge_article_version`` (title and sanitised body per language, with the folded
``search_text`` the search matches) and ``knowledge_article_use`` (one row per insertion into a
reply: article, language, case, agent, when; never deleted). Triggers as in 0013.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

NEVER_DELETED = ("knowledge_article", "knowledge_article_use")


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
        'knowledge_article',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tags', sa.String(length=500), nullable=False),
        sa.Column('public', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_knowledge_article_status', 'knowledge_article', ['status'])
    op.create_table(
        'knowledge_article_pool',
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('pool_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['knowledge_article.id']),
        sa.ForeignKeyConstraint(['pool_id'], ['pool.id']),
        sa.PrimaryKeyConstraint('article_id', 'pool_id'),
    )
    op.create_index('ix_knowledge_article_pool_pool_id', 'knowledge_article_pool', ['pool_id'])
    op.create_table(
        'knowledge_article_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body_html', sa.Text(), nullable=False),
        sa.Column('body_text', sa.Text(), nullable=False),
        sa.Column('search_text', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['knowledge_article.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('article_id', 'language', name='uq_knowledge_article_version'),
    )
    op.create_index(
        'ix_knowledge_article_version_article_id', 'knowledge_article_version', ['article_id']
    )
    op.create_table(
        'knowledge_article_use',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['agent_id'], ['ab_user.id']),
        sa.ForeignKeyConstraint(['article_id'], ['knowledge_article.id']),
        sa.ForeignKeyConstraint(['case_id'], ['case.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_knowledge_article_use_article_at', 'knowledge_article_use', ['article_id', 'at']
    )
    op.create_index('ix_knowledge_article_use_case_id', 'knowledge_article_use', ['case_id'])
    op.create_index('ix_knowledge_article_use_agent_id', 'knowledge_article_use', ['agent_id'])
    _create_closed_loop_triggers()


def downgrade():
    _drop_closed_loop_triggers()
    op.drop_index('ix_knowledge_article_use_agent_id', table_name='knowledge_article_use')
    op.drop_index('ix_knowledge_article_use_case_id', table_name='knowledge_article_use')
    op.drop_index('ix_knowledge_article_use_article_at', table_name='knowledge_article_use')
    op.drop_table('knowledge_article_use')
    op.drop_index(
        'ix_knowledge_article_version_article_id', table_name='knowledge_article_version'
    )
    op.drop_table('knowledge_article_version')
    op.drop_index('ix_knowledge_article_pool_pool_id', table_name='knowledge_article_pool')
    op.drop_table('knowledge_article_pool')
    op.drop_index('ix_knowledge_article_status', table_name='knowledge_article')
    op.drop_table('knowledge_article')
