"""Tables of the jobs service: analysis configs (+ access rows), pre-processes (+ access rows), jobs, results,
workers.

Revision ID: jobs_0002
Revises: jobs_0001
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = 'jobs_0002'
down_revision = 'jobs_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analysis_config',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('program', sa.String(length=20), nullable=False),
    sa.Column('command', sa.Text(), nullable=False),
    sa.Column('fuse_command', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('classification', sa.String(length=100), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('time_limit_s', sa.Integer(), nullable=True),
    sa.Column('memory_limit_mb', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_config')),
    sa.UniqueConstraint('name', name=op.f('uq_analysis_config_name'))
    )
    op.create_table('pre_process',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('command', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pre_process')),
    sa.UniqueConstraint('name', name=op.f('uq_pre_process_name'))
    )
    op.create_table('worker',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('current_job_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('last_heartbeat_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_worker'))
    )
    op.create_table('analysis_config_access',
    sa.Column('config_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['config_id'], ['analysis_config.id'], name=op.f('fk_analysis_config_access_config_id_analysis_config'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('config_id', 'group_id', name=op.f('pk_analysis_config_access'))
    )
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('sample_set_id', sa.Integer(), nullable=True),
    sa.Column('config_id', sa.Integer(), nullable=True),
    sa.Column('pre_process_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('active_key', sa.String(length=100), nullable=True),
    sa.Column('queue_token', sa.String(length=40), nullable=True),
    sa.Column('input_bucket', sa.String(length=63), nullable=False),
    sa.Column('input_key', sa.String(length=1024), nullable=False),
    sa.Column('input_key2', sa.String(length=1024), nullable=True),
    sa.Column('input_name', sa.String(length=255), nullable=False),
    sa.Column('grep_reads', sa.String(length=1000), nullable=True),
    sa.Column('output_key', sa.String(length=1024), nullable=True),
    sa.Column('program', sa.String(length=20), nullable=False),
    sa.Column('command', sa.Text(), nullable=False),
    sa.Column('time_limit_s', sa.Integer(), nullable=False),
    sa.Column('memory_limit_mb', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.String(length=200), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('queued_at', sa.DateTime(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['config_id'], ['analysis_config.id'], name=op.f('fk_job_config_id_analysis_config')),
    sa.ForeignKeyConstraint(['pre_process_id'], ['pre_process.id'], name=op.f('fk_job_pre_process_id_pre_process')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
    sa.UniqueConstraint('active_key', name=op.f('uq_job_active_key'))
    )
    op.create_index('ix_job_sample_config', 'job', ['sample_id', 'config_id'], unique=False)
    op.create_index('ix_job_set', 'job', ['sample_set_id'], unique=False)
    op.create_index('ix_job_state', 'job', ['state'], unique=False)
    op.create_table('pre_process_access',
    sa.Column('pre_process_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['pre_process_id'], ['pre_process.id'], name=op.f('fk_pre_process_access_pre_process_id_pre_process'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pre_process_id', 'group_id', name=op.f('pk_pre_process_access'))
    )
    op.create_table('result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('sample_set_id', sa.Integer(), nullable=True),
    sa.Column('config_id', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.String(length=63), nullable=False),
    sa.Column('vidjil_key', sa.String(length=1024), nullable=True),
    sa.Column('airr_key', sa.String(length=1024), nullable=True),
    sa.Column('log_key', sa.String(length=1024), nullable=True),
    sa.Column('extra_key', sa.String(length=1024), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('reads_total', sa.BigInteger(), nullable=True),
    sa.Column('reads_segmented', sa.BigInteger(), nullable=True),
    sa.Column('reads_by_locus', sa.JSON(), nullable=False),
    sa.Column('clones_total', sa.Integer(), nullable=True),
    sa.Column('run_date', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['config_id'], ['analysis_config.id'], name=op.f('fk_result_config_id_analysis_config')),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_result_job_id_job')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result')),
    sa.UniqueConstraint('job_id', name=op.f('uq_result_job_id'))
    )
    op.create_index('ix_result_sample_config', 'result', ['sample_id', 'config_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_result_sample_config', table_name='result')
    op.drop_table('result')
    op.drop_table('pre_process_access')
    op.drop_index('ix_job_state', table_name='job')
    op.drop_index('ix_job_set', table_name='job')
    op.drop_index('ix_job_sample_config', table_name='job')
    op.drop_table('job')
    op.drop_table('analysis_config_access')
    op.drop_table('worker')
    op.drop_table('pre_process')
    op.drop_table('analysis_config')
