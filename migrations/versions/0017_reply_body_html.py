"""the formatted body of a reply (the reply editor's sanitised HTML)

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-03 14:10:00

A reply keeps its plain text in ``body`` (the mail's text/plain part) and, when the agent
formatted it in the editor, the sanitised HTML in ``body_html``: a reply waiting for approval
is sent later, as it was written.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None


# A plain ADD COLUMN (SQLite has it too): a batch copy of the table would drop the triggers
# that refuse deleting replies.
def upgrade():
    op.add_column('reply', sa.Column('body_html', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('reply', 'body_html')
