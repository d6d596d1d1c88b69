"""low-storage guard settings (one row)

Revision ID: samples_0003
Revises: samples_0002
Create Date: 2026-11-29
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = 'samples_0003'
down_revision = 'samples_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        'storage_guard',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('min_free_percent', sa.Float(), nullable=False),
        sa.Column('min_free_bytes', sa.BigInteger(), nullable=False),
        sa.Column('paths', sa.JSON(), nullable=True),
        sa.Column('last_alert_at', sa.DateTime(), nullable=True),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_storage_guard'))
    )
    # the single settings row (defaults: 1 % of the filesystem, at least 1 GiB)
    op.bulk_insert(table, [{"id": 1, "min_free_percent": 1.0, "min_free_bytes": 1024 ** 3, "paths": None,
                            "last_alert_at": None, "updated_by": None,
                            "updated_at": datetime.now(timezone.utc).replace(tzinfo=None)}])


def downgrade() -> None:
    op.drop_table('storage_guard')
