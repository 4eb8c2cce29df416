"""identities: link codes, identity links, trusted email, credentials

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa
import l2i_db.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('link_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', l2i_db.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', l2i_db.base.UTCDateTime(), nullable=False),
    sa.Column('used_at', l2i_db.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['learner_id'], ['learner.id'], name=op.f('fk_link_code_learner_id_learner'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['platform_user.id'], name=op.f('fk_link_code_user_id_platform_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_link_code_code_hash'))
    )
    with op.batch_alter_table('link_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_code_learner_id'), ['learner_id'], unique=False)

    op.create_table('link_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('at', l2i_db.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['platform_user.id'], name=op.f('fk_link_attempt_user_id_platform_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_attempt'))
    )
    with op.batch_alter_table('link_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_link_attempt_user_at', ['user_id', 'at'], unique=False)

    op.create_table('identity_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('absorbed_key', sa.String(length=64), nullable=True),
    sa.Column('linked_at', l2i_db.base.UTCDateTime(), nullable=False),
    sa.Column('unlinked_at', l2i_db.base.UTCDateTime(), nullable=True),
    sa.Column('unlinked_by', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['learner_id'], ['learner.id'], name=op.f('fk_identity_link_learner_id_learner'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['platform_user.id'], name=op.f('fk_identity_link_user_id_platform_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_link'))
    )
    with op.batch_alter_table('identity_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_link_learner_id'), ['learner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_link_user_id'), ['user_id'], unique=False)

    op.create_table('credential',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('competency_id', sa.String(length=64), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('issued_at', l2i_db.base.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', l2i_db.base.UTCDateTime(), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revocation_reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['learner_id'], ['learner.id'], name=op.f('fk_credential_learner_id_learner'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['platform_user.id'], name=op.f('fk_credential_revoked_by_id_platform_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential'))
    )
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.create_index('ix_credential_learner_competency', ['learner_id', 'competency_id'], unique=False)

    # a plain ADD COLUMN: a batch copy of the platform table would trip SQLite's foreign keys
    op.add_column('platform', sa.Column('trusts_email', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Finding the other identities with the same address must be an indexed read.
    with op.batch_alter_table('platform_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_key', sa.String(length=320), nullable=True))
        batch_op.create_index(batch_op.f('ix_platform_user_email_key'), ['email_key'], unique=False)
    platform_user = sa.table('platform_user', sa.column('email', sa.String), sa.column('email_key', sa.String))
    op.execute(platform_user.update().values(email_key=sa.func.lower(platform_user.c.email)))


def downgrade() -> None:
    with op.batch_alter_table('platform_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_platform_user_email_key'))
        batch_op.drop_column('email_key')
    with op.batch_alter_table('platform', schema=None) as batch_op:
        batch_op.drop_column('trusts_email')
    op.drop_table('credential')
    op.drop_table('identity_link')
    op.drop_table('link_attempt')
    op.drop_table('link_code')
