"""Alembic environment: runs on the engine handed in by `recur.storage.migrate`."""

from __future__ import annotations

from alembic import context

from recur.storage.tables import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    raise RuntimeError("run migrations through `recur migrate` (recur.storage.migrate.upgrade)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
