"""Strict JSON for the jobs' output files (report.json, changes.json, profile.json)."""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["json_text"]


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def json_text(value: Any, indent: int = 2) -> str:
    """``value`` as strict JSON: NaN and infinities become ``null`` (Python writes them
    as ``NaN``/``Infinity``, which JSON parsers such as the browser's reject), anything
    else that is not JSON-native as its ``str``."""
    return json.dumps(_finite(value), indent=indent, default=str, allow_nan=False)
