"""mail intake: category rules, quarantine, hygiene state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 10:20:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "category_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("owner_pool_id", sa.Integer(), nullable=True),
        sa.Column("sender_contains", sa.String(length=320), nullable=True),
        sa.Column("recipient_contains", sa.String(length=320), nullable=True),
        sa.Column("subject_contains", sa.String(length=256), nullable=True),
        sa.Column("body_keywords", sa.String(length=512), nullable=True),
        sa.Column("header_name", sa.String(length=128), nullable=True),
        sa.Column("header_value", sa.String(length=256), nullable=True),
        sa.Column("set_pool_id", sa.Integer(), nullable=True),
        sa.Column("set_topic_id", sa.Integer(), nullable=True),
        sa.Column("set_skill_id", sa.Integer(), nullable=True),
        sa.Column("set_priority", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["owner_pool_id"], ["pool.id"]),
        sa.ForeignKeyConstraint(["set_pool_id"], ["pool.id"]),
        sa.ForeignKeyConstraint(["set_skill_id"], ["skill.id"]),
        sa.ForeignKeyConstraint(["set_topic_id"], ["topic.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("category_rule") as batch_op:
        batch_op.create_index("ix_category_rule_position", ["position"], unique=False)
        batch_op.create_index("ix_category_rule_owner_pool_id", ["owner_pool_id"], unique=False)

    with op.batch_alter_table("raw_message") as batch_op:
        batch_op.add_column(sa.Column("recipient", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("flags", sa.String(length=256), nullable=True))
        batch_op.create_index("ix_raw_message_outcome", ["outcome"], unique=False)
        batch_op.create_index("ix_raw_message_sha_mailbox", ["sha256", "mailbox_id"], unique=False)

    with op.batch_alter_table("pool") as batch_op:
        batch_op.add_column(
            sa.Column(
                "auto_response_enabled", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(sa.Column("auto_response_text", sa.Text(), nullable=True))

    with op.batch_alter_table("mailbox") as batch_op:
        batch_op.add_column(sa.Column("auto_response_enabled", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("auto_response_text", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("mailbox") as batch_op:
        batch_op.drop_column("auto_response_text")
        batch_op.drop_column("auto_response_enabled")
    with op.batch_alter_table("pool") as batch_op:
        batch_op.drop_column("auto_response_text")
        batch_op.drop_column("auto_response_enabled")
    with op.batch_alter_table("raw_message") as batch_op:
        batch_op.drop_index("ix_raw_message_sha_mailbox")
        batch_op.drop_index("ix_raw_message_outcome")
        batch_op.drop_column("flags")
        batch_op.drop_column("outcome")
        batch_op.drop_column("recipient")
    with op.batch_alter_table("category_rule") as batch_op:
        batch_op.drop_index("ix_category_rule_owner_pool_id")
        batch_op.drop_index("ix_category_rule_position")
    op.drop_table("category_rule")
