"""Settings, read once from the environment.

``Settings.from_env(environ)`` is the only place that reads ``TASKQ_*`` variables;
everything else receives a :class:`Settings`. Entry points (the CLI, the web app)
load ``.env`` with python-dotenv first, never overriding real environment
variables. Nothing here does I/O at import time.

Every field is listed in ``.env.example`` with its default; a test keeps the two
in sync. Override in code with ``dataclasses.replace(settings, field=value)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigError

__all__ = ["ENV_PREFIX", "Settings", "redact_url"]

ENV_PREFIX = "TASKQ_"


def _env(name: str, default: str, help: str) -> Any:
    """A dataclass field bound to ``TASKQ_<NAME>``; ``help`` is its one-line meaning."""
    return field(default=None, metadata={"env": ENV_PREFIX + name, "default": default, "help": help})


@dataclass(frozen=True)
class Settings:
    """Everything taskq can be configured with. Durations are in seconds."""

    data_dir: Path = _env("DATA_DIR", "./.taskq", "Working directory: SQLite file, outputs, private Redis")
    redis_url: str = _env("REDIS_URL", "redis://127.0.0.1:6379/0", "Redis used as the queue transport")
    redis_ca_file: str = _env(
        "REDIS_CA_FILE", "", "CA bundle to verify rediss:// servers (default: system CAs)"
    )
    database_url: str = _env(
        "DATABASE_URL", "", "SQLAlchemy URL of the task database (default: sqlite in DATA_DIR)"
    )
    output_dir: str = _env("OUTPUT_DIR", "", "Where task outputs go (default: DATA_DIR/outputs)")
    input_roots: tuple[Path, ...] = _env(
        "INPUT_ROOTS",
        "",
        "Comma-separated directories inputs must live in (default: DATA_DIR/uploads and the samples)",
    )
    plugins: str = _env(
        "PLUGINS", "", "Comma-separated modules imported at start-up that register extra tools"
    )
    queue_profile: str = _env("QUEUE_PROFILE", "profile", "RQ queue for profile-my-data")
    queue_clean: str = _env("QUEUE_CLEAN", "clean", "RQ queue for clean-my-data")
    queue_master: str = _env("QUEUE_MASTER", "master", "RQ queue for master-my-data")
    timeout_profile: int = _env("TIMEOUT_PROFILE", "1200", "Job timeout for profile-my-data")
    timeout_clean: int = _env("TIMEOUT_CLEAN", "1800", "Job timeout for clean-my-data")
    timeout_master: int = _env("TIMEOUT_MASTER", "2400", "Job timeout for master-my-data")
    max_attempts: int = _env(
        "MAX_ATTEMPTS", "3", "Attempts per task, first run included, before it ends FAILED"
    )
    retry_base: float = _env(
        "RETRY_BASE", "10", "Backoff base: attempt n waits uniform(0, min(cap, base*2^(n-1)))"
    )
    retry_cap: float = _env("RETRY_CAP", "600", "Backoff cap")
    result_ttl: int = _env("RESULT_TTL", "86400", "How long RQ keeps a finished job's hash and result")
    failure_ttl: int = _env("FAILURE_TTL", "604800", "How long RQ keeps a failed job in its failed registry")
    cancel_grace: float = _env(
        "CANCEL_GRACE", "10", "Seconds a running task gets to stop after cancel before it is killed"
    )
    shutdown_grace: float = _env("SHUTDOWN_GRACE", "60", "Seconds a worker lets its job finish after SIGTERM")
    heartbeat_interval: float = _env(
        "HEARTBEAT_INTERVAL", "2", "How often a worker writes its running task's heartbeat"
    )
    heartbeat_timeout: float = _env(
        "HEARTBEAT_TIMEOUT", "30", "A PROCESSING task with an older heartbeat is lost"
    )
    progress_interval: float = _env("PROGRESS_INTERVAL", "0.5", "Minimum seconds between progress writes")
    maintenance_interval: float = _env("MAINTENANCE_INTERVAL", "5", "Seconds between maintenance passes")
    expire_created_after: int = _env(
        "EXPIRE_CREATED_AFTER", "3600", "A never-dispatched CREATED task expires after"
    )
    expire_queued_after: int = _env("EXPIRE_QUEUED_AFTER", "86400", "A QUEUED task expires after")
    output_retention: int = _env(
        "OUTPUT_RETENTION", "604800", "Outputs of ended tasks are removed after (0: keep)"
    )
    log_level: str = _env("LOG_LEVEL", "INFO", "Log level for workers and the CLI")
    log_format: str = _env("LOG_FORMAT", "text", "text or json")

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) is None:
                object.__setattr__(self, f.name, _convert(f.name, f.type, f.metadata["default"]))
        _check_urls(self.redis_url, self.database_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``) plus ``overrides``.

        Raises:
            ConfigError: a value does not parse, naming the variable.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is not None:
                values[f.name] = _convert(f.name, f.type, raw)
        values.update(overrides)
        return cls(**values)

    @classmethod
    def documented(cls) -> list[tuple[str, str, str]]:
        """``(VARIABLE, default, meaning)`` for every setting, in order."""
        return [(f.metadata["env"], f.metadata["default"], f.metadata["help"]) for f in fields(cls)]

    # Derived values -----------------------------------------------------------------

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'taskq.db').resolve()}"

    @property
    def outputs(self) -> Path:
        return Path(self.output_dir) if self.output_dir else self.data_dir / "outputs"

    @property
    def allowed_roots(self) -> tuple[Path, ...]:
        if self.input_roots:
            return tuple(p.resolve() for p in self.input_roots)
        samples = Path(__file__).resolve().parent / "samples"
        return ((self.data_dir / "uploads").resolve(), samples)

    def queue_for(self, tool: str, default: str = "default") -> str:
        """The RQ queue a tool's tasks go to (``tool`` is a canonical name)."""
        return str(getattr(self, "queue_" + tool.split("-")[0], default))

    def timeout_for(self, tool: str) -> int:
        return int(getattr(self, "timeout_" + tool.split("-")[0], self.timeout_master))

    @property
    def plugin_modules(self) -> list[str]:
        return [m.strip() for m in self.plugins.split(",") if m.strip()]

    @property
    def queues(self) -> list[str]:
        return list(dict.fromkeys([self.queue_profile, self.queue_clean, self.queue_master]))

    def to_env(self) -> dict[str, str]:
        """Settings as ``TASKQ_*`` variables (for child processes). Contains secrets."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = ",".join(str(v) for v in value)
            out[f.metadata["env"]] = str(value)
        return out

    def redacted(self) -> dict[str, str]:
        """All settings as strings, with passwords in URLs masked (safe to print)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = ",".join(str(v) for v in value)
            text = str(value)
            out[f.metadata["env"]] = redact_url(text) if "url" in f.name else text
        return out


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


_REDIS_SCHEMES = ("redis", "rediss", "unix")
_DATABASE_DIALECTS = ("sqlite", "postgresql")


def _url_problem(url: str, schemes: tuple[str, ...], *, redis: bool) -> str | None:
    """What makes ``url`` unusable (scheme, port, Redis database number), or None.

    Read with the standard library (this module imports nothing else), as strictly as
    redis-py and SQLAlchemy read them: the scheme in lower case before ``://`` (a
    ``+driver`` after a database's), a port of digits up to 65535, a Redis database as
    ``/<number>``.
    """
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.split("+")[0] not in schemes or (redis and "+" in scheme):
        return "must start with " + ", ".join(f"{s}://" for s in schemes)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is no number, or past 65535)
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if redis and scheme != "unix" and parts.path not in ("", "/") and not parts.path[1:].isdigit():
        return f"the database must be a number (/0, /1 ...), not {parts.path!r}"
    if scheme == "unix" and not parts.path:
        return "a unix:// URL needs the socket's path"
    return None


def _check_urls(redis_url: str, database_url: str) -> None:
    """Refuse a Redis or database URL that cannot work, naming its variable, before anything
    connects: a bad one surfaced as a traceback from deep inside redis-py or SQLAlchemy, after
    ``submit`` had already stored its task."""
    problem = _url_problem(redis_url, _REDIS_SCHEMES, redis=True)
    if problem:
        raise ConfigError(f"{ENV_PREFIX}REDIS_URL={redact_url(redis_url)!r}: {problem}", setting="redis_url")
    if not database_url:
        return
    problem = _url_problem(database_url, _DATABASE_DIALECTS, redis=False)
    if problem:
        raise ConfigError(
            f"{ENV_PREFIX}DATABASE_URL={redact_url(database_url)!r}: {problem} "
            "(or leave it empty for SQLite in TASKQ_DATA_DIR)",
            setting="database_url",
        )


def _convert(name: str, type_: Any, raw: str) -> Any:
    type_name = type_ if isinstance(type_, str) else getattr(type_, "__name__", str(type_))
    raw = raw.strip()
    try:
        if type_name == "Path":
            return Path(raw) if raw else Path("")
        if type_name.startswith("tuple"):
            return tuple(Path(p.strip()) for p in raw.split(",") if p.strip())
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            value = float(raw)
            if value < 0:
                raise ValueError("must not be negative")
            return value
        if name == "log_format" and raw not in ("text", "json"):
            raise ValueError("must be 'text' or 'json'")
        return raw
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r}: {exc}", setting=name) from None
