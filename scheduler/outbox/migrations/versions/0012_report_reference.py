"""The report's reference as the confirmation gives it: its number and symbol ("Số, ký hiệu văn
bản", e.g. 125/BC-UBND) and its date ("Ngày văn bản"). Both optional: NULL when not given, and on
every row confirmed before.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("occurrence") as batch:
        batch.add_column(sa.Column("report_number", sa.String(), nullable=True))
        batch.add_column(sa.Column("report_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("occurrence") as batch:
        batch.drop_column("report_date")
        batch.drop_column("report_number")
