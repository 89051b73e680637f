"""Type inference, quality scores, readiness and findings for profile-my-data.

Scores are 0-100, rounded to one decimal. With ``cells = rows x columns``:

* **completeness** = 100 x (1 - missing cells / cells), where a missing cell
  is NULL, an empty or whitespace-only string (Unicode spaces too), a
  placeholder token (``N/A``, ``null``, ``-``, ...), or NaN in a float column
  (how pandas writes a missing number).
* **validity** = 100 x (1 - invalid cells / present cells), where an invalid
  cell is a present value that does not parse as its column's inferred type
  (e.g. ``"abc"`` in a column inferred integer).
* **uniqueness** = 100 x (1 - duplicate rows / rows), duplicate rows being
  rows identical in every column to an earlier row.
* **consistency** = mean over columns of the share of present values that
  have the column's dominant format: for typed and inferred
  numeric/date/boolean columns, values that parse; for text columns, values
  whose shape (letters -> A/a, digits -> 9) is the most common shape
  **with runs of the same class collapsed** (so ``Ann`` and ``Barbara`` agree,
  but ``2024-01-31`` and ``31/01/2024`` do not). Free text with no dominant
  shape (top shape under 20 % of values) counts as consistent.
* **overall** = the mean of the four.

Readiness: **not ready** when any critical finding exists or overall < 70;
**needs review** when any warning exists or overall < 90; else **ready**.
The reasons list the findings that decided it.
"""

from __future__ import annotations

from typing import Any

from ._table import INTEGER_TYPES
from .findings import finding

__all__ = ["INFER_THRESHOLD", "WIDE_INTEGER_TYPES", "build_findings", "infer_type", "readiness", "scores"]

INFER_THRESHOLD = 0.9
"""Share of present values that must parse as a type for a text column to be inferred as it."""
CARD_LUHN_SHARE = 0.5
"""Share of a column's 13-19 digit numbers that must pass the Luhn check for a card alert
(random numbers pass one time in ten; real card numbers always)."""

WIDE_INTEGER_TYPES = ("BIGNUM", "VARINT")
"""DuckDB's type for integers of any width (``VARINT`` before 1.4): its CSV reader gives it to a
column of integers past 39 digits. The profile reads such a column as text (see :func:`infer_type`)."""

_NATIVE = {
    "integer": INTEGER_TYPES,
    "float": ("FLOAT", "DOUBLE", "REAL"),
    "boolean": ("BOOLEAN",),
    "date": ("DATE",),
    "time": ("TIME",),
}


def infer_type(dtype: str, values: dict[str, Any]) -> tuple[str, int]:
    """(inferred type, present values that fail to parse as it) for one column.

    Typed columns keep their type (``integer``, ``float``, ``decimal``,
    ``boolean``, ``date``, ``timestamp``, ``time``, or ``other`` for nested
    JSON values) and have no failures. Text columns are ``integer``, ``float``,
    ``boolean``, ``date`` or ``timestamp`` when at least 90 % of their present
    values parse as it (tried in that order), else ``string``. A column of
    integers too wide for any number type the profile computes on
    (:data:`WIDE_INTEGER_TYPES`) is ``string``, profiled as its text, with no
    failures: its values are integers, not invalid ones (a ``wide_integers``
    finding says so).
    """
    if dtype in WIDE_INTEGER_TYPES:
        return "string", 0
    for name, natives in _NATIVE.items():
        if dtype in natives:
            return name, 0
    if dtype.startswith("DECIMAL"):
        return "decimal", 0
    if dtype.startswith("TIMESTAMP"):
        return "timestamp", 0
    if dtype != "VARCHAR":
        return "other", 0
    present = values.get("present", 0)
    if not present:
        return "string", 0
    for name in ("integer", "float", "boolean", "date", "timestamp"):
        parsed = values["parses"][name]
        if parsed / present >= INFER_THRESHOLD:
            return name, present - parsed
    return "string", 0


def _consistency(col: dict[str, Any]) -> float:
    present = int(col["present"])
    if not present:
        return 1.0
    if col["inferred_type"] != "string" or col["type"] != "VARCHAR":
        return 1.0 - float(col["invalid"]) / present
    top = float(col["shape_share"])  # over every shape, not only the top_k listed ones
    return 1.0 if top < 0.2 else min(top, 1.0)


def scores(columns: list[dict[str, Any]], rows: int, duplicates: int) -> dict[str, float]:
    """The four quality scores and their mean (see the module docstring for the formulas)."""
    cells = rows * len(columns) or 1
    missing = sum(c["missing"] for c in columns)
    present = sum(c["present"] for c in columns)
    invalid = sum(c["invalid"] for c in columns)
    out = {
        "completeness": 100.0 * (1 - missing / cells),
        "validity": 100.0 * (1 - invalid / present) if present else 100.0,
        "uniqueness": 100.0 * (1 - duplicates / rows) if rows else 100.0,
        "consistency": 100.0 * sum(_consistency(c) for c in columns) / len(columns) if columns else 100.0,
    }
    out["overall"] = sum(out.values()) / 4
    return {k: round(v, 1) for k, v in out.items()}


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f}%" if d else "0%"


def build_findings(
    columns: list[dict[str, Any]], rows: int, duplicates: int, drift: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(alerts, issues, recommendations) from the column profiles and drift results."""
    alerts: list[dict[str, Any]] = []
    issues: list[dict[str, Any]] = []
    recs: list[dict[str, Any]] = []
    for c in columns:
        name, miss = c["name"], c["missing"]
        if rows and miss == rows:
            alerts.append(
                finding("critical", f"column {name!r} has no values at all", column=name, code="empty_column")
            )
            recs.append(
                finding("info", f"drop column {name!r}: it holds no data", column=name, code="drop_column")
            )
            continue
        if rows and miss / rows > 0.5:
            issues.append(
                finding(
                    "warning", f"{_pct(miss, rows)} of {name!r} is missing", column=name, code="high_missing"
                )
            )
        elif miss:
            issues.append(
                finding(
                    "info", f"{_pct(miss, rows)} of {name!r} is missing", column=name, code="missing_values"
                )
            )
        if c["placeholders"]:
            nan = c["type"] in ("FLOAT", "DOUBLE")  # a float column's placeholders are its NaN
            issues.append(
                finding(
                    "warning",
                    f"{c['placeholders']} "
                    + ("NaN value(s) (missing numbers)" if nan else "placeholder value(s) such as 'N/A'")
                    + f" in {name!r}",
                    column=name,
                    code="placeholders",
                )
            )
            recs.append(
                finding(
                    "info",
                    f"replace {'NaN' if nan else 'placeholder tokens'} in {name!r} with NULL",
                    column=name,
                    code="nullify_placeholders",
                )
            )
        if c["whitespace"] or c["empty"]:
            issues.append(
                finding(
                    "info",
                    f"{c['empty']} empty and {c['whitespace']} whitespace-only string(s) in {name!r}",
                    column=name,
                    code="blank_strings",
                )
            )
        if c["invalid"]:
            sev = "critical" if c["present"] and c["invalid"] / c["present"] > 0.05 else "warning"
            issues.append(
                finding(
                    sev,
                    f"{c['invalid']} value(s) in {name!r} do not parse as {c['inferred_type']}",
                    column=name,
                    code="invalid_values",
                )
            )
        if c["type"] == "VARCHAR" and c.get("leading_zeros") and c["inferred_type"] in ("integer", "float"):
            recs.append(
                finding(
                    "info",
                    f"keep {name!r} as text: {c['leading_zeros']} value(s) have leading zeros "
                    "(codes such as zip codes), which a number would drop",
                    column=name,
                    code="keep_text",
                )
            )
        elif c["type"] == "VARCHAR" and c["inferred_type"] != "string":
            recs.append(
                finding(
                    "info",
                    f"store {name!r} as {c['inferred_type']} (it is text in the file)",
                    column=name,
                    code="convert_type",
                )
            )
        if c["type"] == "VARCHAR" and c["inferred_type"] == "string" and c["present"]:
            kind, parsed = max(
                ((k, v) for k, v in c.get("parses", {}).items() if k != "boolean"),
                key=lambda kv: kv[1],
                default=("", 0),
            )
            if parsed / c["present"] >= 0.5:
                msg = f"{_pct(parsed, c['present'])} of {name!r} parse as {kind}; the rest use other formats"
                issues.append(finding("warning", msg, column=name, code="mixed_formats"))
                recs.append(
                    finding(
                        "info",
                        f"standardise {name!r} to one {kind} format",
                        column=name,
                        code="standardise_format",
                    )
                )
        if c["type"] in WIDE_INTEGER_TYPES:
            width = (c.get("length") or {}).get("max", 0)
            issues.append(
                finding(
                    "info",
                    f"{name!r} holds integers up to {width} characters long, past the 39 digits "
                    "the profile computes on: profiled as text, with no numeric statistics",
                    column=name,
                    code="wide_integers",
                )
            )
        if c.get("amounts"):
            money = c["amounts"]
            recs.append(
                finding(
                    "info",
                    f"{name!r} holds amounts in {money['currency']} ({money['share']:.0%} of its values), "
                    "profiled as text: clean-my-data's types step reads such amounts as numbers without the "
                    "sign (codes among them, such as $001, keep a column text there)",
                    column=name,
                    code="currency_amounts",
                )
            )
        elif c.get("written_numbers") and c.get("inferred_type") == "string":
            recs.append(
                finding(
                    "info",
                    f"{name!r} holds numbers written with thousands separators or a decimal comma "
                    f"(such as 1,234.5, 1.234,5 or 1 234; {c['written_numbers']:.0%} of its values are "
                    "numbers), profiled as text: clean-my-data's types step reads them as numbers",
                    column=name,
                    code="formatted_numbers",
                )
            )
        if c.get("distinct") == 1 and rows > 1:
            issues.append(
                finding("info", f"{name!r} has a single distinct value", column=name, code="constant_column")
            )
        for kind, n in (c.get("pii") or {}).items():
            # One random 13-19 digit number in ten passes the Luhn check: card numbers
            # are a column where most of the numbers tried pass it, not just some.
            if kind == "card" and n < CARD_LUHN_SHARE * c.get("card_candidates", n):
                continue
            if n and c["present"] and n / c["present"] >= 0.05:
                label = {
                    "email": "email addresses",
                    "phone": "phone numbers",
                    "card": "payment-card numbers (Luhn-valid)",
                    "national_id": "national-id-like numbers (US SSN pattern)",
                }[kind]
                sev = "critical" if kind in ("card", "national_id") else "warning"
                alerts.append(
                    finding(
                        sev,
                        f"{name!r} appears to contain {label} ({n} values)",
                        column=name,
                        code=f"pii_{kind}",
                    )
                )
                recs.append(
                    finding(
                        "info",
                        f"mask or restrict access to {name!r} ({kind})",
                        column=name,
                        code="protect_pii",
                    )
                )
        out = c.get("outliers") or {}
        if out.get("iqr") and c["present"] and out["iqr"] / c["present"] > 0.01:
            issues.append(
                finding(
                    "info",
                    f"{out['iqr']} value(s) of {name!r} lie outside the IQR fences",
                    column=name,
                    code="outliers",
                )
            )
    if duplicates:
        sev = "critical" if rows and duplicates / rows > 0.2 else "warning"
        issues.append(
            finding(sev, f"{duplicates} duplicate row(s) ({_pct(duplicates, rows)})", code="duplicate_rows")
        )
        recs.append(finding("info", "remove exact duplicate rows (clean-my-data)", code="dedupe_rows"))
    for d in drift:
        if d.get("drifted"):
            alerts.append(
                finding(
                    "warning",
                    f"{d['column']!r} drifted from the baseline ({d['test']} {d['summary']})",
                    column=d["column"],
                    code="drift",
                )
            )
        elif d.get("status") == "not testable":
            issues.append(
                finding(
                    "info",
                    f"{d['column']!r} cannot be tested for drift by {d['test']}: {d['summary']}",
                    column=d["column"],
                    code="drift_not_testable",
                )
            )
    return alerts, issues, recs


def readiness(score: dict[str, float], findings: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"rating": "ready"|"needs review"|"not ready", "reasons": [...]}``."""
    critical = [f["message"] for f in findings if f["severity"] == "critical"]
    warnings = [f["message"] for f in findings if f["severity"] == "warning"]
    overall = score["overall"]
    if critical or overall < 70:
        reasons = critical + ([f"overall quality score {overall} < 70"] if overall < 70 else [])
        return {"rating": "not ready", "reasons": reasons}
    if warnings or overall < 90:
        reasons = warnings + ([f"overall quality score {overall} < 90"] if overall < 90 else [])
        return {"rating": "needs review", "reasons": reasons}
    return {"rating": "ready", "reasons": [f"overall quality score {overall} and no warnings"]}
