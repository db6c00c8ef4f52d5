"""Dispatch: retries, delivery attempts, confirmations.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(), nullable=True))
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("provider_id", sa.String(), nullable=True))
    with op.batch_alter_table("occurrence") as batch:
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("confirmed_by", sa.String(), nullable=True))
    op.create_table(
        "delivery_attempt",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("reminder_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
    )
    op.create_index("ix_delivery_attempt_reminder_id", "delivery_attempt", ["reminder_id"])


def downgrade() -> None:
    op.drop_table("delivery_attempt")
    with op.batch_alter_table("occurrence") as batch:
        batch.drop_column("confirmed_by")
        batch.drop_column("confirmed_at")
    with op.batch_alter_table("reminder") as batch:
        for column in ("provider_id", "sent_at", "claimed_by", "next_attempt_at"):
            batch.drop_column(column)
