"""The retry index holds only the rows that wait for a retry.

`next_attempt_at` is NULL on every row but those a transient failure put back, and the
one query that reads this index (the dispatcher's next retry) asks for
`next_attempt_at IS NOT NULL`, which lets SQLite and PostgreSQL use a partial index.
Whole, the index had an entry per row that every claim and every send rewrote; partial,
it holds a few rows and claiming or sending a row leaves it alone (bench/README.md).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NAME, COLUMNS = "ix_reminder_status_next_attempt_at", ["status", "next_attempt_at"]
WAITING = "next_attempt_at IS NOT NULL"


def upgrade() -> None:
    op.drop_index(NAME, "reminder")
    op.create_index(
        NAME, "reminder", COLUMNS, sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING)
    )


def downgrade() -> None:
    op.drop_index(NAME, "reminder")
    op.create_index(NAME, "reminder", COLUMNS)
