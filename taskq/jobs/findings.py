"""Building the findings a tool returns in ``alerts``, ``issues`` and ``recommendations``.

A finding is a plain dict so it serialises straight into ``report.json``::

    {"severity": "critical" | "warning" | "info", "column": str | None,
     "message": str, "code": str}

``code`` is a stable snake_case identifier (``high_null_rate``,
``csv_too_many_columns``) that clients can key on; ``message`` is for people.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["SEVERITIES", "finding"]

SEVERITIES = ("critical", "warning", "info")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def finding(severity: str, message: str, *, column: str | None = None, code: str) -> dict[str, Any]:
    """One finding dict.

    Args:
        severity: ``critical``, ``warning`` or ``info``.
        message: a sentence for people; names the column and rows where useful.
        column: the column concerned, or None for the whole table.
        code: stable snake_case identifier of the kind of finding.

    Raises:
        ValueError: unknown severity, empty message or a code that is not snake_case
            (a programming error in the tool, not bad input).
    """
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, not {severity!r}")
    if not message:
        raise ValueError("a finding needs a message")
    if not _CODE.match(code):
        raise ValueError(f"finding code must be snake_case, not {code!r}")
    return {"severity": severity, "column": column, "message": message, "code": code}
