"""The names of an occurrence's agency and plan as they were when it was planned.

Rows written before keep NULL: the views show the configuration's current name for them.
The new statuses (ended, untracked) need no schema change: `occurrence.status` is text.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("occurrence") as batch:
        batch.add_column(sa.Column("agency_name", sa.String(), nullable=True))
        batch.add_column(sa.Column("plan_name", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("occurrence") as batch:
        batch.drop_column("plan_name")
        batch.drop_column("agency_name")
