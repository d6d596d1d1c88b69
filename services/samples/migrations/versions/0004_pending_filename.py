"""sample: the file name an upload attempt was sent under (pending_filename, pending_original_filename, ...2)

Revision ID: samples_0004
Revises: samples_0003
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = 'samples_0004'
down_revision = 'samples_0003'
branch_labels = None
depends_on = None

COLUMNS = (('pending_filename', 255), ('pending_original_filename', 1024), ('pending_filename2', 255),
           ('pending_original_filename2', 1024))


def upgrade() -> None:
    # NULL for every existing row: an upload in progress during the upgrade keeps the sample's current name
    for name, length in COLUMNS:
        op.add_column('sample', sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.drop_column('sample', name)
