"""The import direction of STYLE.md section 2, checked by parsing imports with ``ast``.

Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import taskq

PACKAGE = Path(taskq.__file__).resolve().parent

JOBS_FORBIDDEN = {
    "redis",
    "rq",
    "sqlalchemy",
    "alembic",
    "click",
    "flask",
    "rich",
    "taskq.api",
    "taskq.queues",
    "taskq.db",
    "taskq.models",
    "taskq.lifecycle",
    "taskq.cli",
    "taskq.worker",
    "taskq.runner",
    "taskq.maintenance",
    "taskq.health",
    "taskq.render",
    "taskq.web",
    "taskq.dashboard",
}
ENTRY_ONLY = {"taskq.cli", "taskq.render", "taskq.web", "taskq.dashboard"}
"""Modules only entry points may import."""
ENTRY_POINTS = {"taskq.__main__", "taskq.cli", "taskq.web"}
"""Who may import them (``taskq.cli`` imports render and dashboard, ``__main__`` imports cli)."""


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports (``from x import y`` gives x and x.y)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
    return out


def _matches(imported: str, banned: set[str]) -> set[str]:
    return {b for b in banned if imported == b or imported.startswith(b + ".")}


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.parts}


def test_the_scan_sees_the_package() -> None:
    assert {"taskq.cli", "taskq.api", "taskq.jobs", "taskq.jobs.io", "taskq.jobs.profile"} <= set(MODULES)
    # The resolver understands relative imports.
    assert "taskq.errors" in _imports(MODULES["taskq.jobs.io"])
    assert "taskq.jobs" in _imports(MODULES["taskq.runner"])


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("taskq.jobs")))
def test_jobs_never_import_the_transport_the_database_or_the_cli(module: str) -> None:
    bad = {b for imported in _imports(MODULES[module]) for b in _matches(imported, JOBS_FORBIDDEN)}
    assert bad == set(), f"{module} imports {sorted(bad)}"


def test_only_entry_points_import_cli_render_web_and_dashboard() -> None:
    offenders = []
    for module, path in MODULES.items():
        if module in ENTRY_POINTS:
            continue
        for imported in _imports(path):
            for banned in _matches(imported, ENTRY_ONLY):
                if banned != module:
                    offenders.append(f"{module} -> {banned}")
    assert offenders == []


def test_cli_does_not_talk_to_redis_rq_or_sqlalchemy_directly() -> None:
    bad = {
        b
        for imported in _imports(MODULES["taskq.cli"])
        for b in _matches(imported, {"redis", "rq", "sqlalchemy"})
    }
    assert bad == set()


@pytest.mark.parametrize("module", ["taskq.config", "taskq.constants", "taskq.errors"])
def test_the_bottom_layer_imports_the_standard_library_only(module: str) -> None:
    import sys

    third_party = {
        i.split(".")[0]
        for i in _imports(MODULES[module])
        if i.split(".")[0] not in sys.stdlib_module_names and i.split(".")[0] not in {"taskq", "__future__"}
    }
    taskq_deps = {i for i in _imports(MODULES[module]) if i.startswith("taskq.")}
    assert third_party == set()
    assert taskq_deps <= {"taskq.errors", "taskq.errors.ConfigError"}


def test_the_package_imports_without_heavy_dependencies() -> None:
    """``import taskq.jobs`` (the registry) must not pull in DuckDB or a tool module."""
    import subprocess
    import sys

    code = (
        "import sys, taskq.jobs, taskq.config, taskq.errors;"
        "heavy = [m for m in ('duckdb', 'redis', 'rq', 'sqlalchemy', 'taskq.jobs.profile') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
