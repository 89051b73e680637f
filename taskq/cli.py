"""``taskq``: the operations CLI. Thin: parse, call one library function, render.

Every command takes ``--json`` for scripts. Errors print one line,
``error CODE: message``, on stderr and exit non-zero (the code's exit status);
``-v`` adds the traceback. ``.env`` in the working directory is loaded first,
never overriding variables already set.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__

log = logging.getLogger(__name__)

ENDED = {"COMPLETED", "FAILED", "CANCELLED", "EXPIRED"}


class Ctx:
    """Lazily built settings and facade, shared by every command."""

    def __init__(self, env_file: str | None, verbose: bool) -> None:
        self.env_file = env_file
        self.verbose = verbose
        self._settings: Any = None
        self._client: Any = None

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from dotenv import load_dotenv

            from .config import Settings

            if self.env_file:
                load_dotenv(self.env_file, override=False)
            else:
                load_dotenv(Path.cwd() / ".env", override=False)
            self._settings = Settings.from_env()
        return self._settings

    @property
    def client(self) -> Any:
        if self._client is None:
            from .api import TaskQ

            self._client = TaskQ(self.settings)
        return self._client


pass_ctx = click.make_pass_decorator(Ctx)


def _parse_params(pairs: tuple[str, ...], params_json: str | None) -> dict[str, Any]:
    from .errors import InvalidParams

    params: dict[str, Any] = {}
    if params_json:
        try:
            loaded = json.loads(params_json)
        except json.JSONDecodeError as exc:
            raise InvalidParams(f"--params-json is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise InvalidParams("--params-json must be a JSON object")
        params.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidParams(f"--param {pair!r} must look like KEY=VALUE")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        params[key.strip()] = value
    return params


def _emit(as_json: bool, data: Any, human: Any) -> None:
    from . import render

    if as_json:
        render.print_json(data)
    else:
        human()


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
param_option = click.option(
    "--param",
    "-p",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Tool parameter (value parsed as JSON when it can be).",
)
params_json_option = click.option("--params-json", metavar="JSON", help="All parameters as one JSON object.")


class TaskqGroup(click.Group):
    """Prints any TaskqError as one line and exits with its code."""

    def invoke(self, ctx: click.Context) -> Any:
        from .errors import TaskqError

        try:
            return super().invoke(ctx)
        except TaskqError as exc:
            obj = ctx.obj if isinstance(ctx.obj, Ctx) else None
            _fail(exc, bool(obj and obj.verbose))


@click.group(cls=TaskqGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--env-file", type=click.Path(dir_okay=False), help="Load this .env file (default: ./.env).")
@click.option("-v", "--verbose", is_flag=True, help="Tracebacks on errors, debug logs.")
@click.version_option(__version__, prog_name="taskq")
@click.pass_context
def main(ctx: click.Context, env_file: str | None, verbose: bool) -> None:
    """taskq: run profile-my-data, clean-my-data and master-my-data on RQ workers."""
    from .logs import configure

    configure("DEBUG" if verbose else "WARNING")
    ctx.obj = Ctx(env_file, verbose)


@main.command()
@click.argument("tool")
@click.argument("input_path", metavar="INPUT")
@param_option
@params_json_option
@click.option("--user", "user_id", help="Owner of the task (scopes the idempotency key).")
@click.option("--idempotency-key", help="Same key and user return the task made first.")
@click.option(
    "--wait", is_flag=True, help="Show live progress until the task ends; exit 1 unless it COMPLETED."
)
@click.option("--timeout", type=float, default=None, help="With --wait: give up after this many seconds.")
@json_option
@pass_ctx
def submit(
    c: Ctx,
    tool: str,
    input_path: str,
    pairs: tuple[str, ...],
    params_json: str | None,
    user_id: str | None,
    idempotency_key: str | None,
    wait: bool,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Submit TOOL (profile | clean | master) on INPUT."""
    from . import render

    info = c.client.submit(
        tool, input_path, _parse_params(pairs, params_json), user_id=user_id, idempotency_key=idempotency_key
    )
    for warning in info.warnings:
        render.warn(warning)
    task = info.to_dict()
    if wait:
        task = _wait(c, info.id, timeout, bar=not as_json)
    _emit(
        as_json,
        task,
        lambda: (
            render.task_detail(task)
            if wait
            else render.console.print(f"submitted [bold]{task['id']}[/] ({task['tool']}) -> {task['status']}")
        ),
    )
    if wait and task["status"] != "COMPLETED":
        sys.exit(1)


def _wait(c: Ctx, task_id: str, timeout: float | None, *, bar: bool) -> dict[str, Any]:
    import time

    from . import render

    deadline = None if timeout is None else time.monotonic() + timeout

    def done(t: dict[str, Any]) -> bool:
        return t["status"] in ENDED or (deadline is not None and time.monotonic() > deadline)

    if bar:
        render.wait_with_bar(lambda: c.client.get(task_id, events=False).to_dict(), done)
    else:
        while not done(c.client.get(task_id, events=False).to_dict()):
            time.sleep(0.5)
    return dict(c.client.get(task_id).to_dict())


@main.command()
@click.argument("tool")
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output directory.")
@param_option
@params_json_option
@json_option
@pass_ctx
def run(
    c: Ctx,
    tool: str,
    input_path: str,
    out_dir: str,
    pairs: tuple[str, ...],
    params_json: str | None,
    as_json: bool,
) -> None:
    """Run TOOL on INPUT in this process: no Redis, no database."""
    from . import jobs, render
    from .progress import ThrottledProgress

    params = _parse_params(pairs, params_json)
    if as_json:
        report = jobs.execute(tool, input_path, out_dir, params)
        render.print_json(report)
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]" + jobs.resolve(tool).name),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("[dim]{task.description}"),
        TimeElapsedColumn(),
        console=render.err_console,
    ) as bar:
        tid = bar.add_task("starting", total=100)
        handle = ThrottledProgress(
            lambda pct, stage: bar.update(tid, completed=pct, description=stage or ""), min_interval=0.1
        )
        report = jobs.execute(tool, input_path, out_dir, params, handle)
        bar.update(tid, completed=100, description="done")
    render.console.print(
        f"[green]done[/] in {report['duration_s']:.2f}s: {report['input'].get('rows', '?')} rows -> "
        f"{Path(out_dir).resolve()} ({', '.join(report['outputs'])})"
    )


@main.command()
@click.argument("task_id", required=False)
@json_option
@pass_ctx
def status(c: Ctx, task_id: str | None, as_json: bool) -> None:
    """Without TASK_ID: queues, workers and task counts. With it: the task and its history."""
    from . import health, queues, render

    if task_id:
        task = c.client.get(task_id).to_dict()
        _emit(as_json, task, lambda: render.task_detail(task))
        return
    data = health.overview(c.settings, queues.connect(c.settings))
    _emit(as_json, data, lambda: render.overview(data))
    if data.get("errors"):
        sys.exit(3)  # a backend did not answer: the overview is partial


@main.command("list")
@click.option("--status", "status_", help="Only tasks in this status.")
@click.option("--tool", help="Only this tool's tasks.")
@click.option("--user", "user_id", help="Only this user's tasks.")
@click.option("--limit", default=20, show_default=True)
@json_option
@pass_ctx
def list_(
    c: Ctx, status_: str | None, tool: str | None, user_id: str | None, limit: int, as_json: bool
) -> None:
    """The newest tasks."""
    from . import render

    tasks = [t.to_dict() for t in c.client.list(status=status_, tool=tool, user_id=user_id, limit=limit)]
    _emit(as_json, tasks, lambda: render.task_table(tasks))


@main.command()
@click.argument("task_id")
@click.option("--wait", is_flag=True, help="Wait until a running task has stopped.")
@json_option
@pass_ctx
def cancel(c: Ctx, task_id: str, wait: bool, as_json: bool) -> None:
    """Cancel a task (a running one stops at its next progress check, or is killed after the grace period)."""
    from . import render

    task = c.client.cancel(task_id).to_dict()
    if wait and task["status"] not in ENDED:
        task = _wait(c, task_id, c.settings.cancel_grace + 30, bar=False)
    for warning in task.get("warnings", []):
        render.warn(warning)
    note = " (stopping: cancel requested)" if task["status"] == "PROCESSING" else ""
    _emit(as_json, task, lambda: render.console.print(f"task [bold]{task_id}[/] is {task['status']}{note}"))


@main.command()
@click.argument("task_id", required=False)
@click.option("--all-failed", is_flag=True, help="Retry every FAILED task.")
@click.option("--tool", help="With --all-failed: only this tool's tasks.")
@json_option
@pass_ctx
def retry(c: Ctx, task_id: str | None, all_failed: bool, tool: str | None, as_json: bool) -> None:
    """Start a new attempt of a FAILED, CANCELLED or EXPIRED task."""
    from . import render

    if bool(task_id) == bool(all_failed):
        raise click.UsageError("give a TASK_ID or --all-failed (not both)")
    if all_failed:
        tasks = [t.to_dict() for t in c.client.retry_failed(tool=tool)]
        _emit(as_json, tasks, lambda: render.console.print(f"retried {len(tasks)} failed task(s)"))
        return
    task = c.client.retry(task_id).to_dict()
    for warning in task.get("warnings", []):
        render.warn(warning)
    _emit(
        as_json,
        task,
        lambda: render.console.print(
            f"task [bold]{task_id}[/] -> {task['status']} (attempt {task['attempt']})"
        ),
    )


@main.group()
def worker() -> None:
    """Run workers."""


@worker.command("start")
@click.option("--queues", "-q", help="Comma-separated queues (default: all tool queues).")
@click.option(
    "--concurrency",
    "-c",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes to supervise.",
)
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
@click.option("--name", help="Worker name (suffixed -N with --concurrency).")
@click.option("--max-jobs", type=click.IntRange(1), help="Quit after this many jobs.")
@click.option(
    "--with-scheduler/--without-scheduler",
    default=True,
    show_default=True,
    help="Run RQ's scheduler (retries after backoff) and taskq maintenance.",
)
@pass_ctx
def worker_start(
    c: Ctx,
    queues: str | None,
    concurrency: int,
    burst: bool,
    name: str | None,
    max_jobs: int | None,
    with_scheduler: bool,
) -> None:
    """Start worker processes. SIGTERM/SIGINT: finish the current job, then stop."""
    from . import jobs
    from .worker import WorkerOptions, run_worker

    names = tuple(q.strip() for q in (queues or "").split(",") if q.strip()) or tuple(
        jobs.queue_names(c.settings)
    )
    options = WorkerOptions(names, burst, name, max_jobs, with_scheduler, concurrency)
    sys.exit(run_worker(c.settings, options))


@main.command()
@click.option("--once", is_flag=True, help="Run one pass and print what it did.")
@json_option
@pass_ctx
def maintain(c: Ctx, once: bool, as_json: bool) -> None:
    """Relay, reconcile, recover and expire tasks (one active copy at a time)."""
    from . import maintenance, queues, render
    from .logs import configure

    if once:
        report = maintenance.run_pass(c.settings, queues.connect(c.settings), actor="taskq maintain --once")
        data = report.to_dict()
        _emit(as_json, data, lambda: render.console.print("\n".join(f"{k}: {v}" for k, v in data.items())))
        if report.errors:
            sys.exit(1)
        return
    configure(c.settings.log_level, json=c.settings.log_format == "json")
    sys.exit(maintenance.maintain_forever(c.settings))


@main.group()
def db() -> None:
    """The task database."""


@db.command("upgrade")
@json_option
@pass_ctx
def db_upgrade(c: Ctx, as_json: bool) -> None:
    """Create or upgrade the schema to the newest revision."""
    from . import render
    from .config import redact_url
    from .db import upgrade

    revision = upgrade(c.settings)
    url = redact_url(c.settings.sqlalchemy_url)
    _emit(
        as_json,
        {"database": url, "revision": revision},
        lambda: render.console.print(f"{url} is at revision {revision}"),
    )


@db.command("current")
@json_option
@pass_ctx
def db_current(c: Ctx, as_json: bool) -> None:
    """Print the schema revision."""
    from . import render
    from .db import current_revision

    revision = current_revision(c.settings)
    _emit(as_json, {"revision": revision}, lambda: render.console.print(str(revision)))


@main.command()
@json_option
@pass_ctx
def health(c: Ctx, as_json: bool) -> None:
    """Check Redis, the database, workers and backlog; exit 1 when unhealthy."""
    from rich.markup import escape

    from . import health as health_mod
    from . import queues, render

    code, report = health_mod.check(c.settings, queues.connect(c.settings))

    def human() -> None:
        for name, result in report["checks"].items():
            mark = "[green]ok[/]" if result["ok"] else "[red]FAIL[/]"
            detail = {k: v for k, v in result.items() if k != "ok"}
            render.console.print(f"{mark:>16} {name} {escape(json.dumps(detail)) if detail else ''}")

    _emit(as_json, report, human)
    sys.exit(code)


@main.command()
@json_option
@pass_ctx
def config(c: Ctx, as_json: bool) -> None:
    """Show the effective settings (passwords masked)."""
    from . import render

    data = c.settings.redacted()
    _emit(as_json, data, lambda: render.console.print("\n".join(f"{k}={v}" for k, v in data.items())))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9181, show_default=True)
@pass_ctx
def dashboard(c: Ctx, host: str, port: int) -> None:
    """Serve rq-dashboard (JSON serializer) for this Redis."""
    from .dashboard import create_app

    create_app(c.settings).run(host=host, port=port)


def _fail(exc: Any, verbose: bool) -> NoReturn:
    from rich.markup import escape

    from . import render
    from .logs import redact

    if verbose:
        render.err_console.print_exception()
    # One line, whatever the message holds: user input (a tool name, a path) may carry
    # line breaks or rich markup such as "[/]".
    message = escape(" ".join(redact(exc.message).split()))
    render.err_console.print(f"[red]error {exc.code}[/]: {message}", soft_wrap=True, markup=True)
    sys.exit(exc.exit_code)


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value:
        return
    from .logs import configure

    obj = ctx.find_object(Ctx)
    if obj is not None:
        obj.verbose = True
    configure("DEBUG")


def _verbose_everywhere(group: click.Group) -> None:
    """Give every command ``-v`` too: ``taskq maintain --once -v`` was "No such option"
    though the runbook says every command takes it (QA); ``taskq -v maintain`` still works."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _verbose_everywhere(command)  # and the group itself: taskq db -v upgrade
        if not any("--verbose" in p.opts for p in command.params):
            command.params.append(
                click.Option(
                    ["-v", "--verbose"],
                    is_flag=True,
                    expose_value=False,
                    is_eager=True,
                    callback=_set_verbose,
                    help="Tracebacks on errors, debug logs (as taskq -v).",
                )
            )


_verbose_everywhere(main)
