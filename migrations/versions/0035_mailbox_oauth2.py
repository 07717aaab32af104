"""OAuth2 mailboxes: the refresh token (encrypted), the access token's expiry, "needs
reconnect" with its reason, and the started authorisations (state, PKCE verifier)

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-04 19:40:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mailbox") as batch:
        batch.add_column(sa.Column("oauth_provider", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("oauth_refresh_token", sa.Text(), nullable=True))
        batch.add_column(sa.Column("oauth_expires_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column(
                "oauth_needs_reconnect", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(sa.Column("oauth_reconnect_reason", sa.Text(), nullable=True))
    op.create_table(
        "mailbox_oauth_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_binding", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["mailbox_id"], ["mailbox.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nonce"),
    )
    op.create_index(
        "ix_mailbox_oauth_state_mailbox_id", "mailbox_oauth_state", ["mailbox_id"], unique=False
    )


def downgrade():
    op.drop_index("ix_mailbox_oauth_state_mailbox_id", table_name="mailbox_oauth_state")
    op.drop_table("mailbox_oauth_state")
    with op.batch_alter_table("mailbox") as batch:
        for name in (
            "oauth_reconnect_reason",
            "oauth_needs_reconnect",
            "oauth_expires_at",
            "oauth_refresh_token",
            "oauth_provider",
        ):
            batch.drop_column(name)
