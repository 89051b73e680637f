"""The :class:`Table` handle and the SQL helpers shared by the readers in :mod:`taskq.jobs.io`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ..errors import InputEmpty
from .findings import finding

__all__ = [
    "ROW_COLUMN",
    "Table",
    "describe",
    "finish_view",
    "first_line",
    "free_name",
    "quote_ident",
    "sql_and",
    "sql_literal",
]

ROW_COLUMN = "__row"
"""The 0-based input-order row number every opened view carries."""


def quote_ident(name: str) -> str:
    """``name`` as a DuckDB identifier, quoted so any column name is safe."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    """``value`` as a single-quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_and(first: str, second: str) -> str:
    """``first AND second`` as a condition that evaluates ``second`` only where ``first`` holds.

    In a projection or an aggregate's FILTER, DuckDB evaluates both sides of an
    AND on every row; a CASE evaluates a branch only on the rows that reach it.
    Use it when ``second`` is costly (a regex) and ``first`` rules most rows out.
    NULL reads as false, as it does in a WHERE or CASE WHEN.
    """
    return f"(CASE WHEN {first} THEN {second} ELSE false END)"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (DuckDB's run to many lines)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass
class Table:
    """An input opened by :func:`taskq.jobs.io.open_table`, registered as a view.

    Attributes:
        path: the file that was read.
        format: one of ``csv``, ``tsv``, ``parquet``, ``xlsx``, ``jsonl``.
        view: name of the view in the connection (input columns plus ``__row``).
        rows: number of rows in the view (rejected rows excluded).
        columns: input column names, in file order (``__row`` excluded).
        types: DuckDB type name per column.
        options: what was detected or used: delimiter, quote, escape, header,
            encoding, sheet, ... (for the report).
        warnings: findings about the read itself (rejected ragged rows, transcoding).
        rejected: 1-based file line numbers of rejected rows (first 10,000).
        rejects: the rejected lines with their reasons and text, as a relation (below).
    """

    path: Path
    format: str
    view: str
    rows: int
    columns: list[str]
    types: dict[str, str]
    options: dict[str, Any] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    source: str = ""
    """The relation under ``view`` (its data table, or a ``read_parquet(...)`` call)."""
    exprs: dict[str, str] = field(default_factory=dict)
    """Per column, its SQL over ``source``, as ``view`` computes it."""
    rejects: str = ""
    """A relation in the connection of every rejected line (not only the first
    10,000), one row each: ``line`` (1-based file line), ``reason`` (``expected 3
    fields, found 2``) and ``text`` (the line's raw text); empty when no line was."""

    def column_query(self, column: str) -> str:
        """``SELECT <column> AS v FROM ...``, read from ``source`` rather than ``view``.

        A query naming a view binds every column of it: on a 3,000-column file one
        query per column cost seconds each (quadratic in the width); read from the
        relation underneath, it costs what the one column does.
        """
        if column in self.exprs and self.source:
            return f"SELECT {self.exprs[column]} AS v FROM {self.source}"
        return f"SELECT {quote_ident(column)} AS v FROM {self.view}"

    def info(self) -> dict[str, Any]:
        """``{"name", "format", "rows", "columns"}`` for ``ToolResult["input"]``; columns is a count."""
        return {
            "name": self.path.name,
            "format": self.format,
            "rows": self.rows,
            "columns": len(self.columns),
        }

    def select_list(self, columns: list[str] | None = None) -> str:
        """Comma-separated quoted column names (default: all input columns), for SQL."""
        return ", ".join(quote_ident(c) for c in (self.columns if columns is None else columns))


INTEGER_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
)  # fmt: skip
"""DuckDB's integer types (a Parquet column may be any of them)."""


def is_nested(sql_type: str) -> bool:
    """Whether ``sql_type`` is a list, array, struct, map or union type."""
    return sql_type.endswith("]") or sql_type.startswith(("STRUCT", "MAP", "UNION"))


def describe(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Column name -> DuckDB type of ``relation`` (a table, view or table function call)."""
    rows = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return {r[0]: r[1] for r in rows}


def free_name(name: str, taken: Collection[str]) -> str:
    """``name_input`` (or ``name_input2``, ...): a name for an input column whose own
    name a tool uses for itself, not in ``taken``."""
    candidate, n = f"{name}_input", 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_input{n}"
    return candidate


def unused_name(base: str, taken: Collection[str]) -> str:
    """``base``, or ``base_2``, ``base_3``...: the first not in ``taken``, in any case
    (DuckDB's names are case-insensitive)."""
    low = {t.lower() for t in taken}
    name, i = base, 2
    while name.lower() in low:
        name, i = f"{base}_{i}", i + 1
    return name


def hide_rowid(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Rename ``table``'s column named ``rowid`` (any case), if it has one, to a private
    name; return ``{private name: its name}`` for :func:`finish_view`, which gives the name
    back (else ``{}``).

    Such a column hides DuckDB's row id, which is ``__row``: the file's own values became
    the row numbers (quarantine rows, the order clean-my-data writes its output in)."""
    columns = describe(con, table)
    for c in columns:
        if c.lower() == "rowid":
            hidden = unused_name("__taskq_rowid", columns)
            con.execute(f"ALTER TABLE {table} RENAME COLUMN {quote_ident(c)} TO {quote_ident(hidden)}")
            return {hidden: c}
    return {}


def row_renamed(types: dict[str, str]) -> list[dict[str, Any]]:
    """The alert for an input column named ``__row`` (read as ``__row_input``: see
    :func:`finish_view`), as :func:`taskq.jobs.io.free_reserved` gives for a tool's own
    names; empty when there is none. ``types`` are the input's own column names."""
    if ROW_COLUMN not in types:
        return []
    new = free_name(ROW_COLUMN, types)
    return [
        finding(
            "info",
            f"column {ROW_COLUMN!r} is read and written as {new!r}: every tool uses the name itself",
            column=ROW_COLUMN,
            code="column_renamed",
        )
    ]


def finish_view(
    con: duckdb.DuckDBPyConnection,
    view: str,
    source: str,
    row_expr: str,
    types: dict[str, str],
    all_varchar: bool,
    path: Path,
    keep_types: bool = False,
    json_kept: Collection[str] = (),
) -> tuple[list[str], dict[str, str], int, dict[str, str]]:
    """Create ``view`` as ``SELECT <row_expr> AS __row, <columns> FROM <source>``.

    With ``all_varchar`` every non-VARCHAR column is cast to VARCHAR. A JSON
    column (JSON lines whose field holds strings in some records and numbers
    in others) becomes VARCHAR either way, strings unquoted: ``"Paris"`` is
    ``Paris``, ``7`` is ``7``, an object or list its JSON text. With
    ``all_varchar``, list, struct and map columns are their JSON text too
    (DuckDB's own cast writes ``[a, b]`` and ``{'city': Boston}``).
    With ``keep_types`` as well, only text is read as text: a column the file
    itself types (a Parquet column that is not a string, JSON numbers,
    booleans, lists and objects) keeps its type; so do the JSON columns in
    ``json_kept`` (JSON values as written, not fields mixing strings and numbers).

    Returns:
        (columns, types as seen through the view, row count, each column's SQL over
        ``source``: :attr:`Table.exprs`).

    An input column that is itself named ``__row`` (say, a file written from
    a view without ``EXCLUDE (__row)``) is exposed as ``__row_input``. With ``row_expr``
    ``rowid`` (``source`` is a table), a column named ``rowid`` would hide the row id: it is
    renamed in the table (:func:`hide_rowid`) and exposed under its own name.

    Raises:
        InputEmpty: no columns.
    """
    if not types:
        raise InputEmpty(f"{path.name}: no columns", path=str(path))
    back = hide_rowid(con, source) if row_expr == "rowid" else {}
    for hidden, own in back.items():
        types = {hidden if c == own else c: t for c, t in types.items()}
        json_kept = [hidden if c == own else c for c in json_kept]
    names = {c: (free_name(c, types) if c == ROW_COLUMN else back.get(c, c)) for c in types}

    as_text = all_varchar and not keep_types

    kept = set(json_kept) if keep_types else set()

    def expr(c: str, t: str) -> str:
        if t == "JSON" and c in kept:
            return quote_ident(c)
        if t == "JSON":  # JSON lines mixing strings and numbers in a field: the values as text, unquoted
            # A number as its stored text: json_extract_string reads it through a DOUBLE, and the
            # text a DOUBLE would change (io._keep_digits) came back rounded.
            q = quote_ident(c)
            return (
                f"CASE WHEN json_type({q}) IN ('DOUBLE', 'BIGINT', 'UBIGINT') THEN CAST({q} AS VARCHAR) "
                f"ELSE json_extract_string({q}, '$') END"
            )
        if as_text and is_nested(t):
            return f"CAST(to_json({quote_ident(c)}) AS VARCHAR)"  # lists and objects as JSON, not [a]
        return f"CAST({quote_ident(c)} AS VARCHAR)" if as_text and t != "VARCHAR" else quote_ident(c)

    exprs = {names[c]: expr(c, t) for c, t in types.items()}
    cols = [f"{e} AS {quote_ident(n)}" for n, e in exprs.items()]
    con.execute(
        f"CREATE OR REPLACE VIEW {view} AS SELECT {row_expr} AS {ROW_COLUMN}, {', '.join(cols)} FROM {source}"
    )
    out = {
        names[c]: ("VARCHAR" if (as_text or t == "JSON") and c not in kept else t) for c, t in types.items()
    }
    rows = con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0]
    return list(out), out, int(rows), exprs
