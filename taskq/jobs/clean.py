"""clean-my-data: an ordered, configurable cleaning pipeline over one table.

Steps, in pipeline order (parameters and defaults in :mod:`taskq.jobs.clean_params`):

1. ``whitespace``: trim, collapse inner runs of whitespace (Unicode spaces too), NFC.
2. ``placeholders``: tokens such as ``N/A``, ``null``, ``-``, ``""`` become NULL.
3. ``rename_columns`` (off by default): snake_case, de-duplicated output names.
4. ``types``: numbers (thousands separators, decimal comma), dates (to ISO,
   day-first detected per column; a two-digit year gets a ``two_digit_years``
   finding) and booleans, where at least ``threshold`` of
   non-null values parse (:mod:`taskq.jobs.clean_types`); missing-value words
   (profile-my-data's placeholders, any case: ``TBD``, ``unknown``) are NULL in a
   converted column, and left out of the share. No number changes:
   a column with more significant digits than a DOUBLE holds becomes the
   DECIMAL(p, s) that holds them all, or stays text past 38 digits.
5. ``standardise``: emails (syntax checked, domain lower-cased), phones (E.164
   for ``default_region``) and per-column case rules. With ``auto``, a column
   holds e-mails when 90% of its values are addresses (50% if its name says
   e-mail); phones when its name has a phone word (``phone``, ``tel``, ``fax``,
   ``mobile_no``...) and half its values have a phone's shape (dates do not).
6. ``dedupe``: exact duplicate rows after normalisation; the first one stays.
7. ``quarantine``: rows with a value that broke a rule (did not parse in a
   converted column, invalid email or phone) move to ``quarantine.csv``.
8. ``nulls``: per column leave, drop, mean, median, mode or constant.
9. ``outliers``: IQR fences per numeric column; rows removed only with ``remove``.
   With ``columns: "auto"``, identifiers (unique integer columns named like
   ``id``, ``customer_id``, ``invoice_no``, ``rowid``) are skipped, with a ``skipped`` entry.

Outputs in ``out_dir``: ``cleaned.<input format>``, ``quarantine.csv`` (one
line per rule break: ``quarantine_row`` is the 0-based number of the row among the
rows read (a line skipped as unreadable takes none), then
the column, the reason, the raw value, whether the row was removed, and the
row's raw input values) and ``changes.json``. A CSV line the reader rejected
(too few or too many fields: :attr:`taskq.jobs.io.Table.rejects`) is no row
read, yet is not dropped silently: it follows those rows in ``quarantine.csv``,
one row per line with no row number or column, the reason naming the line
(``line 3: expected 3 fields, found 2``), the line's raw text as the value,
removed, and the input columns empty; ``changes.json`` opens with a ``read``
entry listing the lines, and the summary's ``rejected_lines`` counts them.

**Replay.** ``changes.json["steps"]`` is the full, validated pipeline with every
parameter. Running clean-my-data on the same input with
``{"steps": changes["steps"]}`` (plus ``"read_options"`` if the first run had
them) reproduces ``cleaned.*`` exactly (byte for byte; for ``.xlsx``, cell for cell,
as a workbook records when it was saved): every detection (types, day-first,
decimal mark, email/phone columns) is deterministic given the input and those
parameters. ``changes.json["decisions"]`` records what was detected.

Value steps clean text. A column the file itself types (Parquet columns that
are not strings, JSON numbers, booleans, lists and objects, Excel columns
whose every cell is a number, a date, a time or a boolean) skips them and is
written back with its own type; row steps apply to it as to any column.

Value steps run on each column's distinct values (:mod:`taskq.jobs.clean_values`),
or row by row for near-unique columns on large inputs (same results, cheaper);
row steps on one materialised table (:mod:`taskq.jobs.clean_rows`). Memory is
bounded by DuckDB's ``memory_limit``: nothing table-sized is held in Python.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

from ..errors import InputTooLarge, InvalidParams, UnknownColumn
from ..progress import Progress, ScaledProgress
from . import io
from ._json import json_text
from ._placeholders import placeholder_sql
from .clean_params import STEP_ORDER, named_columns, step_map
from .clean_params import validate_params as _validate
from .clean_rows import (
    TABLE,
    aligned,
    build_cleaned,
    dedupe,
    fill_nulls,
    identifiers,
    is_integer,
    is_numeric,
    null_counts,
    null_rule_misfit,
    outliers,
    quarantine,
    quarantine_query,
    quartiles,
    rejected_lines,
)
from .clean_values import clean_values, finish_rowwise
from .findings import finding

__all__ = ["run", "snake_case_names", "validate_params"]

logger = logging.getLogger(__name__)

CHANGES_FILE = "changes.json"
QUARANTINE_FILE = "quarantine.csv"


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    """Validate clean-my-data params; see :func:`taskq.jobs.clean_params.validate_params`."""
    return _validate(params)


def snake_case_names(columns: list[str]) -> list[str]:
    """``columns`` as unique snake_case names (``"First Name"`` -> ``first_name``).

    Accents are dropped (``Prénom`` -> ``prenom``, ``Straße`` -> ``strasse``);
    letters of other scripts stay (``名前``); anything else that is not a letter or
    digit becomes ``_``; camelCase is split; a name that is empty or starts with
    a digit gets a ``col_`` prefix; repeats get ``_2``, ``_3``...
    """
    out: list[str] = []
    seen: set[str] = set()
    for col in columns:
        plain = unicodedata.normalize("NFKD", col.strip().replace("ß", "ss").replace("ẞ", "SS"))
        plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
        name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", plain)
        name = re.sub(r"[\W_]+", "_", name).strip("_").lower() or "col"
        if name[0].isdigit():
            name = f"col_{name}"
        base, i = name, 2
        while name in seen:
            name, i = f"{base}_{i}", i + 1
        seen.add(name)
        out.append(name)
    return out


def _check_columns(steps: dict[str, dict[str, Any]], columns: list[str]) -> None:
    for col, key in named_columns(steps).items():
        if col not in columns:
            raise UnknownColumn(
                f"{key} names column {col!r}, which the input does not have; columns: {', '.join(columns)}",
                column=col,
                available=columns,
            )


RESERVED = ("__keep",)
"""Column names clean-my-data uses in its own table (``__row`` is every tool's)."""


def _totals(changes: list[dict[str, Any]], step: str) -> dict[str, int]:
    keys = ("changed", "nulled", "failed", "rows_removed_total", "flagged")
    totals = {k: sum(int(c.get(k, 0)) for c in changes if c["step"] == step) for k in keys}
    return {k: v for k, v in totals.items() if v or k in ("changed", "rows_removed_total")}


def run(input_path: Path, out_dir: Path, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Clean ``input_path`` into ``out_dir``; return the ToolResult.

    Raises:
        InputError subclasses: unreadable/empty/malformed input, or a column
            named in params that the input lacks (:class:`UnknownColumn`).
        TaskCancelled: from ``progress.check()``; nothing is published.
    """
    steps = step_map(params)
    con = io.connect(threads=params["threads"], memory_limit=params["memory_limit"])
    # DuckDB rewrites an IN list (the placeholder tokens) into a join, and a join
    # loses input order in CREATE TABLE AS: clean_rows would need sorting back.
    con.execute("SET disabled_optimizers = 'in_clause'")
    try:
        progress.update(0, "reading")
        table = io.open_table(
            con, input_path, all_varchar=True, keep_types=True, options=params.get("read_options") or None
        )
        if len(table.columns) > params["max_columns"]:
            raise InputTooLarge(
                f"{input_path.name}: {len(table.columns)} columns; clean-my-data takes at most "
                f"{params['max_columns']} (param max_columns)"
            )
        table = io.free_reserved(con, table, RESERVED, "clean-my-data")
        _check_columns(steps, table.columns)
        progress.check()
        read = rejected_lines(con, table.rejects)
        maps, changes = clean_values(con, table, steps, ScaledProgress(progress, 10, 60))
        if steps["nulls"]["enabled"]:
            _check_null_rules(con, table.view, steps["nulls"]["columns"], maps)
        if read is not None:
            changes.insert(0, read)  # before every step: the reader set these lines aside
        progress.update(60, "building cleaned table")
        built = build_cleaned(con, table.view, maps)
        progress.check()
        if any(m.rowwise for m in maps.values()):
            progress.update(66, "counting changes")
        finish_rowwise(con, table.view, TABLE, maps, built.codes)
        progress.check()
        if steps["dedupe"]["enabled"]:
            progress.update(70, "removing duplicates")
            keys = [c for c, m in maps.items() if m.rowwise]  # near-unique: maybe a key
            changes.append(dedupe(con, table.columns, steps["dedupe"]["ignore_case"], keys, built.failing))
            progress.check()
        progress.update(75, "quarantining rule breaks")
        entries, quarantined = quarantine(con, steps["quarantine"]["enabled"])
        changes.extend(entries)
        progress.check()
        if steps["nulls"]["enabled"]:
            rules = {
                col: steps["nulls"]["columns"].get(col, {"strategy": steps["nulls"]["default"]})
                for col in table.columns
            }
            # Only "leave" changes no row: when every column leaves its nulls, one scan counts them all.
            counts = (
                null_counts(con, table.columns)
                if all(r["strategy"] == "leave" for r in rules.values())
                else {}
            )
            for i, col in enumerate(table.columns):
                progress.update(78 + 6 * i / len(table.columns), f"null handling: {col}")
                changes.append(fill_nulls(con, col, maps[col].sql_type, rules[col], counts.get(col)))
                progress.check()
        if steps["outliers"]["enabled"]:
            changes.extend(_outlier_step(con, steps["outliers"], table.columns, maps, progress))
        names = table.columns
        if steps["rename_columns"]["enabled"]:
            names = snake_case_names(table.columns)
            changes.append(
                {
                    "step": "rename_columns",
                    "column": None,
                    "renamed": {o: n for o, n in zip(table.columns, names, strict=True) if o != n},
                }
            )
        progress.update(90, "writing")
        outputs = _write(con, table, names, out_dir, params, maps, changes)
        progress.update(100, "done")
        return _result(con, table, maps, changes, outputs, quarantined)
    finally:
        con.close()


def _check_null_rules(con: Any, view: str, rules: dict[str, dict[str, Any]], maps: dict[str, Any]) -> None:
    """Refuse a null strategy set for a column that cannot apply to it, before any row work.

    Only strategies named for a column: the default strategy applies to every column
    and skips those it does not fit (a ``mean`` default leaves text columns as they are).
    A column with no value in this file (an export's empty column) has no type to misfit:
    its strategy is skipped with a note, as the data decides.
    """
    for col, rule in rules.items():
        cm = maps[col]
        why = null_rule_misfit(con, col, cm.sql_type, rule)
        if why is None:
            continue
        q = io.quote_ident(col)
        present = f"{q} IS NOT NULL AND trim(CAST({q} AS VARCHAR)) <> '' AND NOT {placeholder_sql(f'CAST({q} AS VARCHAR)')}"
        if not con.execute(f"SELECT count(*) FILTER (WHERE {present}) FROM {view}").fetchall()[0][0]:
            continue
        if cm.decision is not None and cm.sql_type == "VARCHAR" and cm.decision.reason:
            why += f" ({cm.decision.reason})"  # detected as text: say why, the user may force a type
        raise InvalidParams(f"steps nulls, columns {col!r}: {why}", column=col)


def _outlier_step(
    con: Any, cfg: dict[str, Any], columns: list[str], maps: dict[str, Any], progress: Progress
) -> list[dict[str, Any]]:
    """The outliers step's changes entries: flagged (or removed) values per numeric column.

    With ``columns: "auto"`` every numeric column but identifiers is checked;
    named columns that are identifiers or not numbers get a ``skipped`` entry.
    """
    numeric = [c for c in columns if is_numeric(maps[c].sql_type)]
    if cfg["columns"] == "auto":
        ids = identifiers(con, [c for c in numeric if is_integer(maps[c].sql_type)])
        chosen = [c for c in numeric if c not in ids]
        skipped = {
            c: "identifier (unique integers, named like an id): not checked; "
            "list it in the outliers step's columns to check it"
            for c in ids
        }
    else:
        chosen = [c for c in cfg["columns"] if c in numeric]
        skipped = {
            c: f"{c} is {maps[c].sql_type}, not a number: no outlier check"
            for c in cfg["columns"]
            if c not in numeric
        }
    entries: list[dict[str, Any]] = [
        {
            "step": "outliers",
            "column": col,
            "flagged": 0,
            "rows_removed": [],
            "rows_removed_total": 0,
            "skipped": why,
        }
        for col, why in skipped.items()
    ]
    # Flagging removes nothing: every column's quartiles come from one scan.
    stats = {} if cfg["remove"] else quartiles(con, {c: maps[c].sql_type for c in chosen})
    for i, col in enumerate(chosen):
        progress.update(84 + 6 * i / max(len(chosen), 1), f"outliers: {col}")
        entry = outliers(con, col, maps[col].sql_type, cfg["k"], cfg["remove"], stats.get(col))
        if entry is not None:
            entries.append(entry)
        progress.check()
    return entries


def _write(
    con: Any,
    table: io.Table,
    names: list[str],
    out_dir: Path,
    params: dict[str, Any],
    maps: dict[str, Any],
    changes: list[dict[str, Any]],
) -> list[str]:
    q = io.quote_ident
    select = ", ".join(f"{q(c)} AS {q(n)}" for c, n in zip(table.columns, names, strict=True))
    cleaned = f"cleaned.{table.format}"
    # clean_rows may have come out of input order (see build_cleaned): sort while writing.
    in_order = aligned(con, table.view)
    order = "" if in_order else " ORDER BY __row"
    io.write_table(con, f"SELECT {select} FROM {TABLE} WHERE __keep{order}", out_dir / cleaned, table.format)
    rejects = quarantine_query(table.view, table.columns, table.rejects)
    io.write_table(con, rejects, out_dir / QUARANTINE_FILE, "csv")
    document = {
        "version": 1,
        "input": table.info(),
        "replay": (
            'Run clean-my-data on the same input with params {"steps": <steps below>} '
            "(plus the read_options shown) to reproduce the cleaned output."
        ),
        "steps": params["steps"],
        "read_options": params.get("read_options", {}),
        "decisions": {
            c: {"type": m.sql_type, "kind": m.kind, **({"types": m.decision.as_dict()} if m.decision else {})}
            for c, m in maps.items()
        },
        "changes": changes,
    }
    (out_dir / CHANGES_FILE).write_text(json_text(document))
    return [cleaned, QUARANTINE_FILE, CHANGES_FILE]


def _result(
    con: Any,
    table: io.Table,
    maps: dict[str, Any],
    changes: list[dict[str, Any]],
    outputs: list[str],
    quarantined: int,
) -> dict[str, Any]:
    row = con.execute(f"SELECT count(*) FILTER (WHERE __keep) FROM {TABLE}").fetchall()[0]
    rows_out = int(row[0]) if row else 0
    dup = next((c for c in changes if c["step"] == "dedupe"), {})
    read = next((c for c in changes if c["step"] == "read"), {})
    alerts: list[dict[str, Any]] = list(table.warnings)
    issues: list[dict[str, Any]] = []
    recs: list[dict[str, Any]] = []
    for c in changes:
        col = c.get("column")
        if c["step"] == "quarantine":
            issues.append(
                finding(
                    "warning",
                    f"{c['rows_affected']} row(s) with {c['reason']} in {col!r}"
                    + (" were quarantined" if c["rows_removed_total"] else " were kept (quarantine off)"),
                    column=col,
                    code="rule_break",
                )
            )
        elif c["step"] == "outliers" and c["flagged"]:
            issues.append(
                finding(
                    "info",
                    f"{c['flagged']} value(s) in {col!r} outside [{c['lower_fence']:g}, {c['upper_fence']:g}]"
                    + (" removed" if c["rows_removed_total"] else " flagged"),
                    column=col,
                    code="outliers",
                )
            )
        elif c["step"] == "nulls" and c.get("skipped"):
            recs.append(finding("warning", c["skipped"], column=col, code="null_strategy_skipped"))
    if dup.get("rows_removed_total"):
        issues.append(
            finding(
                "info", f"{dup['rows_removed_total']} duplicate row(s) removed", code="duplicates_removed"
            )
        )
    for col, m in maps.items():
        for note in m.notes:
            code = "case_rule_ignored" if note.startswith("case rule") else "param_ignored"
            recs.append(finding("info", note, column=col, code=code))
        d = m.decision
        if d is not None and d.note and d.type in ("date", "timestamp"):
            recs.append(finding("info", f"{col!r}: {d.note}", column=col, code="two_digit_years"))
        elif d is not None and d.note:
            recs.append(finding("warning", f"{col!r}: {d.note}", column=col, code="decimal_mark_ambiguous"))
        if d is not None and d.currency:
            recs.append(
                finding(
                    "info",
                    f"{col!r}: amounts in {d.currency} are written as plain numbers (the currency is in "
                    "changes.json decisions)",
                    column=col,
                    code="currency_removed",
                )
            )
        if d is not None and d.merged:
            recs.append(finding("warning", f"{col!r}: {d.merged}", column=col, code="values_merged"))
        # Digits with leading zeros (02139) are codes: converting them is no advice to give.
        if d is not None and d.type == "text" and 0.5 <= d.share < 1 and "below" in d.reason and not d.codes:
            recs.append(
                finding(
                    "info",
                    f"{col!r}: {d.reason}; set its type in params to convert it and quarantine the rest",
                    column=col,
                    code="type_below_threshold",
                )
            )
    if quarantined:
        alerts.append(
            finding("warning", f"{quarantined} row(s) moved to {QUARANTINE_FILE}", code="rows_quarantined")
        )
    totals = {
        s: _totals(changes, s)
        for s in STEP_ORDER
        if s != "rename_columns"  # renames change names, not values: no counts to total
    }
    # Per-column entries count a row once per column it breaks a rule in; the step removed it once.
    totals["quarantine"]["rows_removed_total"] = quarantined
    summary = {
        "rows_in": table.rows,
        "rows_out": rows_out,
        "quarantined": quarantined,
        "rejected_lines": int(read.get("lines_removed_total", 0)),
        "duplicates_removed": int(dup.get("rows_removed_total", 0)),
        "converted_columns": {
            c: m.sql_type for c, m in maps.items() if m.sql_type != "VARCHAR" and not m.typed
        },
        "steps": totals,
    }
    return {
        "input": table.info(),
        "alerts": alerts,
        "issues": issues,
        "recommendations": recs,
        "summary": summary,
        "outputs": outputs,
    }
