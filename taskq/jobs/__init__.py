"""The analyses taskq runs, and the one way to run any of them.

A tool is a module with two plain functions::

    def validate_params(params: dict) -> dict
        # Check types and values, fill defaults; raise InvalidParams / UnknownColumn.
        # Must not read the input (it runs in the API process at submit time).

    def run(input_path: Path, out_dir: Path, params: dict, progress: Progress) -> dict
        # Read the input, write output files into out_dir, return a ToolResult:
        # {"input": {"name", "format", "rows", "columns"},
        #  "alerts": [...], "issues": [...], "recommendations": [...],
        #  "summary": {...}, "outputs": ["profile.json", ...]}
        # alerts/issues/recommendations are Finding dicts:
        #   {"severity": "critical"|"warning"|"info", "column": str|None, "message": str, "code": str}

Tools import only :mod:`taskq.progress`, :mod:`taskq.errors` and their own
helpers: never the queue, the database or the CLI, so they run without Redis.

:func:`execute` is what both the worker runner and ``taskq run`` call. It gives
the tool an empty staging directory next to ``out_dir``, writes ``report.json``
there, and moves the whole directory into place only when the tool succeeded,
so a crash or a cancel never leaves half-written outputs behind.

The registry below holds names and module paths only; a tool module (and its
heavy imports such as DuckDB) is imported on first use.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import InputNotFound, InvalidParams, UnknownTool
from ..progress import NullProgress, Progress
from ._json import json_text

__all__ = [
    "TOOLS",
    "ToolSpec",
    "execute",
    "load_plugins",
    "queue_names",
    "register",
    "resolve",
    "tool_names",
    "validate_params",
]

REPORT_FILE = "report.json"
SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True)
class ToolSpec:
    """A registered analysis."""

    name: str
    aliases: tuple[str, ...]
    module: str
    default_queue: str
    description: str
    path_params: tuple[str, ...] = ()
    """Parameters naming another input file; held to the allowed roots like the input."""

    def load(self) -> ModuleType:
        """The tool's namespace: ``package.module`` or ``package.module:attribute``."""
        module, _, attr = self.module.partition(":")
        loaded = importlib.import_module(module)
        return getattr(loaded, attr) if attr else loaded


TOOLS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            "profile-my-data",
            ("profile",),
            "taskq.jobs.profile",
            "profile",
            "Column profiling, quality scores and drift",
            path_params=("baseline",),
        ),
        ToolSpec(
            "clean-my-data",
            ("clean",),
            "taskq.jobs.clean",
            "clean",
            "Cleaning and standardising; writes a cleaned file",
        ),
        ToolSpec(
            "master-my-data",
            ("master",),
            "taskq.jobs.master",
            "master",
            "Duplicate detection, entity resolution and golden records",
        ),
    )
}
_ALIASES = {alias: spec for spec in TOOLS.values() for alias in (spec.name, *spec.aliases)}


def register(spec: ToolSpec) -> ToolSpec:
    """Add a tool (plugins, test fixtures). Re-registering the same name replaces it."""
    TOOLS[spec.name] = spec
    for alias in (spec.name, *spec.aliases):
        _ALIASES[alias] = spec
    return spec


def load_plugins(modules: Iterable[str]) -> None:
    """Import each module (``TASKQ_PLUGINS``); importing one registers its tools."""
    for name in modules:
        if name:
            importlib.import_module(name)


def queue_names(settings: Any) -> list[str]:
    """Every queue a tool's tasks go to: the built-in tools' (``TASKQ_QUEUE_*``), then the
    plugins' (``TASKQ_PLUGINS`` imported first). Workers started without ``--queues``
    listen to these, and health and metrics report them: a plugin's queue was in neither."""
    load_plugins(settings.plugin_modules)
    routed = (settings.queue_for(spec.name, spec.default_queue) for spec in TOOLS.values())
    return list(dict.fromkeys([*settings.queues, *routed]))


def tool_names() -> list[str]:
    """Canonical tool names, in registry order."""
    return list(TOOLS)


def resolve(name: str) -> ToolSpec:
    """The tool registered under ``name`` or one of its aliases.

    Raises:
        UnknownTool: naming the tools that exist.
    """
    try:
        return _ALIASES[name.strip().lower()]
    except (KeyError, AttributeError):
        known = ", ".join(f"{s.name} ({'/'.join(s.aliases)})" for s in TOOLS.values())
        raise UnknownTool(f"unknown tool {name!r}; known tools: {known}", tool=name) from None


def validate_params(tool: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Check ``params`` for ``tool`` and return them with defaults filled in."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InvalidParams(f"params must be an object, not {type(params).__name__}")
    try:
        json.dumps(params, allow_nan=False)  # NaN and Infinity are not JSON
    except (TypeError, ValueError) as exc:
        raise InvalidParams(f"params must be JSON-serialisable: {exc}") from None
    result: dict[str, Any] = resolve(tool).load().validate_params(dict(params))
    return result


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _findings(result: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = result.get(key) or []
    for item in items:
        if item.get("severity") not in SEVERITIES:
            raise ValueError(f"{key} item has bad severity: {item!r}")
    return list(items)


def _publish(staging: Path, out_dir: Path) -> None:
    """Move ``staging`` to ``out_dir``, replacing an earlier attempt's outputs."""
    old: Path | None = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def execute(
    tool: str,
    input_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    params: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run ``tool`` on ``input_path`` and publish its outputs into ``out_dir``.

    ``params`` are validated here too, so a direct call gets the same checks as a
    submit. Returns the report that was written to ``out_dir/report.json``.

    Raises:
        UnknownTool, InputError: bad tool, input or parameters (nothing written).
        TaskCancelled: the progress handle asked the job to stop (nothing written).
    """
    spec = resolve(tool)
    progress = progress or NullProgress()
    checked = validate_params(spec.name, params)
    src = Path(input_path)
    if not src.is_file():
        raise InputNotFound(f"input file not found: {src}", path=str(src))
    dest = Path(out_dir)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.with_name(f".{dest.name}.partial-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    started, t0 = _now(), time.perf_counter()
    try:
        progress.check()
        result = spec.load().run(src, staging, checked, progress)
        progress.check()
        report = {
            "tool": spec.name,
            "input": result.get("input", {"name": src.name}),
            "params": checked,
            "started": started,
            "finished": _now(),
            "duration_s": round(time.perf_counter() - t0, 3),
            "alerts": _findings(result, "alerts"),
            "issues": _findings(result, "issues"),
            "recommendations": _findings(result, "recommendations"),
            "summary": result.get("summary", {}),
            "outputs": sorted({*result.get("outputs", []), REPORT_FILE}),
        }
        (staging / REPORT_FILE).write_text(json_text(report))
        _publish(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report
