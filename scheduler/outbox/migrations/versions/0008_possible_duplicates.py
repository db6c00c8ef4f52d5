"""Sends that may duplicate an unanswered attempt, and the SMS requests whose answer matters
to the next attempt.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder") as batch:
        batch.add_column(sa.Column("maybe_sent", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("delivery_attempt") as batch:
        batch.add_column(
            sa.Column("possible_duplicate", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "sms_request",
        sa.Column("request_id", sa.String(), primary_key=True),
        sa.Column("message_key", sa.String(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sms_request_message_key", "sms_request", ["message_key"])


def downgrade() -> None:
    op.drop_index("ix_sms_request_message_key", table_name="sms_request")
    op.drop_table("sms_request")
    with op.batch_alter_table("delivery_attempt") as batch:
        batch.drop_column("possible_duplicate")
    with op.batch_alter_table("reminder") as batch:
        batch.drop_column("maybe_sent")
