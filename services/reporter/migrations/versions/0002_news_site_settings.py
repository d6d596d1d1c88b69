"""News items with per-user read markers, and site settings chosen by administrators.

Revision ID: reporter_0002
Revises: reporter_0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "reporter_0002"
down_revision = "reporter_0001"
branch_labels = None
depends_on = None

_TABLE_OPTIONS = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table(
        "news_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_news_items")),
        **_TABLE_OPTIONS,
    )
    op.create_index(op.f("ix_news_items_expires_on"), "news_items", ["expires_on"])
    op.create_table(
        "news_reads",
        sa.Column("news_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["news_id"], ["news_items.id"], ondelete="CASCADE",
                                name=op.f("fk_news_reads_news_id_news_items")),
        sa.PrimaryKeyConstraint("news_id", "user_id", name=op.f("pk_news_reads")),
        **_TABLE_OPTIONS,
    )
    op.create_index(op.f("ix_news_reads_user_id"), "news_reads", ["user_id"])
    op.create_table(
        "site_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_site_settings")),
        **_TABLE_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table("site_settings")
    op.drop_index(op.f("ix_news_reads_user_id"), table_name="news_reads")
    op.drop_table("news_reads")
    op.drop_index(op.f("ix_news_items_expires_on"), table_name="news_items")
    op.drop_table("news_items")
