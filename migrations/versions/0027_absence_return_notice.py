"""absence: when the returning agent saw its notice

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 10:00:00

``absence.return_noticed_at``: the agent's first page after an absence ended tells him what was
handed over while he was away, once. Absences that ended before this migration count as seen
(nobody should be welcomed back from last year's holiday).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('absence', sa.Column('return_noticed_at', sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE absence SET return_noticed_at = ends_at WHERE ends_at <= CURRENT_TIMESTAMP"
    )


def downgrade():
    with op.batch_alter_table('absence', schema=None) as batch_op:
        batch_op.drop_column('return_noticed_at')
