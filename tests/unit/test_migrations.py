"""The Alembic migrations create exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from taskq import db
from taskq.config import Settings
from taskq.models import Base


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_models_match_migrations(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if backend == "sqlite":
        settings = Settings(data_dir=tmp_path)
    else:
        settings = Settings(database_url=request.getfixturevalue("postgres_url"))
    assert db.upgrade(settings) == "0001"
    assert db.current_revision(settings) == "0001"
    url = settings.sqlalchemy_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_fresh_database_reports_no_revision(tmp_path: Path) -> None:
    assert db.current_revision(Settings(data_dir=tmp_path)) is None
