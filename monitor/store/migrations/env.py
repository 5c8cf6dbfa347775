"""Alembic's environment: runs the scripts in versions/ on the connection that
monitor/store/migrate.py passes in the config's attributes (inside its migration lock and
transaction), never on a URL of its own."""

from __future__ import annotations

from alembic import context

context.configure(connection=context.config.attributes["connection"])
with context.begin_transaction():
    context.run_migrations()
