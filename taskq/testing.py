"""Helpers for tests of taskq and of host applications: worker subprocesses and waiting.

``WorkerProcess`` starts ``taskq worker start`` in a real subprocess configured
from a :class:`Settings`, waits until it has registered with Redis, and stops
it (SIGTERM, then SIGKILL) on exit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ._process import die_with_parent
from .config import Settings

__all__ = ["WorkerProcess", "die_with_parent", "history", "settings_env", "wait_for"]

T = TypeVar("T")


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The current environment plus ``settings`` as TASKQ_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQ_") or k.startswith("TASKQ_TEST_")}
    env.update(settings.to_env())
    env.update(extra)
    return env


def history(events: Sequence[dict[str, Any]]) -> list[str]:
    """The statuses a task went through, with the submit race folded away.

    A worker may take a task (CREATED -> PROCESSING) before the submitting
    process has recorded CREATED -> QUEUED; both orders are correct, so tests
    compare this canonical form: the QUEUED right after CREATED is dropped.
    """
    out = [e["to"] for e in events]
    if out[:2] == ["CREATED", "QUEUED"]:
        del out[1]
    return out


def wait_for(
    predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.1, what: str = "condition"
) -> T:
    """Poll ``predicate`` until it returns something truthy; raise TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class WorkerProcess:
    """``taskq worker start`` in a subprocess."""

    def __init__(
        self,
        settings: Settings,
        queues: Sequence[str],
        *,
        name: str | None = None,
        args: Sequence[str] = (),
        log_path: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.settings = settings
        self.queues = list(queues)
        self.name = name or f"test-worker-{os.getpid()}-{time.monotonic_ns() % 10**8}"
        self.args = list(args)
        self.log_path = log_path or settings.data_dir / f"{self.name}.log"
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        cmd = [
            sys.executable,
            "-m",
            "taskq",
            "worker",
            "start",
            "--queues",
            ",".join(self.queues),
            "--name",
            self.name,
        ]
        self.proc = subprocess.Popen(
            cmd + self.args,
            env=settings_env(self.settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            preexec_fn=die_with_parent(),
        )
        if wait:
            try:
                self.wait_registered()
            except BaseException:
                self.stop()  # never leave the process running or its log file open
                raise
        return self

    def wait_registered(self, timeout: float = 30.0) -> None:
        from rq import Worker

        from .queues import connect

        conn = connect(self.settings)

        def registered() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}: {self.log()}")
            return any(w.name.startswith(self.name) for w in Worker.all(connection=conn))

        wait_for(registered, timeout, what=f"worker {self.name} to register")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the worker and its work horse (the horse has its own process group)."""
        assert self.proc is not None
        import contextlib

        horse = _horse_pids(self.proc.pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        for pid in horse:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _horse_pids(parent: int) -> list[int]:
    """Child processes of ``parent`` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent:
            out.append(int(entry.name))
    return out
