"""segments record what placed them on the event clock, and how exactly

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('clock_source', sa.String(length=20), nullable=False, server_default='arrival')
        )
        batch_op.add_column(sa.Column('clock_uncertainty_s', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.drop_column('clock_uncertainty_s')
        batch_op.drop_column('clock_source')
