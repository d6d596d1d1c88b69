"""sample sets, samples, tags, audit, file sources

Revision ID: samples_0002
Revises: samples_0001
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = 'samples_0002'
down_revision = 'samples_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('impersonator_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('sample_set_id', sa.Integer(), nullable=True),
    sa.Column('sample_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry'))
    )
    op.create_index(op.f('ix_audit_entry_sample_id'), 'audit_entry', ['sample_id'], unique=False)
    op.create_index('ix_audit_entry_set_time', 'audit_entry', ['sample_set_id', 'at'], unique=False)
    op.create_table('file_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('root', sa.String(length=2048), nullable=False),
    sa.Column('extensions', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_file_source')),
    sa.UniqueConstraint('name', name=op.f('uq_file_source_name'))
    )
    op.create_table('sample_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('creator_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('info', sa.Text(), nullable=False),
    sa.Column('label', sa.String(length=255), nullable=True),
    sa.Column('first_name', sa.String(length=255), nullable=True),
    sa.Column('last_name', sa.String(length=255), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('run_date', sa.Date(), nullable=True),
    sa.Column('sequencer', sa.String(length=255), nullable=True),
    sa.Column('pcr', sa.String(length=255), nullable=True),
    sa.Column('sort_name', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sample_set'))
    )
    op.create_index(op.f('ix_sample_set_kind'), 'sample_set', ['kind'], unique=False)
    op.create_index(op.f('ix_sample_set_sort_name'), 'sample_set', ['sort_name'], unique=False)
    op.create_table('tag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag')),
    sa.UniqueConstraint('name', name=op.f('uq_tag_name'))
    )
    op.create_table('group_tag',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tag_id'], ['tag.id'], name=op.f('fk_group_tag_tag_id_tag'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'tag_id', name=op.f('pk_group_tag'))
    )
    op.create_table('sample',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('original_filename', sa.String(length=1024), nullable=False),
    sa.Column('filename2', sa.String(length=255), nullable=True),
    sa.Column('original_filename2', sa.String(length=1024), nullable=True),
    sa.Column('sampling_date', sa.Date(), nullable=True),
    sa.Column('info', sa.Text(), nullable=False),
    sa.Column('pcr', sa.String(length=255), nullable=True),
    sa.Column('sequencer', sa.String(length=255), nullable=True),
    sa.Column('producer', sa.String(length=255), nullable=True),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('pre_process_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('file_source_id', sa.Integer(), nullable=True),
    sa.Column('source_path', sa.String(length=2048), nullable=True),
    sa.Column('source_path2', sa.String(length=2048), nullable=True),
    sa.Column('bucket', sa.String(length=63), nullable=True),
    sa.Column('object_key', sa.String(length=512), nullable=True),
    sa.Column('object_key2', sa.String(length=512), nullable=True),
    sa.Column('pending_key', sa.String(length=512), nullable=True),
    sa.Column('pending_key2', sa.String(length=512), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('size2', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('sha256_2', sa.String(length=64), nullable=True),
    sa.Column('file_format', sa.String(length=16), nullable=True),
    sa.Column('compressed', sa.Boolean(), nullable=False),
    sa.Column('check_report', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['file_source_id'], ['file_source.id'], name=op.f('fk_sample_file_source_id_file_source'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sample'))
    )
    op.create_index(op.f('ix_sample_object_key'), 'sample', ['object_key'], unique=False)
    op.create_index(op.f('ix_sample_object_key2'), 'sample', ['object_key2'], unique=False)
    op.create_index(op.f('ix_sample_status'), 'sample', ['status'], unique=False)
    op.create_table('sample_set_access',
    sa.Column('sample_set_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('granted_by', sa.Integer(), nullable=True),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['sample_set_id'], ['sample_set.id'], name=op.f('fk_sample_set_access_sample_set_id_sample_set'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sample_set_id', 'group_id', name=op.f('pk_sample_set_access'))
    )
    op.create_index(op.f('ix_sample_set_access_group_id'), 'sample_set_access', ['group_id'], unique=False)
    op.create_table('sample_set_tag',
    sa.Column('sample_set_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['sample_set_id'], ['sample_set.id'], name=op.f('fk_sample_set_tag_sample_set_id_sample_set'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tag.id'], name=op.f('fk_sample_set_tag_tag_id_tag'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sample_set_id', 'tag_id', name=op.f('pk_sample_set_tag'))
    )
    op.create_index(op.f('ix_sample_set_tag_tag_id'), 'sample_set_tag', ['tag_id'], unique=False)
    op.create_table('sample_set_membership',
    sa.Column('sample_set_id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['sample_id'], ['sample.id'], name=op.f('fk_sample_set_membership_sample_id_sample'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sample_set_id'], ['sample_set.id'], name=op.f('fk_sample_set_membership_sample_set_id_sample_set'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sample_set_id', 'sample_id', name=op.f('pk_sample_set_membership'))
    )
    op.create_index(op.f('ix_sample_set_membership_sample_id'), 'sample_set_membership', ['sample_id'], unique=False)
    op.create_table('sample_tag',
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['sample_id'], ['sample.id'], name=op.f('fk_sample_tag_sample_id_sample'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tag.id'], name=op.f('fk_sample_tag_tag_id_tag'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sample_id', 'tag_id', name=op.f('pk_sample_tag'))
    )
    op.create_index(op.f('ix_sample_tag_tag_id'), 'sample_tag', ['tag_id'], unique=False)


def downgrade() -> None:
    # dropping a table drops its indexes (an index used by a foreign key cannot be dropped first)
    op.drop_table('sample_tag')
    op.drop_table('sample_set_membership')
    op.drop_table('sample_set_tag')
    op.drop_table('sample_set_access')
    op.drop_table('sample')
    op.drop_table('group_tag')
    op.drop_table('tag')
    op.drop_table('sample_set')
    op.drop_table('file_source')
    op.drop_table('audit_entry')
