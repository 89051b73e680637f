"""Rich rendering for the CLI: tables, task details, the live progress bar.

Only ``taskq.cli`` imports this module; it holds no logic beyond presentation.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

__all__ = [
    "console",
    "err_console",
    "overview",
    "print_json",
    "task_detail",
    "task_table",
    "wait_with_bar",
    "warn",
]

console = Console(highlight=False, soft_wrap=False)
err_console = Console(stderr=True, highlight=False)

STATUS_STYLE = {
    "CREATED": "white",
    "QUEUED": "cyan",
    "PROCESSING": "yellow",
    "RETRYING": "magenta",
    "COMPLETED": "green",
    "FAILED": "red",
    "CANCELLED": "bright_black",
    "EXPIRED": "bright_black",
}


def print_json(data: Any) -> None:
    """Machine-readable output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def _status(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def warn(message: Any) -> None:
    """One ``warning: ...`` line on stderr (the message shown as it is, never as markup)."""
    err_console.print(f"[yellow]warning[/]: {escape(str(message))}")


def _t(value: Any) -> Text:
    """Stored data as a table cell, never read as markup: a column named ``[/]`` or a
    path with ``[red]`` in it is shown as it is (rich would raise or swallow it)."""
    return Text("" if value is None else str(value))


def _short_time(value: str | None) -> str:
    return "" if not value else value.replace("T", " ")[:19]


def task_table(tasks: Iterable[dict[str, Any]], title: str | None = None) -> None:
    table = Table(title=title, show_lines=False)
    for col in ("id", "tool", "status", "progress", "attempt", "created", "error"):
        table.add_column(col, overflow="fold")
    for t in tasks:
        table.add_row(
            _t(t["id"]),
            _t(t["tool"]),
            _status(t["status"]),
            f"{t['progress']:.0f}%",
            f"{t['attempt']}/{t['max_attempts']}",
            _short_time(t["created_at"]),
            _t(t.get("error_code")),
        )
    console.print(table)


def task_detail(task: dict[str, Any]) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")  # paths and ids whole, never cut with an ellipsis
    grid.add_row("task", _t(task["id"]))
    grid.add_row("tool", _t(task["tool"]))
    grid.add_row("status", _status(task["status"]))
    stage = f" ({task['stage']})" if task.get("stage") else ""
    grid.add_row("progress", _t(f"{task['progress']:.0f}%{stage}"))
    grid.add_row("attempt", f"{task['attempt']} of {task['max_attempts']}")
    grid.add_row("input", _t(task["input_path"]))
    grid.add_row("outputs", _t(task["output_dir"]))
    if task.get("user_id"):
        grid.add_row("user", _t(task["user_id"]))
    if task.get("params"):
        grid.add_row("params", _t(json.dumps(task["params"])))
    if task.get("error_code"):
        grid.add_row(
            "error", Text.assemble((str(task["error_code"]), "red"), f": {task.get('error_message') or ''}")
        )
    if task.get("cancel_requested_at") and task["status"] == "PROCESSING":
        grid.add_row("cancel", f"requested at {_short_time(task['cancel_requested_at'])}")
    for key in ("created_at", "queued_at", "started_at", "finished_at"):
        if task.get(key):
            grid.add_row(key.replace("_at", ""), _short_time(task[key]))
    result = task.get("result") or {}
    if result.get("outputs"):
        grid.add_row("files", _t(", ".join(result["outputs"])))
    console.print(grid)
    for warning in task.get("warnings", []):
        warn(warning)
    events = task.get("events") or []
    if events:
        table = Table(title="history", title_justify="left")
        for col in ("at", "from", "to", "attempt", "worker", "reason"):
            table.add_column(col, overflow="fold")
        for e in events:
            table.add_row(
                _short_time(e["at"]),
                _t(e["from"]),
                _status(e["to"]),
                str(e["attempt"]),
                _t(e.get("worker")),
                _t(e.get("reason")),
            )
        console.print(table)


def overview(data: dict[str, Any]) -> None:
    console.print(f"redis [bold]{data['redis']}[/]   database [bold]{data['database']}[/]")
    if "queues" in data:
        table = Table(title="queues", title_justify="left")
        for col in ("queue", "depth", "oldest", "running", "scheduled", "failed"):
            table.add_column(col, justify="right" if col != "queue" else "left")
        for q in data["queues"]:
            age = "" if q["oldest_age_s"] is None else f"{q['oldest_age_s']:.0f}s"
            table.add_row(
                _t(q["queue"]), str(q["depth"]), age, str(q["running"]), str(q["scheduled"]), str(q["failed"])
            )
        console.print(table)
    if "workers" in data:
        table = Table(title=f"workers ({len(data['workers'])})", title_justify="left")
        for col in ("name", "state", "queues", "task", "heartbeat"):
            table.add_column(col, overflow="fold")
        for w in data["workers"]:
            beat = "" if w["last_heartbeat_age_s"] is None else f"{w['last_heartbeat_age_s']:.0f}s ago"
            table.add_row(
                _t(w["name"]), _t(w["state"]), _t(",".join(w["queues"])), _t(w["current_task"]), beat
            )
        console.print(table)
    if "tasks" in data:
        table = Table(title="tasks", title_justify="left")
        for status in data["tasks"]:
            table.add_column(_status(status), justify="right")
        table.add_row(*(str(n) for n in data["tasks"].values()))
        console.print(table)
    for err in data.get("errors", []):
        err_console.print(f"[red]{err['code']}[/]: {escape(str(err['message']))}")


def wait_with_bar(
    fetch: Callable[[], dict[str, Any]], is_done: Callable[[dict[str, Any]], bool], poll: float = 0.5
) -> dict[str, Any]:
    """Show a live bar for one task until ``is_done``; returns the last snapshot."""
    import time

    with Progress(
        TextColumn("[bold]{task.fields[tool]}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[status]}"),
        TextColumn("[dim]{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        snap = fetch()
        tid = bar.add_task(
            "",
            total=100,
            tool=escape(snap["tool"]),
            status=snap["status"],
            stage=escape(snap.get("stage") or ""),
        )
        while True:
            bar.update(
                tid,
                completed=snap["progress"],
                status=_status(snap["status"]),
                stage=escape(snap.get("stage") or ""),
            )
            if is_done(snap):
                return snap
            time.sleep(poll)
            snap = fetch()
