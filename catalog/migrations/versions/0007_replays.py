"""replays: markers, auto-replay rules, replay orders and their sources

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'markers',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('clock_s', sa.Float(), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('athletes', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_markers_event_id_events'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_markers')),
    )
    op.create_index(op.f('ix_markers_event_id'), 'markers', ['event_id'], unique=False)
    op.create_table(
        'replay_rules',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('tag', sa.String(length=100), nullable=False),
        sa.Column('kinds', sa.JSON(), nullable=False),
        sa.Column('before_s', sa.Float(), nullable=False),
        sa.Column('after_s', sa.Float(), nullable=False),
        sa.Column('options', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_replay_rules_event_id_events'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_replay_rules')),
    )
    op.create_index(op.f('ix_replay_rules_event_id'), 'replay_rules', ['event_id'], unique=False)
    op.create_table(
        'replays',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.Enum('angles', 'mosaic', 'sequence', 'sweep', name='replay_kind', native_enum=False, length=16), nullable=False),
        sa.Column('clock_start_s', sa.Float(), nullable=False),
        sa.Column('clock_end_s', sa.Float(), nullable=False),
        sa.Column('marker_id', sa.String(length=36), nullable=True),
        sa.Column('feed_ids', sa.JSON(), nullable=False),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.Column('job_id', sa.String(length=36), nullable=True),
        sa.Column('outputs', sa.JSON(), nullable=True),
        sa.Column('manifest_key', sa.String(length=1024), nullable=True),
        sa.Column('package_key', sa.String(length=1024), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_replays_event_id_events'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['marker_id'], ['markers.id'], name=op.f('fk_replays_marker_id_markers'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_replays_job_id_jobs'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_replays')),
    )
    op.create_index(op.f('ix_replays_event_id'), 'replays', ['event_id'], unique=False)
    op.create_table(
        'replay_sources',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('replay_id', sa.String(length=36), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('feed_id', sa.String(length=36), nullable=False),
        sa.Column('asset_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(['replay_id'], ['replays.id'], name=op.f('fk_replay_sources_replay_id_replays'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], name=op.f('fk_replay_sources_feed_id_feeds'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_replay_sources_asset_id_assets'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_replay_sources')),
    )
    op.create_index(op.f('ix_replay_sources_replay_id'), 'replay_sources', ['replay_id'], unique=False)
    op.create_index(op.f('ix_replay_sources_asset_id'), 'replay_sources', ['asset_id'], unique=False)


def downgrade() -> None:
    op.drop_table('replay_sources')
    op.drop_table('replays')
    op.drop_table('replay_rules')
    op.drop_table('markers')
