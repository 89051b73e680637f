"""The value-level steps of clean-my-data, run on each column's distinct values.

Every value step (whitespace, placeholders, types, standardise) is a pure
function of one cell, so it runs on a *value map*: a DuckDB table
``(v, n, cur, fail)`` holding each distinct raw value ``v`` of a column, the
number of rows ``n`` holding it, its current cleaned value ``cur`` and the
reason it breaks a rule (``fail``, NULL when fine). Counts are weighted by
``n``, so the numbers in changes.json are row counts, while the work (regexes,
date parsing, ``phonenumbers``) is done once per distinct value. The cleaned
table is then the input joined to the maps (:func:`taskq.jobs.clean_rows.build_cleaned`).

A NULL input cell stays NULL through every value step; the ``nulls`` step
(a row step) is what fills nulls.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import duckdb
import phonenumbers

from ..progress import Progress
from .clean_types import TypeDecision, decide_type, parse_expr

__all__ = ["ColumnMap", "EMAIL_PATTERN", "clean_values", "e164"]

logger = logging.getLogger(__name__)

EMAIL_PATTERN = (
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,}"
)
_EMAIL_NAME = re.compile(r"e-?mail", re.I)
_PHONE_NAME = re.compile(r"phone|mobile|\btel\b|^tel|fax|cell", re.I)
_PHONE_SHAPE = r"[+(]?[0-9][0-9 ().\-/]{5,}[0-9](\s*(x|ext\.?)\s*[0-9]+)?"
_WS = r"[\s\p{Z}\x{FEFF}]+"
_UDF = "taskq_clean_e164"
_PLAIN = (
    "strlen(cur) = length(cur) AND cur = trim(cur) AND NOT (contains(cur, '  ') OR "
    + " OR ".join(f"contains(cur, chr({i}))" for i in (9, 10, 11, 12, 13))
    + ")"
)
"""ASCII, already trimmed and without runs of spaces or control whitespace: nothing to do (cheap test)."""
EXAMPLES = 5


@dataclass
class ColumnMap:
    """A column's value map after the value steps.

    Attributes:
        column: the input column name.
        table: the DuckDB table ``(v, n, cur, fail)``.
        sql_type: DuckDB type of ``cur`` (VARCHAR unless the types step converted it).
        identity: True when no value changed and none failed: the cleaned table
            can take the input column as is, without a join.
        failed: rows whose value breaks a rule (to quarantine).
        kind: ``email``/``phone`` when standardised as such, else None.
        decision: the types step's decision, if it ran.
    """

    column: str
    table: str
    sql_type: str = "VARCHAR"
    identity: bool = True
    failed: int = 0
    kind: str | None = None
    decision: TypeDecision | None = None
    notes: list[str] = field(default_factory=list)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def e164(value: str | None, region: str) -> str | None:
    """``value`` as an E.164 phone number, or None if it is not a valid number.

    ``region`` is the ISO 3166 code assumed for numbers written without a
    leading ``+`` country code.
    """
    if value is None:
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _ensure_udf(con: duckdb.DuckDBPyConnection) -> None:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [_UDF]
    ).fetchall()[0]
    if exists and exists[0]:
        return
    con.create_function(_UDF, e164, ["VARCHAR", "VARCHAR"], "VARCHAR", null_handling="special")


def _apply(
    con: duckdb.DuckDBPyConnection, table: str, new: str, fail: str | None = None, *, retype: bool = False
) -> dict[str, Any]:
    """Replace ``cur`` by ``new`` (and set ``fail``) in ``table``; return the step's counts.

    ``fail`` is a SQL expression giving a reason (or NULL) from the *old*
    ``cur``; a value that already failed in an earlier step is not counted again.
    When nothing changed the table is kept as is, unless ``retype`` (``new``
    changes the column's type).
    """
    fail_sql = fail or "NULL::VARCHAR"
    con.execute(
        f"CREATE OR REPLACE TABLE {table}__next AS SELECT v, n, {new} AS cur, "
        f"CASE WHEN fail IS NULL THEN {fail_sql} END AS newfail, fail, cur AS prev FROM {table}"
    )
    nxt = f"{table}__next"
    row = con.execute(
        "SELECT coalesce(sum(n) FILTER (WHERE newfail IS NOT NULL), 0),"
        " coalesce(sum(n) FILTER (WHERE newfail IS NULL AND prev IS NOT NULL AND cur IS NULL), 0),"
        " coalesce(sum(n) FILTER (WHERE newfail IS NULL AND cur IS NOT NULL"
        "   AND CAST(cur AS VARCHAR) IS DISTINCT FROM CAST(prev AS VARCHAR)), 0),"
        f" coalesce(sum(n), 0) FROM {nxt}"
    ).fetchall()[0]
    assert row is not None
    failed, nulled, changed, total = (int(x) for x in row)
    examples = con.execute(
        f"SELECT CAST(prev AS VARCHAR), CAST(cur AS VARCHAR), newfail FROM {nxt} "
        "WHERE newfail IS NOT NULL OR CAST(cur AS VARCHAR) IS DISTINCT FROM CAST(prev AS VARCHAR) "
        f"ORDER BY n DESC, prev NULLS FIRST LIMIT {EXAMPLES}"
    ).fetchall()
    if changed or nulled or failed or retype:
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT v, n, cur, coalesce(fail, newfail) AS fail FROM {nxt}"
        )
    con.execute(f"DROP TABLE {nxt}")
    return {
        "changed": changed,
        "unchanged": total - changed - nulled - failed,
        "nulled": nulled,
        "failed": failed,
        "examples": [{"before": b, "after": a, **({"reason": r} if r else {})} for b, a, r in examples],
    }


def _share(con: duckdb.DuckDBPyConnection, table: str, cond: str) -> float:
    row = con.execute(
        f"SELECT coalesce(sum(n) FILTER (WHERE {cond}), 0), coalesce(sum(n), 0) FROM {table} WHERE cur IS NOT NULL"
    ).fetchall()[0]
    assert row is not None
    return row[0] / row[1] if row[1] else 0.0


def _kind(con: duckdb.DuckDBPyConnection, table: str, column: str, cfg: dict[str, Any]) -> str | None:
    """``email``, ``phone`` or None: how the standardise step treats ``column``."""
    for kind in ("email", "phone"):
        chosen = cfg[f"{kind}_columns"]
        if isinstance(chosen, list) and column in chosen:
            return kind
    if cfg["email_columns"] == "auto":
        share = _share(con, table, f"regexp_full_match(cur, {_lit(EMAIL_PATTERN)})")
        if share >= 0.9 or (_EMAIL_NAME.search(column) and share >= 0.5):
            return "email"
    phone_like = f"regexp_full_match(cur, {_lit(_PHONE_SHAPE)})"
    if (
        cfg["phone_columns"] == "auto"
        and _PHONE_NAME.search(column)
        and _share(con, table, phone_like) >= 0.5
    ):
        return "phone"
    return None


def _title(value: str) -> str:
    return (
        f"array_to_string(list_transform(string_split(lower({value}), ' '), "
        "lambda w: upper(left(w, 1)) || substr(w, 2)), ' ')"
    )


def clean_values(
    con: duckdb.DuckDBPyConnection,
    view: str,
    columns: list[str],
    steps: dict[str, dict[str, Any]],
    progress: Progress,
) -> tuple[dict[str, ColumnMap], list[dict[str, Any]]]:
    """Run the enabled value steps on every column of ``view``.

    Args:
        view: the input view (all VARCHAR) from :func:`taskq.jobs.io.open_table`.
        steps: validated steps by name (:func:`taskq.jobs.clean_params.step_map`).
        progress: 0-100 over the columns; ``check()`` runs between columns and steps.

    Returns:
        The value map per column, and one changes entry per (step, column).
    """
    maps: dict[str, ColumnMap] = {}
    changes: list[dict[str, Any]] = []
    ws, ph, ty, st = (steps[s] for s in ("whitespace", "placeholders", "types", "standardise"))
    for i, col in enumerate(columns):
        progress.check()
        progress.update(100.0 * i / len(columns), f"cleaning values: {col}")
        cm = ColumnMap(col, f"clean_map_{i}")
        quoted = '"' + col.replace('"', '""') + '"'
        con.execute(
            f"CREATE OR REPLACE TABLE {cm.table} AS SELECT {quoted} AS v, count(*) AS n, "
            f"{quoted} AS cur, NULL::VARCHAR AS fail FROM {view} GROUP BY ALL"
        )

        def record(step: str, stats: dict[str, Any], cm: ColumnMap = cm, **extra: Any) -> None:
            changes.append({"step": step, "column": cm.column, **stats, **extra})

        if ws["enabled"]:
            value = "nfc_normalize(cur)" if ws["nfc"] else "cur"
            if ws["collapse"]:
                new = f"trim(regexp_replace({value}, {_lit(_WS)}, ' ', 'g'))"
            else:
                new = f"regexp_replace({value}, {_lit('^' + _WS + '|' + _WS + '$')}, '', 'g')"
            new = f"CASE WHEN {_PLAIN} THEN cur ELSE {new} END"
            record("whitespace", _apply(con, cm.table, new))
        progress.check()
        if ph["enabled"]:
            tokens = ", ".join(_lit(t) for t in ph["tokens"]) or "NULL"
            record(
                "placeholders", _apply(con, cm.table, f"CASE WHEN cur IN ({tokens}) THEN NULL ELSE cur END")
            )
        progress.check()
        if st["enabled"]:
            cm.kind = _kind(con, cm.table, col, st)
        if ty["enabled"]:
            forced = ty["columns"].get(col, "auto")
            if cm.kind is not None and forced == "auto":
                decision = TypeDecision("text", 0.0, reason=f"{cm.kind} column: standardised, not converted")
            else:
                decision = decide_type(
                    con,
                    cm.table,
                    threshold=ty["threshold"],
                    forced=forced,
                    dayfirst=ty["dayfirst"].get(col),
                    decimal=ty["decimal"].get(col),
                )
            cm.decision = decision
            if decision.type == "text":
                record("types", _apply(con, cm.table, "cur"), decision=decision.as_dict())
            else:
                parsed = parse_expr(decision)
                fail = f"CASE WHEN cur IS NOT NULL AND ({parsed}) IS NULL THEN {_lit('not a valid ' + decision.type)} END"
                record("types", _apply(con, cm.table, parsed, fail, retype=True), decision=decision.as_dict())
                cm.sql_type = {
                    "integer": "BIGINT",
                    "number": "DOUBLE",
                    "date": "DATE",
                    "timestamp": "TIMESTAMP",
                    "boolean": "BOOLEAN",
                }[decision.type]
        progress.check()
        if st["enabled"]:
            _standardise(con, cm, st, record)
        row = con.execute(
            f"SELECT count(*) FILTER (WHERE CAST(cur AS VARCHAR) IS DISTINCT FROM v), "
            f"coalesce(sum(n) FILTER (WHERE fail IS NOT NULL), 0) FROM {cm.table}"
        ).fetchall()[0]
        assert row is not None
        cm.identity = row[0] == 0 and row[1] == 0 and cm.sql_type == "VARCHAR"
        cm.failed = int(row[1])
        maps[col] = cm
    progress.update(100.0, "cleaning values: done")
    return maps, changes


def _standardise(con: duckdb.DuckDBPyConnection, cm: ColumnMap, cfg: dict[str, Any], record: Any) -> None:
    """Emails, phones and case rules for one column (text columns only)."""
    if cm.sql_type != "VARCHAR":
        if cm.column in cfg["case"]:
            cm.notes.append(f"case rule ignored: the column was converted to {cm.sql_type}")
        return
    if cm.kind == "email":
        valid = f"regexp_full_match(cur, {_lit(EMAIL_PATTERN)})"
        new = f"CASE WHEN {valid} THEN split_part(cur, '@', 1) || '@' || lower(split_part(cur, '@', 2)) ELSE cur END"
        fail = f"CASE WHEN cur IS NOT NULL AND NOT {valid} THEN 'invalid email address' END"
        record("standardise", _apply(con, cm.table, new, fail), kind="email")
    elif cm.kind == "phone":
        _ensure_udf(con)
        region = _lit(cfg["default_region"])
        con.execute(
            f"CREATE OR REPLACE TABLE {cm.table}__phone AS SELECT v, {_UDF}(cur, {region}) AS e164 "
            f"FROM {cm.table} WHERE cur IS NOT NULL"
        )
        con.execute(
            f"CREATE OR REPLACE TABLE {cm.table} AS SELECT m.v, m.n, m.cur, m.fail, p.e164 FROM {cm.table} m "
            f"LEFT JOIN {cm.table}__phone p ON m.v IS NOT DISTINCT FROM p.v"
        )
        new = "CASE WHEN e164 IS NOT NULL THEN e164 ELSE cur END"
        fail = f"CASE WHEN cur IS NOT NULL AND e164 IS NULL THEN {_lit('invalid phone number for region ' + cfg['default_region'])} END"
        record("standardise", _apply(con, cm.table, new, fail), kind="phone")
        con.execute(f"DROP TABLE {cm.table}__phone")
    rule = cfg["case"].get(cm.column)
    if rule is not None:
        new = _title("cur") if rule == "title" else f"{rule}(cur)"
        record("standardise", _apply(con, cm.table, new), kind="case", rule=rule)
