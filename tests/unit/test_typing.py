"""mypy over the package (strict on errors/config/lifecycle/progress/api, see pyproject.toml), and ruff.

``make lint`` runs the same tools; these tests keep it green in CI.
"""

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


@pytest.mark.slow
def test_whole_package_type_checks() -> None:
    """The analyses too (taskq/jobs), not only the core."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "taskq"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_finds_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "taskq", "tests", "scripts"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
