"""Events to e-office systems (scheduler/outbox/events.py): the endpoints sync mirrors from
config/channels.yaml's `eoffice` channel (`event_endpoint`: which plans and event types each takes;
never its address or secret), and the body an event row carries (`reminder.payload`).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_endpoint",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("plans", sa.JSON(), nullable=True),
        sa.Column("types", sa.JSON(), nullable=True),
    )
    with op.batch_alter_table("reminder") as batch:
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reminder") as batch:
        batch.drop_column("payload")
    op.drop_table("event_endpoint")
