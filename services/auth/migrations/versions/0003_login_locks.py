"""login_locks: the rows a login locks while it counts failures and records its attempt (rate limit race)

Revision ID: auth_0003
Revises: auth_0002
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = 'auth_0003'
down_revision = 'auth_0002'
branch_labels = None
depends_on = None

#: services.auth.models.LOGIN_LOCK_STRIPES when this revision was written (a later change needs a new revision)
STRIPES = 64


def upgrade() -> None:
    table = op.create_table(
        'login_locks',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_locks'))
    )
    op.bulk_insert(table, [{"id": n} for n in range(1, STRIPES + 1)])


def downgrade() -> None:
    op.drop_table('login_locks')
