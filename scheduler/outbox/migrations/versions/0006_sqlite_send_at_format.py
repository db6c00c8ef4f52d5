"""SQLite: rewrite `reminder.send_at` values that sync stored as '…HH:MM:SS+00:00'.

Before this revision the bulk insert of sync wrote the raw datetime's text instead of
SQLAlchemy's '…HH:MM:SS.ffffff' form; SQLite compares the text, so the two forms of
the same instant sorted apart. PostgreSQL stores timestamps natively: nothing to do.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "UPDATE reminder SET send_at = CASE WHEN length(send_at) = 25 "
        "THEN substr(send_at, 1, 19) || '.000000' ELSE substr(send_at, 1, 26) END "
        "WHERE send_at LIKE '%+00:00'"
    )


def downgrade() -> None:
    pass  # the new form is what SQLAlchemy reads and writes; nothing to undo
