"""Real worker subprocesses, real Redis, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from taskq.api import TaskQ
from taskq.config import Settings
from taskq.db import session_scope
from taskq.models import TaskEvent
from taskq.testing import WorkerProcess, history, wait_for

pytestmark = pytest.mark.integration


def _status(client: TaskQ, task_id: str) -> str:
    return client.get(task_id, events=False).task["status"]


def _wait_status(client: TaskQ, task_id: str, status: str, timeout: float = 30.0) -> None:
    wait_for(
        lambda: _status(client, task_id) == status,
        timeout,
        what=f"{task_id} to be {status} (is {_status(client, task_id)})",
    )


@pytest.fixture
def csv_input(backend_settings: Settings) -> Path:
    path = backend_settings.data_dir / "uploads" / "in.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(100)))
    return path


def test_cancel_running_job_that_reports_progress(backend_settings: Settings, csv_input: Path) -> None:
    client = TaskQ(backend_settings)
    with WorkerProcess(backend_settings, ["testq"]):
        info = client.submit("test-steps", csv_input, {"steps": 600, "step_seconds": 0.05})
        wait_for(lambda: client.get(info.id, events=False).task["progress"] > 0, 20, what="progress")
        asked = time.monotonic()
        client.cancel(info.id)
        _wait_status(client, info.id, "CANCELLED", timeout=backend_settings.cancel_grace)
        assert time.monotonic() - asked < backend_settings.cancel_grace
        time.sleep(2)
    task = client.get(info.id)
    assert task.status == "CANCELLED" and task.task["progress"] < 100
    assert [e["to"] for e in task.events][-2:] == ["PROCESSING", "CANCELLED"]
    assert not Path(task.task["output_dir"]).exists()


def test_cancel_job_that_ignores_progress_is_killed(backend_settings: Settings, csv_input: Path) -> None:
    client = TaskQ(backend_settings)
    with WorkerProcess(backend_settings, ["testq"]) as worker:
        info = client.submit("test-stubborn", csv_input, {"seconds": 60})
        # Wait until it sits in its sleep: from then on it never checks for cancellation.
        wait_for(
            lambda: client.get(info.id, events=False).task["stage"] == "ignoring everybody", 20, what="stage"
        )
        time.sleep(0.5)
        asked = time.monotonic()
        client.cancel(info.id)
        _wait_status(client, info.id, "CANCELLED", timeout=backend_settings.cancel_grace + 10)
        took = time.monotonic() - asked
        assert backend_settings.cancel_grace - 1 <= took < backend_settings.cancel_grace + 10, client.get(
            info.id
        ).events
        # The worker survives and takes the next job.
        nxt = client.submit("test-steps", csv_input, {"steps": 2, "step_seconds": 0})
        _wait_status(client, nxt.id, "COMPLETED", 20)
        assert worker.proc.poll() is None
    task = client.get(info.id)
    assert task.status == "CANCELLED"
    assert "killed" in task.events[-1]["reason"]


def test_transient_failure_retried_with_backoff_then_completes(
    backend_settings: Settings, csv_input: Path
) -> None:
    client = TaskQ(backend_settings)
    counter = backend_settings.data_dir / "uploads" / "count"
    with WorkerProcess(backend_settings, ["testq"]):
        info = client.submit("test-flaky", csv_input, {"counter": str(counter), "failures": 2})
        _wait_status(client, info.id, "COMPLETED", 40)
    task = client.get(info.id)
    assert task.task["attempt"] == 3 and counter.read_text() == "3"
    assert history(task.events) == [
        "CREATED",
        "PROCESSING",
        "RETRYING",
        "QUEUED",
        "PROCESSING",
        "RETRYING",
        "QUEUED",
        "PROCESSING",
        "COMPLETED",
    ]


def test_permanent_failure_fails_without_retry(backend_settings: Settings, csv_input: Path) -> None:
    client = TaskQ(backend_settings)
    with WorkerProcess(backend_settings, ["testq"]):
        info = client.submit("test-broken", csv_input)
        _wait_status(client, info.id, "FAILED", 20)
        time.sleep(1.5)
    task = client.get(info.id)
    assert task.task["attempt"] == 1 and task.task["error_code"] == "JOB_FAILED"
    assert history(task.events) == ["CREATED", "PROCESSING", "FAILED"]


def test_two_workers_drain_50_tasks_each_completed_once(backend_settings: Settings, csv_input: Path) -> None:
    client = TaskQ(backend_settings)
    ids = [client.submit("test-steps", csv_input, {"steps": 2, "step_seconds": 0.01}).id for _ in range(50)]
    with (
        WorkerProcess(backend_settings, ["testq"], name="w-a"),
        WorkerProcess(backend_settings, ["testq"], name="w-b"),
    ):
        wait_for(
            lambda: all(_status(client, i) == "COMPLETED" for i in ids), 120, interval=0.5, what="50 tasks"
        )
    with session_scope(backend_settings) as s:
        events = s.execute(select(TaskEvent.task_id, TaskEvent.to_status, TaskEvent.worker)).all()
    completed = Counter(e.task_id for e in events if e.to_status == "COMPLETED")
    started = Counter(e.task_id for e in events if e.to_status == "PROCESSING")
    assert completed == Counter({i: 1 for i in ids})
    assert started == Counter({i: 1 for i in ids})
    workers = {e.worker for e in events if e.to_status == "COMPLETED"}
    assert workers == {"w-a", "w-b"}


def test_sigterm_lets_the_current_job_finish(backend_settings: Settings, csv_input: Path) -> None:
    client = TaskQ(backend_settings)
    worker = WorkerProcess(backend_settings, ["testq"]).start()
    try:
        info = client.submit("test-steps", csv_input, {"steps": 10, "step_seconds": 0.1})
        _wait_status(client, info.id, "PROCESSING", 20)
        worker.signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    finally:
        worker.stop()
    assert _status(client, info.id) == "COMPLETED"


def test_real_tools_end_to_end(backend_settings: Settings) -> None:
    sample = Path(__file__).resolve().parents[2] / "taskq" / "samples" / "customers.csv"
    if not sample.exists():
        pytest.fail("bundled sample data missing")
    client = TaskQ(backend_settings)
    ids = {tool: client.submit(tool, sample).id for tool in ("profile", "clean", "master")}
    with WorkerProcess(backend_settings, ["profile", "clean", "master"]):
        for task_id in ids.values():
            wait_for(lambda t=task_id: _status(client, t) in {"COMPLETED", "FAILED"}, 120, what="real tools")
    for tool, task_id in ids.items():
        task = client.get(task_id).task
        assert task["status"] == "COMPLETED", (tool, task["error_code"], task["error_message"])
        report = json.loads((Path(task["output_dir"]) / "report.json").read_text())
        assert report["input"]["rows"] > 0
    out = {
        tool: sorted(p.name for p in Path(client.get(t).task["output_dir"]).iterdir())
        for tool, t in ids.items()
    }
    assert {"profile.json", "profile.html"} <= set(out["profile"])
    assert {"changes.json", "quarantine.csv"} <= set(out["clean"]) and any(
        n.startswith("cleaned.") for n in out["clean"]
    )
    assert {"clusters.csv", "golden.csv", "pairs.csv", "stewardship.csv"} <= set(out["master"])


def test_concurrency_supervises_n_workers(backend_settings: Settings, csv_input: Path) -> None:
    client = TaskQ(backend_settings)
    ids = [client.submit("test-steps", csv_input, {"steps": 2, "step_seconds": 0.2}).id for _ in range(12)]
    supervisor = WorkerProcess(backend_settings, ["testq"], name="pool", args=["--concurrency", "2"]).start()
    try:
        wait_for(
            lambda: all(_status(client, i) == "COMPLETED" for i in ids), 90, interval=0.5, what="12 tasks"
        )
        supervisor.signal(signal.SIGTERM)
        assert supervisor.wait(30) == 0
    finally:
        supervisor.stop()
    with session_scope(backend_settings) as s:
        workers = {
            w for (w,) in s.execute(select(TaskEvent.worker).where(TaskEvent.to_status == "COMPLETED"))
        }
    assert workers == {"pool-0", "pool-1"}


def test_a_killed_pool_worker_comes_back_under_its_name_and_leaves_no_scheduler(
    backend_settings: Settings, csv_input: Path
) -> None:
    import os

    from rq import Worker

    from taskq.queues import connect
    from taskq.testing import _horse_pids

    conn = connect(backend_settings)
    supervisor = WorkerProcess(backend_settings, ["testq"], name="kpool", args=["--concurrency", "2"]).start()
    try:
        wait_for(lambda: len(Worker.all(connection=conn)) == 2, 30, what="two pool workers")
        first = next(w for w in Worker.all(connection=conn) if w.name == "kpool-0")
        scheduler = _horse_pids(first.pid)  # the scheduler process it forked
        os.kill(first.pid, signal.SIGKILL)

        def back() -> bool:
            live = {w.name: w.pid for w in Worker.all(connection=conn)}
            return live.get("kpool-0") not in (None, first.pid)

        # RQ refused the same name while the dead worker's registration lived (about a minute).
        wait_for(back, 20, interval=0.5, what="kpool-0 restarted")
        for pid in scheduler:
            wait_for(lambda pid=pid: not os.path.exists(f"/proc/{pid}"), 15, what=f"scheduler {pid} gone")
        assert "There exists an active worker" not in supervisor.log()
        client = TaskQ(backend_settings)
        task = client.submit("test-steps", csv_input, {"steps": 1, "step_seconds": 0})
        wait_for(lambda: _status(client, task.id) == "COMPLETED", 30, what="a task after the restart")
        supervisor.signal(signal.SIGTERM)
        assert supervisor.wait(30) == 0, supervisor.log()
    finally:
        supervisor.stop()


def test_a_worker_killed_outright_takes_its_scheduler_process_with_it(backend_settings: Settings) -> None:
    # A SIGKILLed single worker left RQ's scheduler process running for good, holding the
    # scheduler locks, so no replacement worker on those queues ever ran a scheduler.
    import os

    from rq import Worker

    from taskq.queues import connect
    from taskq.testing import _horse_pids

    conn = connect(backend_settings)
    worker = WorkerProcess(backend_settings, ["testq"], name="lone").start()
    try:
        wait_for(lambda: len(Worker.all(connection=conn)) == 1, 30, what="the worker")
        (registered,) = Worker.all(connection=conn)
        # Its children: the maintenance process, and RQ's scheduler process once it starts.
        wait_for(lambda: len(_horse_pids(registered.pid)) >= 2, 30, what="its scheduler process")
        children = _horse_pids(registered.pid)
        os.kill(registered.pid, signal.SIGKILL)
        for pid in children:
            wait_for(lambda pid=pid: not os.path.exists(f"/proc/{pid}"), 20, what=f"child {pid} gone")
    finally:
        worker.stop()


def test_pool_workers_die_with_a_supervisor_killed_outright(backend_settings: Settings) -> None:
    import os

    from rq import Worker

    from taskq.queues import connect

    conn = connect(backend_settings)
    supervisor = WorkerProcess(
        backend_settings, ["testq"], name="orphans", args=["--concurrency", "2"]
    ).start()
    try:
        wait_for(lambda: len(Worker.all(connection=conn)) == 2, 30, what="two pool workers")
        pids = [w.pid for w in Worker.all(connection=conn)]
        supervisor.signal(signal.SIGKILL)
        supervisor.wait(10)
        for pid in pids:
            wait_for(lambda pid=pid: not os.path.exists(f"/proc/{pid}"), 30, what=f"worker {pid} gone")
    finally:
        supervisor.stop()


def test_a_worker_does_not_outlive_the_test_process_that_started_it(tmp_path: Path, redis_url: str) -> None:
    """A test run killed outright must not leave workers consuming the next run's test queue."""
    import os
    import subprocess
    import sys

    from taskq.testing import settings_env
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, redis_url=redis_url)
    driver = (
        "import sys, time\n"
        "from taskq.config import Settings\n"
        "from taskq.testing import WorkerProcess\n"
        "w = WorkerProcess(Settings.from_env(), ['testq']).start()\n"
        "print(w.proc.pid, flush=True)\n"
        "time.sleep(600)\n"
    )

    def gone() -> bool:
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            return True
        # A zombie (exited, not yet reaped by init) counts as gone.
        with open(f"/proc/{worker_pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] == "Z"

    proc = subprocess.Popen(
        [sys.executable, "-c", driver], env=settings_env(settings), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    with proc.stdout:
        worker_pid = int(proc.stdout.readline())
    time.sleep(1.0)
    assert proc.poll() is None and not gone(), "the worker should be up before its starter dies"
    os.kill(proc.pid, signal.SIGKILL)  # no teardown runs, as when CI kills a test run
    proc.wait(10)

    try:
        wait_for(gone, 30, what="the orphaned worker to exit")
    finally:
        if not gone():  # stop it the way a supervisor would: it takes its children along
            os.kill(worker_pid, signal.SIGTERM)
            wait_for(gone, 30, what="the worker to stop")
