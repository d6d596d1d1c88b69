"""Initial revision of the jobs database: no tables yet (they come with the service's issue).

Revision ID: jobs_0001
Revises:
Create Date: 2026-11-29
"""

revision = "jobs_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
