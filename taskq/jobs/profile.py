"""profile-my-data: column profiles, quality scores, readiness and drift.

Params (all optional):

``approx_distinct`` (bool, false)
    Count distinct values with HyperLogLog instead of exactly (labelled
    ``distinct_approx`` in the output). Top values stay exact.
``baseline`` (str, none)
    Path of an earlier file of the same data: per-column drift (KS test for
    numeric columns and, on epoch seconds, for dates and timestamps; PSI for the
    rest; ``not testable`` when most values are too rare to count, when one file's
    values none read as numbers or dates, or when both files have none; see
    :mod:`taskq.jobs.profile_drift`).
``columns`` (list of str, all)
    Profile only these columns (``UnknownColumn`` if one does not exist).
``top_k`` (int 1-100, 10)
    How many top values and shape patterns to keep per column.
``outlier_z`` (number > 0, 3.5)
    Robust z-score threshold for MAD outliers.
``read_options`` (object, {})
    Passed to :func:`taskq.jobs.io.open_table` (delimiter, encoding, sheet...).
``max_columns`` (int 1-100000, 2000)
    Refuse wider inputs with ``INPUT_TOO_LARGE`` (each column costs a pass; a
    10,000-column file would outlast the job timeout). ``columns`` profiles a subset.
``threads`` (int 1-64, 2) / ``memory_limit`` (str such as "2GB", "640MB")
    DuckDB resources. At 640MB a 10M-row profile peaks at 820-840 MiB of RSS
    (at 768MB it was 890-980 MiB, too near the 1 GiB target), no slower.

Outputs ``profile.json`` (everything below) and ``profile.html`` (the same,
rendered as a self-contained page). In both, a numeric column's quantiles
(p1, p5, p25, p50, p75, p95, p99) interpolate linearly between order
statistics, as DuckDB's ``quantile_cont`` does (position ``q * (count - 1)``
in the sorted values); its statistics describe the values valid for its
inferred type; an integer column's min and max are exact integers; and a
text column's string lengths count Unicode code points (``e`` plus a
combining accent is 2). The per-column SQL is in
:mod:`taskq.jobs.profile_stats` (value counts, text checks, duplicates) and
:mod:`taskq.jobs.profile_numeric` (numeric statistics from those counts);
scores, readiness and findings in :mod:`taskq.jobs.profile_quality`.

Duplicate rows: a profiled column whose exact distinct count equals the row
count is a key, so no row can repeat and the duplicate pass is skipped.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from ..errors import InputError, InputNotFound, InputTooLarge, InvalidParams, UnknownColumn
from ..progress import Progress, ScaledProgress
from . import profile_numeric as numeric
from . import profile_stats as stats
from ._json import json_text
from ._table import quote_ident
from .io import check_engine, check_options, connect, open_table
from .profile_drift import Kind, drift_column
from .profile_html import render_html
from .profile_quality import (
    INFER_THRESHOLD,
    WIDE_INTEGER_TYPES,
    build_findings,
    infer_type,
    readiness,
    scores,
)

__all__ = ["run", "validate_params"]

logger = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "approx_distinct": False,
    "baseline": None,
    "columns": None,
    "top_k": 10,
    "outlier_z": 3.5,
    "read_options": {},
    "max_columns": 2000,
    "threads": 2,
    "memory_limit": "640MB",
}
_NUMERIC = ("integer", "float", "decimal")
_TEMPORAL = ("date", "timestamp")


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    """Check ``params`` and fill defaults (see the module docstring); never reads files.

    Raises:
        InvalidParams: an unknown key, or a value of the wrong type or range, naming the key.
    """
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise InvalidParams(
            f"unknown parameter(s) for profile-my-data: {', '.join(unknown)}; known: {', '.join(DEFAULTS)}"
        )
    out = {**DEFAULTS, **params}

    def bad(key: str, want: str) -> InvalidParams:
        return InvalidParams(f"parameter {key!r} must be {want}, not {out[key]!r}")

    if not isinstance(out["approx_distinct"], bool):
        raise bad("approx_distinct", "true or false")
    if out["baseline"] is not None and (not isinstance(out["baseline"], str) or not out["baseline"].strip()):
        raise bad("baseline", "a file path")
    cols = out["columns"]
    if cols is not None and (
        not isinstance(cols, list) or not cols or not all(isinstance(c, str) and c for c in cols)
    ):
        raise bad("columns", "a non-empty list of column names")
    if cols is not None and len(set(cols)) < len(cols):
        raise bad("columns", "a list naming each column once")
    for key, lo, hi in (("top_k", 1, 100), ("max_columns", 1, 100_000)):
        if isinstance(out[key], bool) or not isinstance(out[key], int) or not lo <= out[key] <= hi:
            raise bad(key, f"an integer from {lo} to {hi}")
    z = out["outlier_z"]
    if isinstance(z, bool) or not isinstance(z, int | float) or not z > 0:
        raise bad("outlier_z", "a number > 0")
    out["outlier_z"] = float(z)
    out["read_options"] = check_options(out["read_options"])
    out["threads"], out["memory_limit"] = check_engine(out["threads"], out["memory_limit"])
    return out


def _profile_columns(
    con: Any, view: str, table: Any, names: list[str], params: dict[str, Any], progress: Progress
) -> list[dict[str, Any]]:
    """Per column: value counts, type inference, then numeric or temporal statistics from the same counts."""
    types = {c: table.types[c] for c in names}
    approx = stats.approx_distinct(con, view, names) if params["approx_distinct"] else {}
    columns = []
    for i, name in enumerate(names):
        progress.check()
        progress.update(100 * i / len(names), f"column {i + 1}/{len(names)}: {name}")
        query, dtype = table.column_query(name), types[name]
        if dtype in WIDE_INTEGER_TYPES:  # integers past 39 digits: profiled as their text
            query, dtype = f"SELECT CAST(v AS VARCHAR) AS v FROM ({query})", "VARCHAR"
        values = stats.column_values(con, query, dtype, params["top_k"])
        col: dict[str, Any] = {"name": name, "type": types[name], **values}
        if name in approx:  # HyperLogLog can overshoot: never more distinct values than values
            col["distinct"], col["distinct_approx"] = min(approx[name], col["non_null"]), True
        col["nulls"] = table.rows - col["non_null"]
        if "present" not in col:
            col["present"] = col["non_null"]
        col["missing"] = table.rows - col["present"]
        col["inferred_type"], col["invalid"] = infer_type(types[name], col)
        col["unique_ratio"] = round(col["distinct"] / col["non_null"], 4) if col["non_null"] else 0.0
        _numeric(con, col, params["outlier_z"])
        columns.append(col)
    stats.release(con)
    return columns


def _numeric(con: Any, col: dict[str, Any], z: float) -> None:
    """Numeric statistics and outliers, or the temporal range, of ``col`` from its value counts.

    A text column's statistics describe exactly its valid values (those its
    inferred type counts as parsing, :func:`taskq.jobs.profile_stats.valid_values`),
    never the invalid ones: ``1_000`` in a column inferred integer is neither.
    A typed column's are of all its values."""
    text = col["type"] == "VARCHAR"
    inferred = col["inferred_type"]
    if inferred not in _NUMERIC + _TEMPORAL:
        return
    value, sql_type = stats.valid_values(inferred) if text else ("v", col["type"])
    if inferred in _NUMERIC:
        # Text of at most 15 characters is a number below 10**15 < 2**53, which a DOUBLE holds.
        short = text and (col.get("length") or {}).get("max", 0) <= 15
        expr, offset = (f"CAST({value} AS DOUBLE)", 0.0) if short else numeric.shifted(con, sql_type, value)
        found = numeric.numeric_stats(con, expr, z, materialize=text or bool(offset), offset=offset)
        if found and inferred == "integer":
            numeric.exact_ends(con, found, value)
        if found:
            col.update(found)
    else:
        col["stats"] = numeric.temporal_range(con, value)


def _no_duplicates_possible(columns: list[dict[str, Any]], rows: int) -> bool:
    """True when a profiled column is a key (exact distinct count == rows).

    Every row then differs from every other in that column, so no row can be
    a duplicate and the duplicate pass can be skipped. An approximate count
    proves nothing.
    """
    return any(c["distinct"] == rows and not c.get("distinct_approx") for c in columns)


def run(input_path: Path, out_dir: Path, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Profile ``input_path``; write ``profile.json`` and ``profile.html`` into ``out_dir``.

    Raises:
        InputError subclasses for a bad input or baseline (naming the file),
        UnknownColumn for ``columns`` not in the input, TaskCancelled when asked to stop.
    """
    params = validate_params(params)
    with tempfile.TemporaryDirectory(prefix="taskq-profile-") as tmp:
        con = connect(memory_limit=params["memory_limit"], threads=params["threads"], temp_dir=Path(tmp))
        # Nothing here depends on row order (the profile never reads ``__row``), and an
        # unordered load is ~20 % faster and lighter on memory: give up input order.
        con.execute("SET preserve_insertion_order = false")
        try:
            return _run(con, Path(input_path), Path(out_dir), params, progress)
        finally:
            con.close()


def _run(
    con: Any, input_path: Path, out_dir: Path, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    progress.update(0, "reading")
    table = open_table(con, input_path, options=params["read_options"])
    progress.check()
    names = table.columns
    if params["columns"]:
        missing = [c for c in params["columns"] if c not in table.types]
        if missing:
            raise UnknownColumn(
                f"{input_path.name}: no column(s) {', '.join(map(repr, missing))}; columns: {', '.join(names)}"
            )
        names = list(params["columns"])
    if len(names) > params["max_columns"]:
        raise InputTooLarge(
            f"{input_path.name}: {len(names)} columns to profile; the limit is {params['max_columns']} "
            "(param max_columns); pass 'columns' to profile a subset"
        )
    columns = _profile_columns(con, table.view, table, names, params, ScaledProgress(progress, 15, 82))
    progress.check()
    progress.update(82, "duplicate rows")
    duplicates = 0
    if not _no_duplicates_possible(columns, table.rows):
        duplicates = stats.duplicate_rows(con, table.view, table.columns)
    drift: list[dict[str, Any]] = []
    if params["baseline"]:
        drift = _drift(
            con, table, columns, Path(params["baseline"]), params, ScaledProgress(progress, 85, 93)
        )
    progress.check()
    progress.update(93, "writing")
    score = scores(columns, table.rows, duplicates)
    alerts, issues, recs = build_findings(columns, table.rows, duplicates, drift)
    issues = table.warnings + issues
    ready = readiness(score, alerts + issues)
    profile = {
        "input": {**table.info(), "read_options": table.options, "rejected_lines": table.rejected[:100]},
        "scores": score,
        "readiness": ready,
        "duplicate_rows": duplicates,
        "columns": columns,
        "drift": drift,
        "baseline": params["baseline"],
        "alerts": alerts,
        "issues": issues,
        "recommendations": recs,
    }
    (out_dir / "profile.json").write_text(json_text(profile, indent=1))
    (out_dir / "profile.html").write_text(render_html(profile), encoding="utf-8")
    progress.update(100, "done")
    return {
        "input": table.info(),
        "alerts": alerts,
        "issues": issues,
        "recommendations": recs,
        "summary": {
            "rows": table.rows,
            "columns": len(table.columns),
            "profiled_columns": len(columns),
            "duplicate_rows": duplicates,
            "scores": score,
            "readiness": ready["rating"],
            "pii_columns": sorted({a["column"] for a in alerts if a["code"].startswith("pii_")}),
            "drifted_columns": [d["column"] for d in drift if d.get("drifted")],
        },
        "outputs": ["profile.json", "profile.html"],
    }


def _baseline_kind(con: Any, base: Any, name: str) -> str | None:
    """``numeric`` or ``temporal`` when the baseline's column ``name`` is: typed so, or text
    whose present values parse as numbers (else as timestamps, dates included) as often as
    the input's must for it to be inferred so; else None."""
    dtype = base.types[name]
    typed = infer_type(dtype, {})[0]
    if typed in _NUMERIC:
        return "numeric"
    if typed in _TEMPORAL:
        return "temporal"
    if dtype != "VARCHAR":
        return None
    v = quote_ident(name)
    numbers, times, present = con.execute(
        f"SELECT count({stats.valid_values('float', v)[0]}), count({stats.valid_values('timestamp', v)[0]}), "
        f"count(*) FILTER ({stats.present_sql(v)}) FROM {base.view}"
    ).fetchall()[0]
    if not present:
        return None
    if numbers / present >= INFER_THRESHOLD:
        return "numeric"
    return "temporal" if times / present >= INFER_THRESHOLD else None


def _drift_kind(con: Any, base: Any, col: dict[str, Any]) -> Kind:
    """The drift test for ``col``: KS on numbers when either file's column is numeric, else
    KS on epoch seconds when either is dates or timestamps, else PSI on the values."""
    if col["inferred_type"] in _NUMERIC:
        return "numeric"
    theirs = _baseline_kind(con, base, col["name"])
    if theirs == "numeric":
        return "numeric"
    return "temporal" if col["inferred_type"] in _TEMPORAL or theirs == "temporal" else "categorical"


def _drift(
    con: Any,
    table: Any,
    columns: list[dict[str, Any]],
    baseline: Path,
    params: dict[str, Any],
    progress: Progress,
) -> list[dict[str, Any]]:
    progress.update(0, "drift: reading baseline")
    if not baseline.is_file():
        raise InputNotFound(f"baseline file not found: {baseline}", path=str(baseline))
    try:
        base = open_table(con, baseline, view="baseline", options=params["read_options"])
    except InputError as exc:  # "x.csv: the file is empty" must say which of the two files it is
        raise type(exc)(f"baseline {exc.message}", **exc.details) from None
    shared = [c for c in columns if c["name"] in base.types]
    out = []
    for i, c in enumerate(shared):
        progress.check()
        progress.update(100 * i / max(len(shared), 1), f"drift: {c['name']}")
        kind = _drift_kind(con, base, c)
        dtypes = (table.types[c["name"]], base.types[c["name"]])
        out.append(drift_column(con, table.view, base.view, c["name"], kind, dtypes))
    alone = "not compared"
    for name in [n for n in base.columns if n not in table.types]:
        out.append(
            {
                "column": name,
                "test": None,
                "drifted": False,
                "summary": "only in the baseline",
                "status": alone,
            }
        )
    for name in [c["name"] for c in columns if c["name"] not in base.types]:  # in input order
        out.append(
            {"column": name, "test": None, "drifted": False, "summary": "only in the input", "status": alone}
        )
    return out
