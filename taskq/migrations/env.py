"""Alembic environment: runs taskq's migrations against the configured database."""

from __future__ import annotations

from alembic import context

from taskq.db import _make_engine
from taskq.models import Base

settings = context.config.attributes["taskq_settings"]
engine = _make_engine(settings.sqlalchemy_url)
try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
finally:
    engine.dispose()
