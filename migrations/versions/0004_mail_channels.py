"""IMAP and POP3 fetch state

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:20:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "imap_folder_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("folder", sa.String(length=256), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["mailbox_id"], ["mailbox.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mailbox_id", "folder", name="uq_imap_state_folder"),
    )
    with op.batch_alter_table("imap_folder_state") as batch_op:
        batch_op.create_index("ix_imap_folder_state_mailbox_id", ["mailbox_id"], unique=False)

    op.create_table(
        "pop3_seen_uidl",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("uidl", sa.String(length=128), nullable=False),
        sa.Column("raw_message_id", sa.Integer(), nullable=True),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["mailbox_id"], ["mailbox.id"]),
        sa.ForeignKeyConstraint(["raw_message_id"], ["raw_message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mailbox_id", "uidl", name="uq_pop3_uidl_mailbox"),
    )
    with op.batch_alter_table("pop3_seen_uidl") as batch_op:
        batch_op.create_index("ix_pop3_seen_uidl_mailbox_id", ["mailbox_id"], unique=False)

    with op.batch_alter_table("mailbox") as batch_op:
        batch_op.add_column(
            sa.Column(
                "inbound_after_fetch", sa.String(length=16), nullable=False, server_default="flag"
            )
        )
        batch_op.add_column(
            sa.Column("inbound_flag", sa.String(length=64), nullable=False, server_default="\\Seen")
        )
        batch_op.add_column(
            sa.Column("inbound_processed_folder", sa.String(length=256), nullable=True)
        )
        batch_op.add_column(sa.Column("inbound_max_size", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("fetch_failures", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade():
    with op.batch_alter_table("mailbox") as batch_op:
        batch_op.drop_column("fetch_failures")
        batch_op.drop_column("inbound_max_size")
        batch_op.drop_column("inbound_processed_folder")
        batch_op.drop_column("inbound_flag")
        batch_op.drop_column("inbound_after_fetch")
    with op.batch_alter_table("pop3_seen_uidl") as batch_op:
        batch_op.drop_index("ix_pop3_seen_uidl_mailbox_id")
    op.drop_table("pop3_seen_uidl")
    with op.batch_alter_table("imap_folder_state") as batch_op:
        batch_op.drop_index("ix_imap_folder_state_mailbox_id")
    op.drop_table("imap_folder_state")
