"""Logging set-up, called only by entry points (CLI, worker, web); library code only logs.

``configure(level, json=True)`` prints one JSON object per line with the
``extra`` fields (``task_id``, ``tool``, ``attempt``...) that taskq attaches to
every line about a task. Redis and database URLs are redacted by a filter, so a
password never reaches a log line.
"""

from __future__ import annotations

import json as _json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = ["configure", "redact"]

_URL_PASSWORD = re.compile(
    r"(?<![a-z0-9+.-])(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@", re.I
)
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def redact(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` URL masked."""
    return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "://" in message:
            record.msg, record.args = redact(message), None
        return True


class RedactingFormatter(logging.Formatter):
    """The text format, with tracebacks redacted too (the filter only sees the message)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return _json.dumps(out, default=str)


def configure(level: str = "INFO", *, json: bool = False, stream: Any = None) -> None:
    """Install one handler on the root logger (replacing one installed here before)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_taskq", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._taskq = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    if json:
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # RQ installs its own handler when none is effective; ours is.
    logging.getLogger("rq").setLevel(level.upper())
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
