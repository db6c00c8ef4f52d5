"""An index to find the next retry without reading every pending row.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reminder_status_next_attempt_at", "reminder", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_reminder_status_next_attempt_at", "reminder")
