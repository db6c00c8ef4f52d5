"""The focal agency's actions (scheduler/outbox/actions.py): their history, `occurrence_action`
(who did what to which occurrence × agency, when and why), and the decisions the status model
and sync read on the occurrence: `waived` and `extended_to`.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("occurrence") as batch:
        batch.add_column(sa.Column("waived", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("extended_to", sa.Date(), nullable=True))
    op.create_table(
        "occurrence_action",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("occurrence_key", sa.String(), nullable=False),
        sa.Column("agency_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_occurrence_action_occurrence_key", "occurrence_action", ["occurrence_key"])
    op.create_index("ix_occurrence_action_agency_id", "occurrence_action", ["agency_id"])


def downgrade() -> None:
    op.drop_index("ix_occurrence_action_agency_id", table_name="occurrence_action")
    op.drop_index("ix_occurrence_action_occurrence_key", table_name="occurrence_action")
    op.drop_table("occurrence_action")
    with op.batch_alter_table("occurrence") as batch:
        batch.drop_column("extended_to")
        batch.drop_column("waived")
