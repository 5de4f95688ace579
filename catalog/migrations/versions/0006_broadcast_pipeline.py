"""broadcast pipeline: profiles per event, CMAF renditions, proxies, thumbnails, mezzanine,
job retries with a dead state and heartbeats

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile', sa.String(length=100), nullable=True))
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('interlaced', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('dash_manifest_key', sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column('proxy_key', sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column('thumbnails_key', sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column('thumbnails', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('mezzanine_key', sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column('loudness', sa.JSON(), nullable=True))
    with op.batch_alter_table('renditions', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('kind', sa.String(length=10), nullable=False, server_default='video')
        )
        batch_op.add_column(sa.Column('frame_rate', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('bandwidth', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('average_bandwidth', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('iframe_playlist_key', sa.String(length=1024), nullable=True)
        )
        batch_op.alter_column('width', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('height', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('video_kbps', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_attempts', sa.Integer(), nullable=False,
                                      server_default='3'))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('options', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('output', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        for name in ('output', 'options', 'heartbeat_at', 'max_attempts'):
            batch_op.drop_column(name)
    with op.batch_alter_table('renditions', schema=None) as batch_op:
        for name in ('iframe_playlist_key', 'average_bandwidth', 'bandwidth', 'frame_rate', 'kind'):
            batch_op.drop_column(name)
    with op.batch_alter_table('assets', schema=None) as batch_op:
        for name in ('loudness', 'mezzanine_key', 'thumbnails', 'thumbnails_key', 'proxy_key',
                     'dash_manifest_key', 'interlaced', 'profile'):
            batch_op.drop_column(name)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('profile')
