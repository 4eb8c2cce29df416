"""dashboard indexes: levels and first proficiency read from the index alone

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The dashboards count levels learner by learner, and find when each pair first reached a level:
    # with the level (and the time) in the index, neither reads the table.
    op.create_index('ix_proficiency_learner_level', 'competency_proficiency',
                    ['learner_id', 'competency_id', 'level'], unique=False)
    op.create_index('ix_history_learner_level', 'proficiency_history',
                    ['learner_id', 'competency_id', 'level', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_history_learner_level', table_name='proficiency_history')
    op.drop_index('ix_proficiency_learner_level', table_name='competency_proficiency')
