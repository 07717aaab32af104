"""mailbox secrets are stored encrypted

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 11:10:00

Mailbox passwords, OAuth tokens and webhook tokens (``mailbox.inbound_secret``,
``smtp_secret``, ``webhook_secret``) are encrypted with the desk's SECRETS_KEY
(``app.core.encryption``). The columns become TEXT, because a token is longer than the
secret (SQLite ignores declared lengths and keeps its declaration), and every value stored
in plain text is encrypted. The downgrade decrypts them again.
"""
from alembic import op
import sqlalchemy as sa

from app.core.encryption import decrypt, encrypt, is_encrypted


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

COLUMNS = {'inbound_secret': 512, 'smtp_secret': 512, 'webhook_secret': 128}
mailbox = sa.table('mailbox', sa.column('id', sa.Integer), *(sa.column(c, sa.Text) for c in COLUMNS))


def _rewrite(convert):
    bind = op.get_bind()
    rows = bind.execute(sa.select(mailbox.c.id, *(mailbox.c[c] for c in COLUMNS))).all()
    for row in rows:
        changes = {}
        for name, stored in zip(COLUMNS, row[1:], strict=True):
            new = convert(stored) if stored else stored
            if new != stored:
                changes[name] = new
        if changes:
            bind.execute(mailbox.update().where(mailbox.c.id == row[0]).values(**changes))


def upgrade():
    if op.get_bind().dialect.name != 'sqlite':
        for name, length in COLUMNS.items():
            op.alter_column('mailbox', name, type_=sa.Text(), existing_type=sa.String(length))
    _rewrite(lambda stored: stored if is_encrypted(stored) else encrypt(stored))


def downgrade():
    _rewrite(decrypt)
    if op.get_bind().dialect.name != 'sqlite':
        for name, length in COLUMNS.items():
            op.alter_column('mailbox', name, type_=sa.String(length), existing_type=sa.Text())
