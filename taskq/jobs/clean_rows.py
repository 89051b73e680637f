"""The row-level steps of clean-my-data: quarantine, dedupe, nulls and outliers.

They work on one materialised table, ``clean_rows``: the input's ``__row``,
every column's cleaned value (from the value maps of
:mod:`taskq.jobs.clean_values`) and a ``__keep`` flag. A step that removes rows
clears ``__keep`` instead of deleting them, so the table keeps input order and
the final write is a plain filter. Every count is over rows still kept when
the step runs.
"""

from __future__ import annotations

import decimal
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

import duckdb

from ._table import INTEGER_TYPES
from ._table import quote_ident as q
from ._table import sql_literal as _lit
from .clean_values import BuildStep, ColumnMap, outcome_sql

__all__ = [
    "ROW_LIST_LIMIT",
    "TABLE",
    "Built",
    "FailColumn",
    "aligned",
    "build_cleaned",
    "quarantine_query",
    "dedupe",
    "fill_nulls",
    "identifiers",
    "is_integer",
    "is_numeric",
    "null_counts",
    "outliers",
    "quarantine",
    "quartiles",
    "rejected_lines",
]

logger = logging.getLogger(__name__)

TABLE = "clean_rows"
QUARANTINE = "clean_quarantine"
ROW_LIST_LIMIT = 1000
"""changes.json lists at most this many removed row numbers per step and column."""
_INTEGERS = frozenset(INTEGER_TYPES)


def is_integer(sql_type: str) -> bool:
    """Whether ``sql_type`` is a DuckDB integer type (the types step gives BIGINT; Parquet any)."""
    return sql_type in _INTEGERS


def is_numeric(sql_type: str) -> bool:
    """Whether ``sql_type`` is a number: an integer, FLOAT, DOUBLE or DECIMAL(p, s)."""
    return is_integer(sql_type) or sql_type in _FLOATS or sql_type.startswith("DECIMAL")


def _rows(con: duckdb.DuckDBPyConnection, where: str, total: int | None = None) -> tuple[int, list[int]]:
    """(count, first :data:`ROW_LIST_LIMIT` row numbers) of kept rows matching ``where``.

    ``total``, when given, is that count, already known: only the rows are listed.
    """
    if total is None:
        row = con.execute(f"SELECT count(*) FROM {TABLE} WHERE __keep AND ({where})").fetchall()[0]
        total = int(row[0]) if row else 0
    if total == 0:
        return 0, []
    listed = con.execute(
        f"SELECT __row FROM {TABLE} WHERE __keep AND ({where}) ORDER BY __row LIMIT {ROW_LIST_LIMIT}"
    ).fetchall()
    return total, [int(r[0]) for r in listed]


def _drop(con: duckdb.DuckDBPyConnection, where: str) -> None:
    con.execute(f"UPDATE {TABLE} SET __keep = false WHERE __keep AND ({where})")


@dataclass
class Built:
    """What :func:`build_cleaned` made besides ``clean_rows``.

    Attributes:
        failing: the hidden columns of input columns with (possible) rule breaks.
        codes: per row-wise column, the hidden column of its per-step outcome codes.
    """

    failing: list[FailColumn]
    codes: dict[str, str]


def build_cleaned(con: duckdb.DuckDBPyConnection, view: str, maps: dict[str, ColumnMap]) -> Built:
    """Materialise ``clean_rows`` and the rule breaks table ``clean_quarantine``.

    Columns whose map is the identity are copied from the input; the others
    are computed from the raw value with their value steps' SQL, in nested
    projections (one level per step, plus one per helper value a step needs).
    Only columns that need their map (phones of a value map, decided by
    ``phonenumbers``) are looked up with a join; the table may then come out
    of input order: readers order by ``__row`` or check :func:`aligned`.

    A column with rule breaks also gets two hidden columns in ``clean_rows``:
    the failure reason (NULL when the value is fine) and the raw value (only
    where it failed). A row-wise column (near-unique, see
    :mod:`taskq.jobs.clean_values`) also gets its outcome codes: two bits per
    step, what the step did to the row's value (see
    :func:`taskq.jobs.clean_values.outcome_sql`). ``clean_quarantine`` gets one
    row per (input row, failing column): ``__row, column, reason, value``.
    """
    items = list(maps.items())
    direct = {col: cm for col, cm in items if not cm.identity and cm.expr is not None}
    names = {col: f"c{i}" for i, (col, _) in enumerate(items)}
    failing = _fail_columns(maps)
    by_col = {f.column: f for f in failing}
    taken = set(maps) | {f.reason for f in failing} | {f.raw for f in failing}
    rowwise = [col for col, cm in items if cm.rowwise]
    codes = {col: _unclaimed(f"__clean_codes_{i}", taken) for i, col in enumerate(rowwise)}
    raw = {f.column: f"r{i}" for i, f in enumerate(failing)}
    fails = {f.column: f"f{i}" for i, f in enumerate(failing) if f.column in direct}
    outcome = {col: f"e{i}" for i, (col, cm) in enumerate(items) if cm.rowwise}
    # Every alias carried from level to level; each level assigns some of them.
    live = (
        ["__row"]
        + [names[col] for col, _ in items]
        + list(raw.values())
        + list(fails.values())
        + list(outcome.values())
    )
    first = (
        ["__row"]
        + [f"{q(col)} AS {names[col]}" for col, _ in items]
        + [f"{q(col)} AS {r}" for col, r in raw.items()]
        + [f"NULL::VARCHAR AS {f}" for f in fails.values()]
        + [f"0 AS {e}" for e in outcome.values()]
    )
    sql = f"SELECT {', '.join(first)} FROM {view}"
    levels: list[dict[str, str]] = []
    for col, cm in direct.items():
        steps = [
            level
            for k, step in enumerate(cm.expr or [])
            for level in _step_levels(
                names[col], k, step, fails.get(col), outcome.get(col) if step.slot is not None else None
            )
        ]
        for depth, assign in enumerate(steps):
            if depth == len(levels):
                levels.append({})
            levels[depth].update(assign)
    for assign in levels:
        added = [a for a in assign if a not in live]
        cols = [f"{assign[a]} AS {a}" if a in assign else a for a in live] + [
            f"{assign[a]} AS {a}" for a in added
        ]
        live += added
        sql = f"SELECT {', '.join(cols)} FROM ({sql})"
    select, joins = [], []
    for i, (col, cm) in enumerate(items):
        if cm.identity or cm.expr is not None:
            select.append(f"s.{names[col]} AS {q(col)}")
        else:
            joins.append(f"LEFT JOIN {cm.table} m{i} ON s.{names[col]} = m{i}.v")
            select.append(f"m{i}.cur AS {q(col)}")
    hidden = []
    for i, (col, _) in enumerate(items):
        f = by_col.get(col)
        if f is not None:
            reason = f"s.{fails[col]}" if col in fails else f"m{i}.fail"
            hidden += [
                f"{reason} AS {q(f.reason)}",
                f"CASE WHEN {reason} IS NOT NULL THEN s.{raw[col]} END AS {q(f.raw)}",
            ]
        if col in outcome:
            hidden.append(f"s.{outcome[col]} AS {q(codes[col])}")
    con.execute(
        f"CREATE OR REPLACE TABLE {TABLE} AS SELECT s.__row, {', '.join(select + hidden)}, true AS __keep "
        f"FROM ({sql}) s {' '.join(joins)}"
    )
    # A projection keeps input order; a lookup join may not. The table is not sorted
    # back here (a whole extra pass over every column): every row step is order-free
    # or orders by ``__row``, and the final write sorts when :func:`aligned` says so.
    parts = [
        f"SELECT __row, {_lit(f.column)}, {q(f.reason)}, {q(f.raw)} FROM {TABLE} WHERE {q(f.reason)} IS NOT NULL"
        for f in failing
    ]
    con.execute(
        f"CREATE OR REPLACE TABLE {QUARANTINE} (__row BIGINT, col VARCHAR, reason VARCHAR, value VARCHAR)"
    )
    if parts:
        con.execute(f"INSERT INTO {QUARANTINE} {' UNION ALL '.join(parts)}")
    return Built(failing, codes)


def _step_levels(
    x: str, k: int, step: BuildStep, fail: str | None, outcome: str | None
) -> list[dict[str, str]]:
    """The projection levels applying ``step`` (the ``k``-th) to the value alias ``x``.

    Helpers first, one level each; then the new value (and the failure reason,
    read from the step's input) into temporaries; then the value itself, the
    first failure kept in ``fail`` and, for a step of a row-wise column, its
    outcome code added into ``outcome`` at bits ``2 * step.slot``.
    """
    refs = {"{x}": x}

    def sub(template: str) -> str:
        for token, alias in refs.items():
            template = template.replace(token, alias)
        return template

    levels = []
    for name, template in step.helpers:
        alias = f"{x}_h{k}_{name}"
        levels.append({alias: sub(template)})
        refs["{" + name + "}"] = alias
    new, why = f"{x}_n{k}", f"{x}_w{k}"
    tracked = fail is not None and step.fail is not None
    reason = sub(step.fail or "")
    late = "{new}" in reason  # reads the step's output: evaluated with the value, a level later
    first = {new: sub(step.new)}
    if tracked and not late:
        first[why] = reason
        reason = why
    levels.append(first)
    reason = reason.replace("{new}", new)
    last = {x: new}
    if tracked:
        last[fail] = f"coalesce({fail}, {reason})"  # type: ignore[index]
    if outcome is not None:
        newfail = f"(CASE WHEN {fail} IS NULL THEN {reason} END)" if tracked else None
        last[outcome] = f"{outcome} + {outcome_sql(x, new, newfail)} * {4 ** (step.slot or 0)}"
    levels.append(last)
    return levels


@dataclass(frozen=True)
class FailColumn:
    """The hidden ``clean_rows`` columns of an input column with rule breaks."""

    column: str
    reason: str
    raw: str


def _fail_columns(maps: dict[str, ColumnMap]) -> list[FailColumn]:
    """Hidden columns for every column that failed a value (or, row-wise, might)."""
    taken = set(maps)
    return [
        FailColumn(col, _unclaimed(f"__clean_fail_{i}", taken), _unclaimed(f"__clean_raw_{i}", taken))
        for i, (col, cm) in enumerate(maps.items())
        if cm.failed or (cm.rowwise and any(s.fail for s in cm.expr or []))
    ]


def _unclaimed(name: str, taken: set[str]) -> str:
    """``name``, with ``_`` prefixed until no column in ``taken`` has it; claimed in ``taken``."""
    while name in taken:
        name = f"_{name}"
    taken.add(name)
    return name


def quarantine_query(view: str, columns: list[str], rejects: str = "") -> str:
    """The rows of ``quarantine.csv``: one per (input row, failing column), in row then column order.

    The rule breaks in ``clean_quarantine`` are joined to the input (for the
    row's raw values) and to ``clean_rows`` (whether the row was removed) by
    ``__row``: the rule breaks are few, so the joins build on them and only
    probe the large tables.

    ``rejects`` (:attr:`taskq.jobs.io.Table.rejects`) adds, after them, one row per
    line the reader rejected, in line order: no row number (it is no row read),
    no column, the reason naming the line, the line's raw text as the value,
    removed, and the input columns empty.
    """
    raw = ", ".join("s." + q(c) for c in columns)
    select = (
        "SELECT qu.__row AS quarantine_row, qu.col AS quarantine_column, qu.reason AS quarantine_reason, "
        f"qu.value AS quarantine_value, NOT r.__keep AS quarantine_removed, {raw}"
    )
    joins = f"FROM {QUARANTINE} qu JOIN {view} s ON s.__row = qu.__row JOIN {TABLE} r ON r.__row = qu.__row"
    if not rejects:
        return f"{select} {joins} ORDER BY qu.__row, qu.col"
    empty = ", ".join(f"NULL AS {q(c)}" for c in columns)
    return (
        f"SELECT * EXCLUDE (__line) FROM ({select}, NULL::BIGINT AS __line {joins} UNION ALL "
        "SELECT NULL, NULL, 'line ' || line || ': ' || reason, text, true, "
        f"{empty}, line FROM {rejects}) ORDER BY quarantine_row NULLS LAST, quarantine_column, __line"
    )


def rejected_lines(con: duckdb.DuckDBPyConnection, rejects: str) -> dict[str, Any] | None:
    """The changes entry of the lines the reader rejected (:attr:`taskq.jobs.io.Table.rejects`),
    None when there were none: how many, and the first :data:`ROW_LIST_LIMIT` of them
    with their reasons. They are no rows read, so they take no row number."""
    if not rejects:
        return None
    row = con.execute(f"SELECT count(*) FROM {rejects}").fetchall()[0]
    total = int(row[0]) if row else 0
    if total == 0:
        return None
    listed = con.execute(
        f"SELECT line, reason FROM {rejects} ORDER BY line LIMIT {ROW_LIST_LIMIT}"
    ).fetchall()
    return {
        "step": "read",
        "column": None,
        "reason": "lines the reader could not read as rows (too few or too many fields, a quote "
        "not closed, a line too long): not in the cleaned output, each in quarantine.csv with its text",
        "lines_removed": [{"line": int(line), "reason": str(why)} for line, why in listed],
        "lines_removed_total": total,
    }


def aligned(con: duckdb.DuckDBPyConnection, view: str) -> bool:
    """Whether ``clean_rows`` lines up row by row with ``view`` (same rows, same order)."""
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE s.__row IS DISTINCT FROM r.__row) FROM {view} s POSITIONAL JOIN {TABLE} r"
    ).fetchall()[0]
    return bool(row) and row[0] == 0


def quarantine(con: duckdb.DuckDBPyConnection, enabled: bool) -> tuple[list[dict[str, Any]], int]:
    """Remove the kept rows that break a rule (when ``enabled``).

    Returns one changes entry per (column, reason), counting kept rows only (a
    row dedupe already removed is not counted again), and how many rows the
    step removed: each once, though it may break rules in several columns.
    """
    # The kept rule breaks, once (a join with the whole cleaned table), for every query below.
    kept = "clean_quarantine_kept"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {kept} AS "
        f"SELECT qu.* FROM {QUARANTINE} qu SEMI JOIN {TABLE} r ON qu.__row = r.__row AND r.__keep"
    )
    entries = []
    for col, reason, count in con.execute(
        f"SELECT col, reason, count(DISTINCT __row) FROM {kept} GROUP BY ALL ORDER BY col, reason"
    ).fetchall():
        listed = [
            int(r[0])
            for r in con.execute(
                f"SELECT DISTINCT __row FROM {kept} WHERE col = ? AND reason = ? ORDER BY 1 LIMIT {ROW_LIST_LIMIT}",
                [col, reason],
            ).fetchall()
        ]
        entries.append(
            {
                "step": "quarantine",
                "column": col,
                "reason": reason,
                "rows_affected": int(count),
                "rows_removed": listed if enabled else [],
                "rows_removed_total": int(count) if enabled else 0,
            }
        )
    removed = 0
    if enabled and entries:
        row = con.execute(f"SELECT count(DISTINCT __row) FROM {kept}").fetchall()[0]
        removed = int(row[0]) if row else 0
        _drop(con, f"__row IN (SELECT __row FROM {QUARANTINE})")
    con.execute(f"DROP TABLE {kept}")
    return entries, removed


def dedupe(
    con: duckdb.DuckDBPyConnection,
    columns: list[str],
    ignore_case: bool,
    keys: list[str] | None = None,
    failing: list[FailColumn] | None = None,
) -> dict[str, Any]:
    """Drop rows equal to an earlier kept row on every column (the first one stays).

    Values are compared after the value steps (trimmed, placeholders nulled,
    typed); with ``ignore_case`` text is compared lower-cased too. Two NULLs
    compare equal. A value that broke a rule is NULL in ``clean_rows``; it is
    compared by its raw text (the ``failing`` columns' hidden raw values), so
    it equals neither a NULL nor a different broken value: ``z,oops`` and
    ``z,`` are not duplicates.

    ``keys`` are columns likely to be unique (ids): when the first of them is
    unique over the kept rows, no two rows can be equal and nothing is hashed.
    """
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {TABLE})").fetchall())
    entry: dict[str, Any] = {"step": "dedupe", "column": None, "rows_removed": [], "rows_removed_total": 0}
    if keys and _unique(con, min(keys, key=lambda c: types[c] == "VARCHAR"), types, ignore_case):
        return entry

    keys = [f"lower({q(c)})" if ignore_case and types[c] == "VARCHAR" else q(c) for c in columns]
    keys += [q(f.raw) for f in failing or []]
    key = "struct_pack(" + ", ".join(f"k{i} := {k}" for i, k in enumerate(keys)) + ")"
    hashed = f"hash({', '.join(keys)})"
    # Equal rows hash equally, so only rows sharing a hash with another can be
    # duplicates: group the cheap hashes first, then compare whole rows among those.
    con.execute(
        f"CREATE OR REPLACE TABLE clean_dup_hashes AS SELECT {hashed} AS h FROM {TABLE} "
        "WHERE __keep GROUP BY ALL HAVING count(*) > 1"
    )
    if con.execute("SELECT count(*) FROM clean_dup_hashes").fetchall()[0] == (0,):
        con.execute("DROP TABLE clean_dup_hashes")
        return entry
    con.execute(
        f"CREATE OR REPLACE TABLE clean_dup_cand AS SELECT __row, {key} AS k FROM {TABLE} "
        f"WHERE __keep AND {hashed} IN (SELECT h FROM clean_dup_hashes)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE clean_dups AS SELECT k, min(__row) AS first FROM clean_dup_cand "
        "GROUP BY ALL HAVING count(*) > 1"
    )
    con.execute(
        "CREATE OR REPLACE TABLE clean_dup_rows AS SELECT c.__row, d.first FROM clean_dup_cand c "
        "JOIN clean_dups d ON c.k IS NOT DISTINCT FROM d.k WHERE c.__row <> d.first"
    )
    con.execute("DROP TABLE clean_dup_hashes")
    con.execute("DROP TABLE clean_dup_cand")
    total = con.execute("SELECT count(*) FROM clean_dup_rows").fetchall()[0]
    pairs = con.execute(
        f"SELECT __row, first FROM clean_dup_rows ORDER BY __row LIMIT {ROW_LIST_LIMIT}"
    ).fetchall()
    _drop(con, "__row IN (SELECT __row FROM clean_dup_rows)")
    entry["rows_removed_total"] = int(total[0]) if total else 0
    entry["rows_removed"] = [int(r) for r, _ in pairs]
    entry["duplicate_of"] = {str(r): int(f) for r, f in pairs}
    entry["reason"] = "exact duplicate of an earlier row (after normalisation)"
    return entry


def _unique(con: duckdb.DuckDBPyConnection, column: str, types: dict[str, str], ignore_case: bool) -> bool:
    """Whether no two kept rows share a value of ``column`` as dedupe compares it (NULL equal to NULL)."""
    value = f"lower({q(column)})" if ignore_case and types[column] == "VARCHAR" else q(column)
    distinct, present, rows = con.execute(
        f"SELECT count(DISTINCT {value}), count({value}), count(*) FROM {TABLE} WHERE __keep"
    ).fetchall()[0]
    return bool(distinct == present and rows - present <= 1)


def null_counts(con: duckdb.DuckDBPyConnection, columns: list[str]) -> dict[str, int]:
    """Per column, the kept rows where it is NULL (one scan per :data:`AGGREGATES_PER_QUERY` columns)."""
    out: dict[str, int] = {}
    for part in _batches(columns):
        row = con.execute(
            f"SELECT {', '.join(f'count(*) FILTER (WHERE {q(c)} IS NULL)' for c in part)} FROM {TABLE} WHERE __keep"
        ).fetchall()[0]
        out.update({c: int(n) for c, n in zip(part, row, strict=True)})
    return out


def _constant_sql(constant: Any, sql_type: str) -> str:
    """SQL for the constant fill of a ``sql_type`` column: NULL when it does not cast."""
    # A JSON scalar: true is the text "true", not Python's "True".
    text = _lit(str(constant).lower() if isinstance(constant, bool) else str(constant))
    fill = f"TRY_CAST({text} AS {sql_type})"
    if is_integer(sql_type):  # a cast would round 1.5 to 2: only whole numbers fit
        fill = f"(CASE WHEN TRY_CAST({text} AS DOUBLE) = {fill} THEN {fill} END)"
    return fill


def _constant_problem(given: Any, sql_type: str, value: str | None) -> str | None:
    """Why the constant ``given`` cannot fill a ``sql_type`` column, ``value`` being what its
    cast (:func:`_constant_sql`) gave as text, or None: no cast, or a number it changes."""
    if value is None:
        return f"constant {given!r} is not a valid {sql_type}"
    if is_numeric(sql_type) and not _same_number(str(given), value):
        return f"constant {given!r} does not fit {sql_type} exactly (it would be {value})"
    return None


def null_rule_misfit(
    con: duckdb.DuckDBPyConnection, col: str, sql_type: str, rule: dict[str, Any]
) -> str | None:
    """Why the null strategy ``rule`` cannot apply to column ``col`` of ``sql_type``, or None.

    ``mean``/``median`` need a number column; a ``constant`` must be a value of the
    column's type, exactly (``2.5`` in an integer column, ``abc`` in a number or date one
    is not). What the data decides (no value to take a mean of) is not a misfit.
    """
    strategy = rule["strategy"]
    if strategy in ("mean", "median") and not is_numeric(sql_type):
        return f"{strategy} needs a number column, and {col} is {sql_type}"
    if strategy != "constant":
        return None
    row = con.execute(f"SELECT CAST({_constant_sql(rule['value'], sql_type)} AS VARCHAR)").fetchall()[0]
    problem = _constant_problem(rule["value"], sql_type, None if row is None else row[0])
    if problem is None and sql_type == "DATE" and ":" in str(rule["value"]):  # the cast drops the time
        return f"constant {rule['value']!r} has a time of day, which a DATE does not hold"
    return problem


def fill_nulls(
    con: duckdb.DuckDBPyConnection, col: str, sql_type: str, rule: dict[str, Any], nulls: int | None = None
) -> dict[str, Any]:
    """Apply one column's null strategy; return its changes entry.

    ``mean``/``median`` need a numeric column (an integer column gets the
    rounded value); ``mode`` takes the most frequent value (smallest on a tie);
    ``constant`` casts the value to the column's type. A strategy that does not
    fit the column is skipped with a ``skipped`` note (a default strategy; one named
    for the column was refused before: :func:`null_rule_misfit`).
    ``nulls``, when given, is the column's count of kept NULL rows (:func:`null_counts`).
    """
    strategy = rule["strategy"]
    entry: dict[str, Any] = {"step": "nulls", "column": col, "strategy": strategy}
    if nulls is None:
        row = con.execute(f"SELECT count(*) FROM {TABLE} WHERE __keep AND {q(col)} IS NULL").fetchall()[0]
        nulls = int(row[0]) if row else 0
    if strategy == "leave" or nulls == 0:
        entry.update(changed=0, left_null=nulls)
        return entry
    nulls, listed = _rows(con, f"{q(col)} IS NULL", nulls)
    if strategy == "drop":
        _drop(con, f"{q(col)} IS NULL")
        entry.update(rows_removed=listed, rows_removed_total=nulls, reason=f"{col} is null")
        return entry
    if strategy in ("mean", "median") and not is_numeric(sql_type):
        entry.update(
            changed=0, left_null=nulls, skipped=f"{strategy} needs a numeric column, {col} is {sql_type}"
        )
        return entry
    if strategy == "constant":
        fill = _constant_sql(rule["value"], sql_type)
    elif strategy in ("mean", "median") and _exact(sql_type):
        fill = _exact_fill(con, col, sql_type, strategy)
    else:
        agg = {
            # Summed in sorted order: a parallel avg() depends on how rows reach the threads,
            # and the last digits of a DOUBLE mean changed between identical runs.
            "mean": f"fsum({q(col)} ORDER BY {q(col)}) / count({q(col)})",
            "median": f"quantile_cont({q(col)}, 0.5)",
            # Most frequent, the smallest on a tie: a subquery's ORDER BY does not reach a
            # parallel aggregate, so the order is in the key.
            "mode": f"arg_min({q(col)}, struct_pack(c := -cnt, v := {q(col)}))",
        }[strategy]
        source = (
            f"(SELECT {q(col)}, count(*) AS cnt FROM {TABLE} WHERE __keep AND {q(col)} IS NOT NULL GROUP BY 1)"
            if strategy == "mode"
            else f"{TABLE} WHERE __keep"
        )
        cast = f"round({agg})" if is_integer(sql_type) and strategy != "mode" else agg
        fill = f"(SELECT CAST({cast} AS {sql_type}) FROM {source})"
    # Computed once: the value written is the value reported.
    con.execute(f"CREATE OR REPLACE TEMP TABLE clean_fill AS SELECT {fill} AS v")
    fill = "(SELECT v FROM clean_fill)"
    row = con.execute(f"SELECT CAST({fill} AS VARCHAR)").fetchall()[0]
    value = None if row is None else row[0]
    why = None
    if strategy == "constant":
        problem = _constant_problem(rule["value"], sql_type, value)
        why = None if problem is None else f"{problem} for {col}"
    elif value is None:
        why = f"no {strategy} value for {col} (all null or not castable)"
    if why is None:
        con.execute(f"UPDATE {TABLE} SET {q(col)} = {fill} WHERE __keep AND {q(col)} IS NULL")
    con.execute("DROP TABLE clean_fill")
    if why is not None:
        entry.update(changed=0, left_null=nulls, skipped=why)
    else:
        entry.update(changed=nulls, fill_value=value)
    return entry


def _exact(sql_type: str) -> bool:
    """Whether a mean or median of ``sql_type`` is worth computing exactly (DuckDB's ``avg``
    and integer ``quantile_cont`` go through DOUBLE: 53 bits)."""
    return sql_type.startswith("DECIMAL") or sql_type in ("BIGINT", "UBIGINT", "HUGEINT", "UHUGEINT")


_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
"""A DECIMAL type as DuckDB names it: precision and scale."""


def _exact_fill(con: duckdb.DuckDBPyConnection, col: str, sql_type: str, strategy: str) -> str:
    """SQL literal of the exact mean or median of ``col``'s kept values, rounded half away
    from zero to the column's scale (integers: to a whole number), as ``sql_type``; NULL
    when there are no values."""
    m = _DECIMAL.fullmatch(sql_type)
    scale = int(m.group(2)) if m else 0
    # The median from the two middle values themselves: a cast to DECIMAL(38, 1) for their
    # midpoint failed on HUGEINTs of 38 digits (JSON integers past 64 bits).
    exact = _exact_sum(con, col, scale) if strategy == "mean" else _middle_sum(con, col)
    if exact is None:
        return f"CAST(NULL AS {sql_type})"
    with decimal.localcontext() as ctx:
        ctx.prec = 100  # 39-digit sums and their quotients, exactly enough
        value = exact[0] / exact[1]
        rounded = value.quantize(decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)
    return f"CAST({_lit(str(rounded))} AS {sql_type})"


def _exact_sum(con: duckdb.DuckDBPyConnection, col: str, scale: int) -> tuple[decimal.Decimal, int] | None:
    """``(sum, count)`` of ``col``'s kept values (a DECIMAL of ``scale`` or an integer),
    exactly; None when there are none.

    DuckDB's sum of a DECIMAL(38, s) or a HUGEINT stops with an overflow error past 38
    digits (40 values of 29 digits and 9 decimals do it). Then the unscaled digits are
    summed in two parts, the last 18 and the rest, each a HUGEINT sum far from overflow.
    """
    where = f"FROM {TABLE} WHERE __keep AND {q(col)} IS NOT NULL"
    try:
        total, n = con.execute(f"SELECT sum({q(col)}), count(*) {where}").fetchall()[0]
        return None if not n else (decimal.Decimal(total), int(n))
    except duckdb.OutOfRangeException:
        pass
    # abs(x) as text has every digit of the column's scale: without its point, the unscaled integer.
    digits = f"replace(CAST(abs({q(col)}) AS VARCHAR), '.', '')"
    high = "CASE WHEN length(d) > 18 THEN CAST(left(d, length(d) - 18) AS HUGEINT) ELSE 0 END"
    high_sum, low_sum, n = con.execute(
        f"SELECT sum(sg * {high}), sum(sg * CAST(right(d, 18) AS HUGEINT)), count(*) "
        f"FROM (SELECT sign({q(col)}) AS sg, {digits} AS d {where})"
    ).fetchall()[0]
    if not n:
        return None
    unscaled = int(high_sum) * 10**18 + int(low_sum)
    return decimal.Decimal(f"{unscaled}E-{scale}"), int(n)  # exact: no context rounds a constructor


def _middle_sum(con: duckdb.DuckDBPyConnection, col: str) -> tuple[decimal.Decimal, int] | None:
    """``(sum of the two middle values, 2)`` of ``col``'s kept values (the middle one twice
    for an odd count), exactly; None when there are none. DuckDB's quantile_cont of a
    DECIMAL cuts the midpoint to the column's scale (-1 and -2 give -1, not -1.5); of an
    integer, it is a DOUBLE."""
    where = f"FROM {TABLE} WHERE __keep AND {q(col)} IS NOT NULL"
    low, n = con.execute(f"SELECT quantile_disc({q(col)}, 0.5), count(*) {where}").fetchall()[0]
    if not n:
        return None
    high = low  # quantile_disc gives the lower middle value (0-based (n - 1) // 2)
    if n % 2 == 0:
        # The upper middle (0-based n // 2): the lower one again if it fills that place too.
        upto, above = con.execute(
            f"SELECT count(*) FILTER (WHERE {q(col)} <= $1), min({q(col)}) FILTER (WHERE {q(col)} > $1) {where}",
            [low],
        ).fetchall()[0]
        high = low if upto > n // 2 else above
    both = decimal.Context(prec=100).add(decimal.Decimal(low), decimal.Decimal(high))  # not 28 digits
    return both, 2


def _same_number(given: str, stored: str) -> bool:
    """Whether the constant ``given`` reads as the same finite number as ``stored`` (how
    the column's type holds it): 0.125 in a DECIMAL(5, 2) would be 0.13."""
    try:
        a, b = decimal.Decimal(given.strip()), decimal.Decimal(stored)
    except decimal.InvalidOperation:
        return False
    return a.is_finite() and b.is_finite() and a == b


_ID_NAME = re.compile(
    r"(?i:(?:^|[^a-z])(?:id|key|no|nr|num|number|code))$|[a-z0-9](?:Id|ID|Key|No|Nr|Num|Number|Code)$"
    r"|(?i:^(?:row|user|customer|client|account|order|item|product|person|member|employee|invoice"
    r"|transaction|txn|session|record|ref)id$)"
)
"""Column names of identifiers: ``id``, ``customer_id``, ``customerId``, ``order key``,
``invoice_no``, and the common run-together ones in any case (``rowid``, ``USERID``):
a word that merely ends in ``id`` (``paid``, ``valid``) is none."""


def identifiers(con: duckdb.DuckDBPyConnection, columns: list[str]) -> list[str]:
    """The integer ``columns`` that are identifiers: named like one (:data:`_ID_NAME`) and
    unique over the kept rows (NULLs aside). One scan for all of them.

    IQR fences on an identifier flag nothing a user wants (a jump in an id range,
    ids from another system), so automatic outlier checks skip them.
    """
    named = [c for c in columns if _ID_NAME.search(c)]
    if not named:
        return []
    counts = ", ".join(f"count(DISTINCT {q(c)}) = count({q(c)})" for c in named)
    row = con.execute(f"SELECT {counts} FROM {TABLE} WHERE __keep").fetchall()[0]
    return [c for c, unique in zip(named, row, strict=True) if unique]


_FLOATS = ("FLOAT", "DOUBLE")
"""The numeric types that can hold NaN and infinities (typed Parquet or JSON columns may)."""


def _finite(col: str, sql_type: str) -> str:
    """SQL: the numeric column ``col`` of ``sql_type`` holds a finite value (not NULL, NaN
    or an infinity). Integers and decimals are finite whenever present: no test per row."""
    return f"isfinite({q(col)})" if sql_type in _FLOATS else f"{q(col)} IS NOT NULL"


def _wide_scale(sql_type: str) -> int | None:
    """For a DECIMAL(p, s) with p < 38, the scale of the DECIMAL(38, s + 38 - p) its quartiles
    are taken in: DuckDB cuts an interpolated quartile of a DECIMAL to the column's scale
    (10.225 became 10.2, and the fences flagged a value inside them), and the spare digits
    keep it. None for other types (and a DECIMAL(38, s), which has none to spare)."""
    m = _DECIMAL.fullmatch(sql_type)
    if m is None or int(m.group(1)) >= 38:
        return None
    return int(m.group(2)) + 38 - int(m.group(1))


def _quantile_input(col: str, sql_type: str) -> str:
    """``col`` as the outlier step reads it: a DECIMAL exactly, widened (:func:`_wide_scale`),
    or, when it cannot be, as DOUBLE, like the fences it is compared with."""
    scale = _wide_scale(sql_type)
    if scale is not None:
        return f"CAST({q(col)} AS DECIMAL(38, {scale}))"
    return f"CAST({q(col)} AS DOUBLE)" if sql_type.startswith("DECIMAL") else q(col)


def _fence_conditions(value: str, sql_type: str, q1: Any, q3: Any, k: float) -> tuple[float, float, str]:
    """``(lower fence, upper fence, SQL: value outside them)``.

    Quartiles of a widened DECIMAL come back as Decimals: the fences are then exact,
    compared as that DECIMAL (a value below the lower fence is below its ceiling at
    that scale, as values are multiples of it; a fence past the type's range excludes
    nothing). Otherwise DOUBLEs, compared as DOUBLEs: as plain literals, DuckDB read
    -0.25000000000000006 as a DECIMAL(17, 17) and cast a DECIMAL(38, 2) column to that
    scale, which failed on large values.
    """
    scale = _wide_scale(sql_type)
    if scale is not None and isinstance(q1, decimal.Decimal) and isinstance(q3, decimal.Decimal):
        wide = f"DECIMAL(38, {scale})"
        step, limit = decimal.Decimal(1).scaleb(-scale), decimal.Decimal(10) ** (38 - scale)
        with decimal.localcontext() as ctx:
            ctx.prec = 100
            spread = decimal.Decimal(repr(k)) * (q3 - q1)
            lo = (q1 - spread).quantize(step, rounding=decimal.ROUND_CEILING)
            hi = (q3 + spread).quantize(step, rounding=decimal.ROUND_FLOOR)
        below = f"{value} < CAST('{lo}' AS {wide})" if lo > -limit else "false"
        above = f"{value} > CAST('{hi}' AS {wide})" if hi < limit else "false"
        return float(lo), float(hi), f"({below} OR {above})"
    lo_f, hi_f = float(q1) - k * (float(q3) - float(q1)), float(q3) + k * (float(q3) - float(q1))
    return lo_f, hi_f, f"({value} < CAST('{lo_f!r}' AS DOUBLE) OR {value} > CAST('{hi_f!r}' AS DOUBLE))"


def quartiles(con: duckdb.DuckDBPyConnection, types: dict[str, str]) -> dict[str, tuple[int, Any]]:
    """Per column of ``types`` (name -> SQL type), ``(count, [Q1, Q3])`` of its kept finite
    values (one scan per :data:`AGGREGATES_PER_QUERY` columns)."""
    out: dict[str, tuple[int, Any]] = {}
    for part in _batches(list(types)):
        row = con.execute(
            "SELECT "
            + ", ".join(
                f"count(*) FILTER ({_finite(c, types[c])}), "
                f"quantile_cont({_quantile_input(c, types[c])}, [0.25, 0.75]) FILTER ({_finite(c, types[c])})"
                for c in part
            )
            + f" FROM {TABLE} WHERE __keep"
        ).fetchall()[0]
        out.update({c: (int(row[2 * i]), row[2 * i + 1]) for i, c in enumerate(part)})
    return out


AGGREGATES_PER_QUERY = 32
"""Columns aggregated by one query: DuckDB's cost grows faster than linearly with the
aggregates in a statement (500 quantiles in one took 2.8 s, in batches of 32 0.2 s)."""


def _batches(columns: list[str]) -> list[list[str]]:
    return [columns[i : i + AGGREGATES_PER_QUERY] for i in range(0, len(columns), AGGREGATES_PER_QUERY)]


def outliers(
    con: duckdb.DuckDBPyConnection,
    col: str,
    sql_type: str,
    k: float,
    remove: bool,
    stats: tuple[int, Any] | None = None,
) -> dict[str, Any] | None:
    """Flag (and with ``remove``, drop) values outside the IQR fences of ``col`` (of ``sql_type``).

    Fences are ``Q1 - k*IQR`` and ``Q3 + k*IQR`` over kept finite values;
    NaN and infinities are neither counted nor flagged (the entry's
    ``non_finite`` says how many there are). ``stats``, when given, is the
    column's entry from :func:`quartiles`, taken over the rows kept now.
    Returns None when the column has fewer than 4 finite values (no
    meaningful quartiles).
    """
    count, fences = stats if stats is not None else quartiles(con, {col: sql_type})[col]
    if count < 4:
        return None
    q1, q3 = float(fences[0]), float(fences[1])
    lo, hi, outside = _fence_conditions(_quantile_input(col, sql_type), sql_type, fences[0], fences[1], k)
    if not (math.isfinite(lo) and math.isfinite(hi)):  # quartiles near the double range's ends
        return None
    where = f"{_finite(col, sql_type)} AND {outside}"
    total, listed = _rows(con, where)
    shown = q(col) if is_integer(sql_type) else f"CAST({q(col)} AS DOUBLE)"  # DECIMAL: a JSON number
    examples = con.execute(
        f"SELECT __row, {shown} FROM {TABLE} WHERE __keep AND ({where}) ORDER BY __row LIMIT 5"
    ).fetchall()
    entry: dict[str, Any] = {
        "step": "outliers",
        "column": col,
        "q1": q1,
        "q3": q3,
        "lower_fence": lo,
        "upper_fence": hi,
        "flagged": total,
        "examples": [{"row": int(r), "value": v} for r, v in examples],
        "rows_removed": listed if remove else [],
        "rows_removed_total": total if remove else 0,
    }
    if sql_type in _FLOATS:
        odd = con.execute(
            f"SELECT count(*) FROM {TABLE} WHERE __keep AND {q(col)} IS NOT NULL AND NOT {_finite(col, sql_type)}"
        ).fetchall()[0][0]
        if odd:
            entry["non_finite"] = int(odd)
    if remove and total:
        entry["reason"] = f"{col} outside the IQR fences [{lo:g}, {hi:g}]"
        _drop(con, where)
    return entry
