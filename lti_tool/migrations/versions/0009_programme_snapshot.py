"""programme snapshot: the programme view's figures, counted by the worker between page views

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import l2i_db.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'programme_snapshot',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('built_at', l2i_db.base.UTCDateTime(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_programme_snapshot')),
    )


def downgrade() -> None:
    op.drop_table('programme_snapshot')
