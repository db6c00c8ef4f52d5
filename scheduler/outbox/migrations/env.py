"""Alembic environment: always run with a connection handed in by `scheduler.outbox.store.migrate`."""

from alembic import context
from sqlmodel import SQLModel

from scheduler.outbox.db_copy import TABLES  # noqa: F401 - every table, the channels' included

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
