"""Private servers and assertions for the fault tests.

The machine's shared Redis (6379) and PostgreSQL (5432) serve other test runs,
so fault tests never touch them: :class:`RedisServer` and :class:`PostgresCluster`
run private copies on free ports that a test may kill and start again.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from taskq.config import Settings
from taskq.db import session_scope
from taskq.lifecycle import ENDED
from taskq.models import Task, TaskEvent
from taskq.testing import wait_for

BENCH_FILE = Path(__file__).resolve().parents[2] / ".bench" / "faults.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throw-away ``redis-server`` (no persistence): restarting it empties it."""

    def __init__(self, workdir: Path, binary: str = "redis-server") -> None:
        self.workdir = workdir
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url, socket_connect_timeout=2)

    def start(self, timeout: float = 15.0) -> None:
        import redis

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        log = (self.workdir / "redis.log").open("ab")
        cmd = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        client = self.client()

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            try:
                return bool(client.ping())
            except redis.exceptions.ConnectionError:
                return False

        try:
            wait_for(up, timeout, interval=0.05, what=f"redis-server on port {self.port}")
        finally:
            client.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def restart_empty(self, sig: int = signal.SIGKILL) -> None:
        self.stop(sig)
        self.start()


def postgres_bin() -> Path | None:
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return None
    versions = sorted((p for p in root.iterdir() if (p / "bin" / "initdb").exists()), key=lambda p: p.name)
    return versions[-1] / "bin" if versions else None


class PostgresCluster:
    """A private PostgreSQL cluster owned by the ``postgres`` OS user (it refuses root)."""

    def __init__(self, bindir: Path, user: str = "postgres") -> None:
        self.bindir = bindir
        self.user = user
        self.port = free_port()
        # Not under pytest's tmp_path: that is root-only (0700), and postgres must enter it.
        self.base = Path(tempfile.mkdtemp(prefix="taskq-faults-pg-"))
        pw = pwd.getpwnam(user)
        os.chown(self.base, pw.pw_uid, pw.pw_gid)
        self.data = self.base / "data"
        self.logfile = self.base / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60.0) -> None:
        cmd = ["runuser", "-u", self.user, "--", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.base)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr or proc.stdout}")

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        if self.running():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


# Reading the SQL truth ----------------------------------------------------------------------


def tasks(settings: Settings, ids: Iterable[str]) -> dict[str, Task]:
    wanted = list(ids)
    with session_scope(settings) as s:
        rows = list(s.scalars(select(Task).where(Task.id.in_(wanted))))
        for row in rows:
            s.expunge(row)
    return {row.id: row for row in rows}


def events(settings: Settings, ids: Iterable[str]) -> dict[str, list[TaskEvent]]:
    wanted = list(ids)
    out: dict[str, list[TaskEvent]] = {i: [] for i in wanted}
    with session_scope(settings) as s:
        rows = list(s.scalars(select(TaskEvent).where(TaskEvent.task_id.in_(wanted)).order_by(TaskEvent.id)))
        for row in rows:
            s.expunge(row)
    for row in rows:
        out[row.task_id].append(row)
    return out


def statuses(settings: Settings, ids: Iterable[str]) -> Counter[str]:
    return Counter(t.status for t in tasks(settings, ids).values())


def wait_all(settings: Settings, ids: list[str], want: set[str], timeout: float, what: str) -> None:
    """Wait until every task is in one of ``want`` (fails early if one ends elsewhere)."""

    def done() -> bool:
        rows = tasks(settings, ids)
        wrong = {i: r.status for i, r in rows.items() if r.status in ENDED and r.status not in want}
        assert not wrong, f"tasks ended in unexpected states: {wrong}"
        return len(rows) == len(ids) and all(r.status in want for r in rows.values())

    try:
        wait_for(done, timeout, interval=0.25, what=what)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; now {dict(statuses(settings, ids))}") from None


def path_of(event: TaskEvent) -> str:
    return f"{event.from_status}->{event.to_status}"


def assert_single_outcome(history: list[TaskEvent], final: str) -> None:
    """Exactly one event entered an ended state; it is the last one and matches the row."""
    ended = [e for e in history if e.to_status in ENDED]
    assert len(ended) == 1, [path_of(e) for e in history]
    assert history[-1] is ended[0] and ended[0].to_status == final, [path_of(e) for e in history]


def assert_completed_output(task: Task, input_rows: int) -> None:
    """The published output directory is whole: the tool's file and the report."""
    out = Path(task.output_dir)
    assert out.is_dir(), f"{task.id}: no output dir"
    result = json.loads((out / "result.json").read_text())
    assert result["rows"] == input_rows
    report = json.loads((out / "report.json").read_text())
    assert sorted(report["outputs"]) == ["report.json", "result.json"]
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "result.json"]
    assert task.result is not None and task.result["outputs"] == report["outputs"]


def assert_no_staging_leftovers(settings: Settings) -> None:
    """No ``.<id>.partial-*`` (or ``.old-*``) directory survives in the outputs."""
    if not settings.outputs.is_dir():
        return
    leftovers = sorted(p.name for p in settings.outputs.iterdir() if p.name.startswith("."))
    assert not leftovers, f"staging leftovers: {leftovers}"


def record_bench(section: str, figures: dict[str, Any]) -> None:
    """Merge ``figures`` under ``section`` into ``.bench/faults.json`` (gitignored)."""
    BENCH_FILE.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {}
    if BENCH_FILE.exists():
        with contextlib.suppress(ValueError):
            data = json.loads(BENCH_FILE.read_text())
    data[section] = {**figures, "recorded_at": datetime.now().astimezone().isoformat(timespec="seconds")}
    BENCH_FILE.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"\n[faults] {section}: {json.dumps(figures, sort_keys=True)}")
