"""Initial revision of the backup database: no tables yet (they come with the service's issue).

Revision ID: backup_0001
Revises:
Create Date: 2026-11-29
"""

revision = "backup_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
