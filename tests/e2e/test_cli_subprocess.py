"""The CLI as operators use it: `taskq ...` in subprocesses against a real worker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from taskq.config import Settings
from taskq.testing import WorkerProcess, history, settings_env

pytestmark = pytest.mark.integration


def taskq(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "taskq", *args],
        env=settings_env(settings, COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def sample(backend_settings: Settings) -> Path:
    path = backend_settings.data_dir / "uploads" / "people.csv"
    path.write_text("id,name,city\n" + "".join(f"{i},Name {i},City {i % 7}\n" for i in range(300)))
    return path


def test_submit_wait_status_cancel_retry(backend_settings: Settings, sample: Path) -> None:
    s = backend_settings
    with WorkerProcess(s, ["profile", "testq"]):
        done = as_json(taskq(s, "submit", "profile", str(sample), "--wait", "--json"))
        assert done["status"] == "COMPLETED" and done["progress"] == 100.0
        assert {"id", "status", "progress", "tool"} <= set(done)
        assert (Path(done["output_dir"]) / "profile.html").exists()

        shown = as_json(taskq(s, "status", done["id"], "--json"))
        assert history(shown["events"]) == ["CREATED", "PROCESSING", "COMPLETED"]

        overview = as_json(taskq(s, "status", "--json"))
        assert overview["tasks"]["COMPLETED"] == 1
        # The test tools' queue too: a plugin's queue is reported like the built-in ones.
        assert {q["queue"] for q in overview["queues"]} == {"profile", "clean", "master", "testq"}
        assert len(overview["workers"]) == 1

        long = as_json(
            taskq(
                s, "submit", "test-steps", str(sample), "-p", "steps=400", "-p", "step_seconds=0.05", "--json"
            )
        )
        cancelled = as_json(taskq(s, "cancel", long["id"], "--wait", "--json"))
        assert cancelled["status"] == "CANCELLED"
        again = as_json(taskq(s, "retry", long["id"], "--json"))
        assert (again["status"], again["attempt"]) == ("QUEUED", 2)
        as_json(taskq(s, "cancel", again["id"], "--wait", "--json"))

        human = taskq(s, "status")
        assert human.returncode == 0 and "queues" in human.stdout and "workers (1)" in human.stdout


def test_wait_exits_nonzero_when_the_task_fails(backend_settings: Settings, sample: Path) -> None:
    with WorkerProcess(backend_settings, ["testq"]):
        result = taskq(backend_settings, "submit", "test-broken", str(sample), "--wait", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error_code"] == "JOB_FAILED"


@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        (("status", "no-such-task"), "TASK_NOT_FOUND", 4),
        (("submit", "nope", "x.csv"), "UNKNOWN_TOOL", 2),
        (("submit", "profile", "/etc/passwd"), "INPUT_NOT_ALLOWED", 2),
        (("cancel", "no-such-task"), "TASK_NOT_FOUND", 4),
    ],
)
def test_errors_are_one_line_with_a_code(
    backend_settings: Settings, args: tuple[str, ...], code: str, exit_code: int
) -> None:
    result = taskq(backend_settings, *args)
    assert result.returncode == exit_code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error {code}: ")
    assert "Traceback" not in result.stderr


def test_run_needs_neither_redis_nor_a_database(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "taskq" / "samples" / "customers.csv"
    env = {
        "TASKQ_REDIS_URL": "redis://127.0.0.1:1/0",
        "TASKQ_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x",
    }
    settings = Settings.from_env(env)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "taskq",
            "run",
            "clean",
            str(sample),
            "--out",
            str(tmp_path / "out"),
            "--json",
        ],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["tool"] == "clean-my-data" and report["input"]["rows"] == 2001
    assert (tmp_path / "out" / "cleaned.csv").exists()


def test_worker_without_redis_exits_3_with_one_line(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, redis_url="redis://:s3cret@127.0.0.1:1/0")
    result = subprocess.run(
        [sys.executable, "-m", "taskq", "worker", "start", "--without-scheduler"],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert "REDIS_UNAVAILABLE" in result.stderr and "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr
