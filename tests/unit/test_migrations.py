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


def _upgrade_in_child(data_dir: str) -> None:
    import os

    from taskq import db as child_db

    try:
        child_db.upgrade(Settings(data_dir=Path(data_dir)))
    except Exception as exc:  # report to the parent through the exit code
        print(f"upgrade failed: {exc}", flush=True)
        os._exit(1)
    os._exit(0)


def test_concurrent_first_use_of_one_sqlite_file(tmp_path: Path) -> None:
    """A worker, its maintenance process and the API may open a new SQLite file at once."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    for round_ in range(3):
        data = tmp_path / f"r{round_}"
        procs = [ctx.Process(target=_upgrade_in_child, args=(str(data),)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * 6
        assert db.current_revision(Settings(data_dir=data)) == "0001"
