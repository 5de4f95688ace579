"""live ingest: feed state and clock, segment timing, gaps, rendition segments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 16:39:40.371922
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows get server defaults: file assets, idle feeds, no offset.
    op.create_table('gaps',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('feed_id', sa.String(length=36), nullable=False),
    sa.Column('asset_id', sa.String(length=36), nullable=True),
    sa.Column('clock_start_s', sa.Float(), nullable=False),
    sa.Column('clock_end_s', sa.Float(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_gaps_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], name=op.f('fk_gaps_feed_id_feeds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gaps'))
    )
    with op.batch_alter_table('gaps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gaps_feed_id'), ['feed_id'], unique=False)

    op.create_table('rendition_segments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('segment_id', sa.String(length=36), nullable=False),
    sa.Column('variant', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=1024), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('bandwidth', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_rendition_segments_segment_id_segments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rendition_segments')),
    sa.UniqueConstraint('segment_id', 'variant', name=op.f('uq_rendition_segments_segment_id'))
    )
    with op.batch_alter_table('rendition_segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rendition_segments_segment_id'), ['segment_id'], unique=False)

    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('file', 'live', name='asset_kind', native_enum=False, length=16), nullable=False, server_default='file'))

    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enabled', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('state', sa.Enum('idle', 'connecting', 'live', 'stalled', 'stopped', 'failed', name='feed_state', native_enum=False, length=16), nullable=False, server_default='idle'))
        batch_op.add_column(sa.Column('state_detail', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('mezzanine', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('clock_offset_s', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('clock_drift_ppm', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('clock_confidence', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('clock_method', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('bitrate_kbps', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('last_segment_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lag_s', sa.Float(), nullable=True))

    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discontinuity', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('program_date_time', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_segments_key'), ['key'])

    


def downgrade() -> None:
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_segments_key'), type_='unique')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('program_date_time')
        batch_op.drop_column('discontinuity')

    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_column('lag_s')
        batch_op.drop_column('last_segment_at')
        batch_op.drop_column('bitrate_kbps')
        batch_op.drop_column('clock_method')
        batch_op.drop_column('clock_confidence')
        batch_op.drop_column('clock_drift_ppm')
        batch_op.drop_column('clock_offset_s')
        batch_op.drop_column('mezzanine')
        batch_op.drop_column('state_detail')
        batch_op.drop_column('state')
        batch_op.drop_column('enabled')

    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('rendition_segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rendition_segments_segment_id'))

    op.drop_table('rendition_segments')
    with op.batch_alter_table('gaps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gaps_feed_id'))

    op.drop_table('gaps')
    
