"""Reminders whose policy lets them go out during the quiet hours.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder") as batch:
        batch.add_column(
            sa.Column("ignore_quiet_hours", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder") as batch:
        batch.drop_column("ignore_quiet_hours")
