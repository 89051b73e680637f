"""mypy over the core modules (strict on errors/config/lifecycle/progress/api, see pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = [
    "errors",
    "config",
    "constants",
    "progress",
    "models",
    "db",
    "lifecycle",
    "queues",
    "runner",
    "api",
    "worker",
    "maintenance",
    "health",
    "metrics",
    "logs",
    "web",
    "cli",
    "render",
    "testing",
]


@pytest.mark.slow
def test_core_modules_type_check() -> None:
    files = [str(ROOT / "taskq" / f"{name}.py") for name in CORE]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
