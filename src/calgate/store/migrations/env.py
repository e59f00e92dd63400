"""Alembic environment: calgate passes its own connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from calgate.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("calgate migrations run through calgate.store.db.Database.migrate()")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
