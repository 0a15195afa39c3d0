"""Alembic environment: the engine comes from `config.attributes` (see clearway.store.migrate).

Each revision runs in a transaction of its own, so that one can build an index outside any transaction
(`store/online_index.py`): what ran before it is committed first, as each revision is once it has run."""

from __future__ import annotations

from alembic import context

from clearway.store.tables import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      transaction_per_migration=True)  # fmt: skip
    with context.begin_transaction():
        context.run_migrations()
