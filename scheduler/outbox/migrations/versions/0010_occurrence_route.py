"""Where an occurrence's report goes and through whom (its event's `to` and `via`), kept on the
row so that rendering a reminder does not expand the plan's calendar again.

Rows written before this migration keep NULL in both until sync writes them; rendering expands
the calendar for those, as before. "" means the event names none.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("occurrence") as batch:
        batch.add_column(sa.Column("to_agency_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("via_agency_id", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("occurrence") as batch:
        batch.drop_column("via_agency_id")
        batch.drop_column("to_agency_id")
