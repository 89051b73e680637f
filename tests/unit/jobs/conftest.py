"""Fixtures shared by the job tests: a bounded DuckDB connection and small file writers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from taskq.jobs.io import connect


@pytest.fixture
def con(tmp_path: Path) -> Iterator[object]:
    """A DuckDB connection from :func:`taskq.jobs.io.connect` spilling into ``tmp_path``."""
    connection = connect(memory_limit="256MB", threads=2, temp_dir=tmp_path / "duck")
    yield connection
    connection.close()


@pytest.fixture
def write_bytes(tmp_path: Path):
    """``write_bytes(name, data) -> Path``: a file under ``tmp_path``."""

    def _write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return _write
