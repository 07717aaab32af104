"""outbox delivery: envelope sender, claim token, hand-over time, relay reply

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 10:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("envelope_from", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("handed_over_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("smtp_reply", sa.String(length=512), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.drop_column("smtp_reply")
        batch_op.drop_column("handed_over_at")
        batch_op.drop_column("claim_token")
        batch_op.drop_column("envelope_from")
