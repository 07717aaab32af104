"""one-time login links of the customer portal

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 18:30:00

``portal_login_link``: a link mailed to a customer who asked on /portal/login; it opens a
session listing his cases once, until it expires. Only the SHA-256 of its secret is stored.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'portal_login_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('secret_sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('requested_from', sa.String(length=64), nullable=True),
        sa.Column('used_from', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('secret_sha256'),
    )
    with op.batch_alter_table('portal_login_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_login_link_customer_id'), ['customer_id'], unique=False)


def downgrade():
    with op.batch_alter_table('portal_login_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_login_link_customer_id'))
    op.drop_table('portal_login_link')
