"""Reading and writing the tools' tabular inputs and outputs with DuckDB.

Every tool opens its input the same way::

    con = connect(temp_dir=out_dir / ".duckdb")      # bounded memory, spills to disk
    table = open_table(con, input_path)              # registers the view "src"
    con.sql(f"SELECT count(*) FROM {table.view}")    # query it like any table
    write_table(con, "SELECT * EXCLUDE (__row) FROM src", out_dir / "clean.csv", "csv")

Formats: CSV and TSV (delimiter, quoting, header and encoding detected),
Parquet, Excel ``.xlsx`` (first worksheet unless ``options["sheet"]``; cell values
as stored, so a formula nobody calculated reads as empty, with a warning) and
JSON lines (a ``.json`` file holding one array is read too). A JSON number field is
DOUBLE unless a DOUBLE would change one of its values: then HUGEINT (integers past 64
bits), or, read with ``all_varchar`` (values as written), the narrowest DECIMAL(p, s)
holding every value or the numbers' JSON text, with a ``json_wide_numbers`` finding
(:func:`_wide_integers`, :func:`_exact_numbers`). Typed reading (profile-my-data) keeps
such fractions as DOUBLEs: its statistics need no more.

**Row numbers.** The view always has an extra ``__row`` column (BIGINT,
0-based, input order: the first data row is 0). It is not in
:attr:`Table.columns`; select ``* EXCLUDE (__row)`` to drop it. For CSV, TSV,
Excel and JSON the input is loaded once into a DuckDB table (``<view>__data``,
spilling to ``temp_dir`` beyond ``memory_limit``) and ``__row`` is its row id;
Parquet stays a lazy view over the file and ``__row`` is the file row number.
Rows rejected as malformed (ragged CSV rows) are not in the table, so ``__row``
counts accepted rows; the rejected ones are listed by *file line number*
(1-based, header included) in :attr:`Table.warnings` and :attr:`Table.rejected`,
and all of them, with the reason and the line's raw text, in the relation
:attr:`Table.rejects` names (``<view>__rejected``).

**Errors.** Bad input raises an :class:`~taskq.errors.InputError` subclass
naming the file (and the line where DuckDB reports one); no DuckDB or openpyxl
exception escapes for bad input.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import logging
import math
import re
import shutil
import tempfile
import weakref
from collections.abc import Collection
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from ..errors import InputEmpty, InputMalformed, InputNotFound, InputUnreadable, InvalidParams
from ._csv import load_delimited
from ._encoding import SAMPLE_BYTES, decoding_findings, sniff_encoding, utf8_source
from ._numbers import MAX_DECIMAL, decimal_digits, decimal_size, number_shape, plain_number, same_number
from ._table import (
    ROW_COLUMN,
    Table,
    describe,
    finish_view,
    first_line,
    free_name,
    is_nested,
    quote_ident,
    row_renamed,
    sql_literal,
    unused_name,
)
from ._xlsx import other_sheets, write_xlsx, xlsx_to_csv
from .findings import finding

__all__ = [
    "FORMATS",
    "ROW_COLUMN",
    "Table",
    "check_engine",
    "check_options",
    "connect",
    "detect_format",
    "free_reserved",
    "open_table",
    "quote_ident",
    "sql_literal",
    "write_table",
]

logger = logging.getLogger(__name__)

FORMATS = ("csv", "tsv", "parquet", "xlsx", "jsonl")
"""Formats :func:`open_table` reads and :func:`write_table` writes."""

_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".dat": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_OPTION_KEYS = {"format", "delimiter", "quote", "escape", "header", "encoding", "skip", "sheet"}
_APPLIES = {
    "csv": {"delimiter", "quote", "escape", "header", "encoding", "skip"},
    "tsv": {"delimiter", "quote", "escape", "header", "encoding", "skip"},
    "xlsx": {"sheet", "skip"},
    "jsonl": {"encoding"},
    "parquet": set(),
}
"""The read options each input format takes (``format`` itself aside)."""
_VIEW_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def connect(
    *, memory_limit: str = "768MB", threads: int = 2, temp_dir: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with bounded memory and no extension downloads.

    Args:
        memory_limit: DuckDB's buffer-pool limit; beyond it, operators and
            loaded tables spill to ``temp_dir``. Process RSS runs somewhat above it.
        threads: worker threads for DuckDB.
        temp_dir: where spills and transcoded copies go. Default: a fresh
            private directory under the system temp dir, removed when the
            connection is garbage-collected.
    """
    owned = temp_dir is None
    tmp = Path(tempfile.mkdtemp(prefix="taskq-duckdb-")) if temp_dir is None else Path(temp_dir)
    tmp.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        ":memory:",
        config={
            "memory_limit": memory_limit,
            "threads": threads,
            "temp_directory": str(tmp),
            "preserve_insertion_order": True,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )
    # DuckDB draws a terminal progress bar on stderr for long queries: in a worker
    # that is noise in the logs. Progress goes through the Progress handle instead.
    con.execute("SET enable_progress_bar = false")
    # Times with a zone are computed and written in UTC (2024-01-05 08:00:00+00), whatever
    # zone the machine is set to: the same input gives the same output everywhere.
    con.execute("SET TimeZone = 'UTC'")
    if owned:
        try:
            weakref.finalize(con, shutil.rmtree, tmp, ignore_errors=True)
        except TypeError:  # pragma: no cover - connection not weak-referenceable
            logger.debug("cannot attach cleanup to the DuckDB connection; %s stays", tmp)
    return con


def detect_format(path: str | Path) -> str:
    """The format of ``path``: from its extension, else from its first bytes.

    ``.xls`` (the legacy binary Excel format) is refused with a hint to save as
    ``.xlsx``. An unknown extension is sniffed: Parquet magic, zip (xlsx),
    a leading ``{`` or ``[`` (JSON), else CSV.

    Raises:
        InputNotFound: ``path`` does not exist.
        InputUnreadable: ``.xls``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise InputUnreadable(
            f"{path.name}: legacy .xls workbooks are not supported; save it as .xlsx", path=str(path)
        )
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except FileNotFoundError:
        raise InputNotFound(f"input file not found: {path}", path=str(path)) from None
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
        return "jsonl"
    return "csv"


_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$", re.IGNORECASE)
_UNITS = {"KB": 1e3, "MB": 1e6, "GB": 1e9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
_MIN_MEMORY, _MAX_MEMORY = 64e6, 1024e9
"""DuckDB fails below a few tens of MB, and no machine here has a terabyte."""


def check_engine(threads: Any, memory_limit: Any) -> tuple[int, str]:
    """The ``threads`` and ``memory_limit`` parameters every tool passes to :func:`connect`, checked.

    Raises:
        InvalidParams: naming the parameter at fault.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 64:
        raise InvalidParams(f"parameter 'threads' must be an integer from 1 to 64, not {threads!r}")
    match = _MEMORY.match(memory_limit.strip()) if isinstance(memory_limit, str) else None
    if match is None:
        raise InvalidParams(
            f"parameter 'memory_limit' must be a size such as '768MB' or '2GB', not {memory_limit!r}"
        )
    size = float(match.group(0)[: match.start(2)]) * _UNITS[match.group(2).upper()]
    if not _MIN_MEMORY <= size <= _MAX_MEMORY:
        raise InvalidParams(f"parameter 'memory_limit' must be from 64MB to 1024GB, not {memory_limit!r}")
    return threads, memory_limit.strip()


def check_options(options: Any, field: str = "read_options") -> dict[str, Any]:
    """``options`` (the tools' ``read_options`` parameter) checked and copied.

    Every tool calls this when it validates its params, so a bad option is
    refused at submit, before any file is read; :func:`open_table` checks again.

    Raises:
        InvalidParams: naming ``field`` and the option at fault.
    """
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise InvalidParams(f"{field} must be an object, not {options!r}")
    opts = dict(options)
    unknown = sorted(set(opts) - _OPTION_KEYS)
    if unknown:
        raise InvalidParams(
            f"{field}: unknown option(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(_OPTION_KEYS))}"
        )
    if "format" in opts and opts["format"] not in FORMATS:
        raise InvalidParams(f"{field}.format must be one of {', '.join(FORMATS)}, not {opts['format']!r}")
    for key in ("delimiter", "quote", "escape", "encoding", "sheet"):
        if opts.get(key) is not None and not isinstance(opts[key], str):
            raise InvalidParams(f"{field}.{key} must be a string, not {opts[key]!r}")
    delimiter = opts.get("delimiter")
    if delimiter is not None and not 1 <= len(delimiter.encode()) <= 4:
        raise InvalidParams(
            f"{field}.delimiter must be one to four bytes (',', ';', '||'), not {delimiter!r}"
        )
    if opts.get("header") is not None and not isinstance(opts["header"], bool):
        raise InvalidParams(f"{field}.header must be true or false, not {opts['header']!r}")
    skip = opts.get("skip")
    if skip is not None and (
        isinstance(skip, bool) or not isinstance(skip, int) or not 0 <= skip <= 1_000_000
    ):
        raise InvalidParams(f"{field}.skip must be an integer from 0 to 1000000, not {skip!r}")
    if opts.get("encoding"):
        try:
            text_codec = codecs.lookup(opts["encoding"])._is_text_encoding
        except LookupError:
            text_codec = False
        if not text_codec:
            raise InvalidParams(f"{field}.encoding: unknown text encoding {opts['encoding']!r}")
    return opts


def open_table(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    *,
    view: str = "src",
    all_varchar: bool = False,
    keep_types: bool = False,
    options: dict[str, Any] | None = None,
) -> Table:
    """Read ``path`` and register it in ``con`` as the view ``view``.

    Args:
        con: from :func:`connect`.
        path: the input file.
        view: a plain SQL identifier; ``<view>__data`` and ``<view>__rejects``
            are used as well and replaced if they exist.
        all_varchar: read every column as VARCHAR (no type inference), so a
            tool can count values that fail to parse itself. JSON strings
            are then the strings in the file (not dates DuckDB read them as).
        keep_types: with ``all_varchar``, only text is read as text: columns
            the file itself types (Parquet columns that are not strings; JSON
            numbers, booleans, lists and objects; Excel columns whose every
            cell is a number, a date, a time or a boolean) keep their type.
            CSV and TSV have none.
        options: overrides for detection: ``format``, ``delimiter``, ``quote``,
            ``escape``, ``header`` (bool), ``encoding`` (Python codec name),
            ``skip`` (lines before the header; rows, for xlsx), ``sheet`` (xlsx).

    Raises:
        InputNotFound, InputEmpty, InputUnreadable, InputMalformed: bad input,
            naming the file (and line where known).
        InvalidParams: unknown option or bad ``view`` name.
    """
    path = Path(path)
    if not _VIEW_NAME.match(view):
        raise InvalidParams(f"view name must be a plain identifier, not {view!r}")
    opts = check_options(options)
    if not path.is_file():
        raise InputNotFound(f"input file not found: {path}", path=str(path))
    if path.stat().st_size == 0:
        raise InputEmpty(f"{path.name}: the file is empty", path=str(path))
    fmt = opts.pop("format", None) or detect_format(path)
    ignored = sorted(k for k, v in opts.items() if v is not None and k not in _APPLIES.get(fmt, _OPTION_KEYS))
    tmp = Path(
        con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0] or tempfile.gettempdir()
    )
    tmp.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="taskq-read-", dir=tmp))
    try:
        if fmt == "parquet":
            table = _open_parquet(con, path, view, all_varchar, keep_types)
        elif fmt == "xlsx":
            csv_copy = scratch / (path.stem + ".csv")
            sheet_info = xlsx_to_csv(path, csv_copy, opts.pop("sheet", None), opts.pop("skip", None))
            cell_types = sheet_info.pop("cell_types")
            sheet_warnings = sheet_info.pop("warnings")
            dialect = {"delimiter": ",", "quote": '"', "escape": '"', "header": True, "encoding": "utf-8"}
            try:
                table = load_delimited(
                    con,
                    csv_copy,
                    "xlsx",
                    view,
                    all_varchar,
                    dialect,
                    scratch,
                    display=path,
                    column_types=cell_types if all_varchar and keep_types else None,
                )
            except InputEmpty as exc:
                # A cover sheet first (one title cell, the data on the next sheet): say which.
                hint = other_sheets(sheet_info["sheets"], sheet_info["sheet"])
                raise InputEmpty(
                    f"{path.name}: sheet {sheet_info['sheet']!r} has a header row but no data rows{hint}",
                    path=str(path),
                ) from exc
            table.options.update(sheet_info)
            table.warnings.extend(sheet_warnings)
        elif fmt == "jsonl":
            table = _open_json(con, path, view, all_varchar, opts, scratch, keep_types)
        else:
            if fmt == "tsv":
                opts.setdefault("delimiter", "\t")
            table = load_delimited(con, path, fmt, view, all_varchar, opts, scratch, display=path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    table.path = path
    if ignored:
        table.warnings.append(
            finding(
                "warning",
                f"read_options {', '.join(ignored)}: not used for {fmt} input, ignored",
                code="read_options_ignored",
            )
        )
    logger.info(
        "opened %s as %s: %d rows x %d columns", path.name, table.format, table.rows, len(table.columns)
    )
    return table


def _open_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, view: str, all_varchar: bool, keep_types: bool
) -> Table:
    with path.open("rb") as fh:
        if fh.read(4) != b"PAR1":
            raise InputUnreadable(f"{path.name}: is not a Parquet file (no PAR1 magic)", path=str(path))
    literal = sql_literal(str(path))
    try:
        types = describe(con, f"read_parquet({literal})")
        notes = row_renamed(types)
        json_columns = [c for c, t in types.items() if t == "JSON"]  # Parquet's JSON logical type
        source, row_expr = f"read_parquet({literal}, file_row_number = true)", "file_row_number"
        if any(c.lower() == "file_row_number" for c in types):
            # read_parquet cannot add its row number beside a column of that name: the file is
            # loaded into a table instead (this once), numbered by its row id.
            source, row_expr = f"{view}__data", "rowid"
            con.execute(f"CREATE OR REPLACE TABLE {source} AS SELECT * FROM read_parquet({literal})")
        columns, types, rows, exprs = finish_view(
            con, view, source, row_expr, types, all_varchar, path, keep_types, json_columns
        )
    except duckdb.Error as exc:
        raise InputUnreadable(
            f"{path.name}: cannot read as Parquet: {first_line(exc)}", path=str(path)
        ) from None
    if rows == 0:
        raise InputEmpty(f"{path.name}: the Parquet file has no rows", path=str(path))
    return Table(
        path, "parquet", view, rows, columns, types, {"encoding": "binary"}, notes, [], source, exprs
    )


def _open_json(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    view: str,
    all_varchar: bool,
    opts: dict[str, Any],
    scratch: Path,
    keep_types: bool,
) -> Table:
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    given = opts.get("encoding")
    encoding = given or sniff_encoding(path, sample, "JSON lines")
    src, mixed = path, None
    sizes = [20480, -1]
    while sizes:
        if src == path:
            src, encoding, mixed = utf8_source(
                path, scratch / (path.stem + ".utf8.json"), encoding, not given
            )
        sample_size = sizes[0]
        read = f"read_json({sql_literal(str(src))}, format = 'auto', sample_size = {sample_size}"
        try:
            con.execute(f"CREATE OR REPLACE TABLE {view}__data AS SELECT * FROM {read})")
            nested, wide = _as_written(con, view, read, src, all_varchar)
            break
        except duckdb.Error as exc:
            message = first_line(exc)
            late = ("convert", "cast", "unknown key")
            if sample_size == 20480 and any(word in message.lower() for word in late):
                sizes.pop(0)
                continue  # a late value or key did not fit the sampled schema: infer from all rows
            if "invalid utf-8" in message.lower() and src == path and not given:
                encoding = "cp1252"  # UTF-8 in the sample, other bytes later: read those as cp1252
                continue
            _raise_json_problem(path, src)
            message = message.replace(str(src), path.name).split(". Try ")[0]  # no server path, no hint
            raise InputMalformed(f"{path.name}: not valid JSON lines: {message}", path=str(path)) from None
    types = describe(con, f"{view}__data")
    if list(types) == ["json"]:
        # One record that is not an object, or has an empty key, makes DuckDB read every
        # record as a single "json" value: name that record instead.
        _raise_json_problem(path, src)
    if types and _has_blank_record(con, f"{view}__data", list(types)):
        # A line `null` reads as a record of NULLs, as `{}` does: the scan names it, if it is there.
        _raise_json_problem(path, src)
    notes = (
        row_renamed(types) + decoding_findings(path, encoding, mixed) + wide + _json_renamed(con, src, types)
    )
    columns, types, rows, exprs = finish_view(
        con, view, f"{view}__data", "rowid", types, all_varchar, path, keep_types, nested
    )
    if rows == 0:
        raise InputEmpty(f"{path.name}: no JSON records", path=str(path))
    return Table(
        path, "jsonl", view, rows, columns, types, {"encoding": encoding}, notes, [], f"{view}__data", exprs
    )


_NUMBERED = re.compile(r"(.+)_([0-9]+)")


def _json_renamed(con: duckdb.DuckDBPyConnection, src: Path, types: dict[str, str]) -> list[dict[str, Any]]:
    """An info finding per field DuckDB read under another name: names are case-insensitive,
    so of ``Amount`` and ``amount`` the second is read as ``amount_1``. A column so named is
    checked against the records' own keys (one pass over them, only when one is)."""
    low = {c.lower() for c in types}
    suspects = {c: m.group(1) for c in types if (m := _NUMBERED.fullmatch(c)) and m.group(1).lower() in low}
    if not suspects:
        return []
    bases = ", ".join(sql_literal(b.lower()) for b in set(suspects.values()))
    names = ", ".join(map(sql_literal, suspects))
    keys = con.execute(
        f"SELECT DISTINCT k FROM (SELECT unnest(json_keys(json)) AS k FROM read_json_objects("
        f"{sql_literal(str(src))}, format = 'auto')) WHERE lower(k) IN ({bases}) OR k IN ({names})"
    ).fetchall()
    written = {k for (k,) in keys}
    out = []
    for c, base in suspects.items():
        if c in written:
            continue  # the file's own key
        spellings = sorted(k for k in written if k.lower() == base.lower() and k not in types)
        was = " or ".join(map(repr, spellings)) or "another spelling"
        out.append(
            finding(
                "info",
                f"field {c!r} is {was} in the file: its name differs from another field's only in "
                "case, and names are read case-insensitively",
                column=c,
                code="column_renamed",
            )
        )
    return out


def _has_blank_record(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> bool:
    """Whether some row of ``table`` is NULL in every column (a `null` line, `{}`, or every field null)."""
    blank = " AND ".join(f"{quote_ident(c)} IS NULL" for c in columns)
    return bool(con.execute(f"SELECT 1 FROM {table} WHERE {blank} LIMIT 1").fetchall())


def _raise_json_problem(path: Path, src: Path) -> None:
    """Refuse ``path`` naming its first bad record (of ``src``, its UTF-8 copy), if it has one."""
    bad = json_lines_problem(src)
    if bad is not None:
        raise InputMalformed(f"{path.name}: line {bad[0]}: {bad[1]}", path=str(path), line=bad[0])


def _json_kind(value: Any) -> str:
    """What JSON calls ``value``'s kind (``string``, not Python's ``str``)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


def json_lines_problem(path: Path) -> tuple[int, str] | None:
    """``(line, what is wrong)`` for the first bad record of the JSON-lines file ``path``
    (UTF-8), or None.

    A file whose first line is one complete JSON object is one record a line:
    then a line that does not parse, that is not an object, or that has an
    empty key is bad. Blank lines are skipped. A file of plain values or
    arrays, one a line, holds no records: its first line is bad. A first line
    that does not parse as it stands (``{``, ``[``: one array, pretty-printed
    objects) gives None: DuckDB's reading or message must do. A first line
    that is complete and invalid is bad itself.
    """
    odd = "a JSON {} where each line must hold one object {{...}}"
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        head: tuple[int, Any] | None = None  # the first record's line and value
        for n, line in enumerate(fh, 1):
            text = line.strip()
            if not text:
                continue
            try:
                record = json.loads(text)
            except ValueError as exc:
                if head is None and (text in ("{", "[") or text.endswith(("{", "[", ","))):
                    return None  # the opening of a multi-line document
                if head is not None and not isinstance(head[1], dict):
                    return None  # not records: DuckDB's message must do
                return n, f"not valid JSON: {getattr(exc, 'msg', exc)} (column {getattr(exc, 'colno', '?')})"
            if head is None:
                head = (n, record)
            elif not isinstance(head[1], dict):
                if isinstance(record, dict):  # objects after a first line that is none: it is the odd one
                    return head[0], odd.format(_json_kind(head[1]))
                continue  # plain values or arrays a line: no records (below)
            if isinstance(head[1], dict) and not isinstance(record, dict):
                return n, odd.format(_json_kind(record))
            if isinstance(record, dict) and "" in record:
                return n, 'an object with an empty key ""; every field needs a name'
    if head is not None and not isinstance(head[1], dict):
        # Plain values or arrays, one a line: DuckDB reads them as one made-up "json" column.
        return head[0], odd.format(_json_kind(head[1]))
    return None


_FROM_STRINGS = re.compile(r"(DATE|TIME|TIMESTAMP|UUID)\b[^\[(]*")
"""Scalar types DuckDB's JSON reader infers from strings (ISO dates, timestamps, times, UUIDs)."""


def _as_written(
    con: duckdb.DuckDBPyConnection, view: str, read: str, src: Path, all_varchar: bool
) -> tuple[list[str], list[dict[str, Any]]]:
    """Re-read ``<view>__data`` so that its values are what the JSON says, not what DuckDB
    inferred from them; return the columns now of type JSON (lists and objects, and numbers
    no DuckDB number type holds: see :func:`_wide_integers` and :func:`_exact_numbers`) and
    info findings about them.

    Always: a field of integers past 64 bits is HUGEINT, not DOUBLE (:func:`_wide_integers`).
    With ``all_varchar``: a field with numbers a DOUBLE does not hold exactly is DECIMAL or
    their JSON text (:func:`_exact_numbers`); a field DuckDB typed from strings
    (``"2024-01-01T10:00:00Z"`` as a timestamp) is read as those strings; a list or object
    field as JSON, verbatim (a struct would give every object the keys of all the others, and
    rewrite dates inside). ``read`` is the ``read_json(...`` call without its closing
    parenthesis; ``src`` the file it reads.
    """
    types = describe(con, f"{view}__data")
    wanted = dict(types)
    if all_varchar:
        wanted = {
            c: "VARCHAR" if _FROM_STRINGS.fullmatch(t) else "JSON" if is_nested(t) else t
            for c, t in types.items()
        }
    wide = _wide_integers(con, view, read, types)
    wanted.update(wide)
    # Values as written are what all_varchar asks for (clean, master); typed reading (profile)
    # takes DOUBLEs for its statistics and skips the second pass over the records.
    exact, notes = _exact_numbers(con, view, src, types, wide) if all_varchar else ({}, [])
    wanted.update({c: "JSON" for c, t in exact.items() if t == "JSON"})  # integers come back as written
    if wanted != types:
        struct = ", ".join(f"{sql_literal(c)}: {sql_literal(t)}" for c, t in wanted.items())
        con.execute(f"CREATE OR REPLACE TABLE {view}__data AS SELECT * FROM {read}, columns = {{{struct}}})")
    if exact:
        _keep_digits(con, view, exact)
    kept = [c for c, t in wanted.items() if t == "JSON" and (is_nested(types[c]) or c in wide or c in exact)]
    warned = {n["column"] for n in notes}  # fractions a DOUBLE changes too: "no digit lost" is untrue
    notes += [
        finding(
            "info",
            f"field {c!r} mixes integers a DOUBLE would round (past 2**53, or of 39 digits and more) "
            "with other numbers: it is read as the numbers' JSON text, so its integers keep every digit",
            column=c,
            code="json_wide_numbers",
        )
        for c, t in wide.items()
        if t == "JSON" and c not in warned
    ]
    return kept, notes


_DOUBLE_INTEGERS = 2**53
"""A DOUBLE holds every integer up to this magnitude exactly; past it, only some."""


def _wide_integers(
    con: duckdb.DuckDBPyConnection, view: str, read: str, types: dict[str, str]
) -> dict[str, str]:
    """The type to read each DOUBLE field of ``<view>__data`` as, when the JSON holds integers
    a DOUBLE does not hold exactly (past 2**53 among fractions, or past 64 bits at all:
    DuckDB infers DOUBLE for both, and 123456789012345678901234 came back 1.2345678901234568e+23).

    A field of integers alone that fit a HUGEINT is HUGEINT; any other is JSON, the
    numbers' text. DuckDB reads an integer's JSON text as written (a fraction's, as its
    DOUBLE). Fields with no value past 2**53 (the DOUBLEs tell) are not read again.
    """
    doubles = [c for c, t in types.items() if t == "DOUBLE"]
    if not doubles:
        return {}
    counts = ", ".join(
        f"count(*) FILTER (WHERE abs({quote_ident(c)}) >= {_DOUBLE_INTEGERS})" for c in doubles
    )
    row = con.execute(f"SELECT {counts} FROM {view}__data").fetchall()[0]
    maybe = [c for c, n in zip(doubles, row, strict=True) if n]
    if not maybe:
        return {}
    struct = ", ".join(
        f"{sql_literal(c)}: {sql_literal('VARCHAR' if c in maybe else t)}" for c, t in types.items()
    )
    aggs = []
    for c in maybe:
        text = quote_ident(c)
        integer, value = f"regexp_full_match({text}, '-?[0-9]+')", f"TRY_CAST({text} AS HUGEINT)"
        limit = _DOUBLE_INTEGERS
        aggs += [  # integers a DOUBLE may not hold; fractions and integers past a HUGEINT
            f"count(*) FILTER (WHERE {integer} AND coalesce({value} NOT BETWEEN -{limit} AND {limit}, true))",
            f"count({text}) FILTER (WHERE NOT {integer} OR {value} IS NULL)",
        ]
    texts = f"SELECT {', '.join(map(quote_ident, maybe))} FROM {read}, columns = {{{struct}}})"
    row = con.execute(f"SELECT {', '.join(aggs)} FROM ({texts})").fetchall()[0]
    out = {}
    for i, c in enumerate(maybe):
        wide, other = row[2 * i], row[2 * i + 1]
        if wide:
            out[c] = "JSON" if other else "HUGEINT"
    return out


_INTEGER = re.compile(r"-?[0-9]+")


def _indexed(con: duckdb.DuckDBPyConnection, view: str) -> tuple[str, str]:
    """``<view>__data`` with its 0-based row index, by position, and the index's name (one
    no column has): DuckDB's ``rowid`` is the file's own field when it has one named so."""
    columns = describe(con, f"{view}__data")
    rows = con.execute(f"SELECT count(*) FROM {view}__data").fetchall()[0][0]
    index = quote_ident(unused_name("__taskq_index", columns))
    return f"(SELECT i.range AS {index}, d.* FROM {view}__data d POSITIONAL JOIN range({int(rows)}) i)", index


_LONG_NUMBER = r"[0-9][0-9.]{15}|[0-9][eE]"
"""A record that may hold a number a DOUBLE does not (16 digits and more, or an exponent)."""
_LONG_TOKEN = r"-?[0-9][0-9.]{15,}(?:[eE][-+]?[0-9]+)?|-?[0-9][0-9.]*[eE][-+]?[0-9]+"
"""Such a number in a record's text (or digits in a string: the record's parse tells)."""


class _Number(str):
    """A JSON number's text, as written (what :func:`json.loads` gives for one, here)."""


def _double_holds(text: str) -> bool:
    """A DOUBLE holds the JSON number ``text`` exactly: it is written back as the same number
    (Python's ``repr`` of a float, like DuckDB, writes its shortest form)."""
    value = float(text)
    return math.isfinite(value) and Decimal(repr(value)) == Decimal(text)


def _inexact_texts(
    con: duckdb.DuckDBPyConnection, view: str, src: Path, fields: list[str], columns: Collection[str]
) -> tuple[dict[str, dict[int, str]], list[int]]:
    """For each of the DOUBLE ``fields`` of ``<view>__data`` that has values a DOUBLE does not
    hold exactly (``1234567890.123456789`` read as 1234567890.1234567, ``1e400`` as infinity,
    ``1e-400`` as 0): those values' JSON text, by row; and the rows where such a number
    could not be told to a field.

    DuckDB reads a fraction's text as its DOUBLE (as VARCHAR or JSON too): the text comes from
    the records as written (``read_json_objects``), one pass for all fields. Only records with
    a long number or an exponent are looked at, and only those with a number whose DOUBLE is
    written back otherwise (a DOUBLE's own shortest form, such as 0.30000000000000004, is not)
    are parsed, in Python, to tell which field it is in (it cannot be told in JSON only
    DuckDB reads, nor for a key DuckDB renamed). ``columns``: every column of the table.
    """
    objects = f"read_json_objects({sql_literal(str(src))}, format = 'auto')"
    written = "CAST(TRY_CAST(t AS DOUBLE) AS VARCHAR)"
    # The lambdas of same_number name m, d and h: no column of the file is in scope there.
    values = ", ".join(f"any_value(v{i})" for i in range(len(fields)))
    data, index = _indexed(con, view)
    tokens = (
        f"SELECT d.{index} AS r, o.json AS j, {', '.join(f'd.{quote_ident(c)} AS v{i}' for i, c in enumerate(fields))}, "
        f"unnest(regexp_extract_all(o.json, {sql_literal(_LONG_TOKEN)})) AS t "
        f"FROM {data} d POSITIONAL JOIN {objects} o "
        f"WHERE regexp_matches(o.json, {sql_literal(_LONG_NUMBER)})"
    )
    rows = con.execute(
        f"SELECT r, any_value(j), {values} FROM ({tokens}) "
        f"WHERE {written} IS NOT NULL AND NOT {same_number('t', written)} GROUP BY r ORDER BY r"
    ).fetchall()
    fixes: dict[str, dict[int, str]] = {}
    unknown: list[int] = []
    for row, text, *doubles in rows:
        try:
            record = json.loads(text, parse_float=_Number, parse_int=_Number)
        except ValueError:  # JSON that DuckDB reads and Python does not (a trailing comma, nan)
            unknown.append(row)
            continue
        if not isinstance(record, dict):
            continue
        lost = False
        for c, double in zip(fields, doubles, strict=True):
            value = record.get(c)
            if not isinstance(value, _Number) or _double_holds(value):
                continue
            if double is None or float(value) != double:  # not the number read: leave it, say so
                lost = True
                continue
            fixes.setdefault(c, {})[row] = str(value)
        # A key that is no column: DuckDB renamed it (Amount beside amount became amount_1).
        strays = (v for k, v in record.items() if k not in columns)
        if lost or any(isinstance(v, _Number) and not _double_holds(v) for v in strays):
            unknown.append(row)
    return fixes, unknown


def _exact_numbers(
    con: duckdb.DuckDBPyConnection, view: str, src: Path, types: dict[str, str], wide: dict[str, str]
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The type to read each DOUBLE field of ``<view>__data`` as, when the JSON holds numbers
    a DOUBLE does not hold exactly (more significant digits than it keeps, or past its range),
    and info findings saying so. DuckDB infers DOUBLE for any fraction, and
    1234567890.123456789 came back 1234567890.1234567, 1e400 as null.

    A field is the narrowest DECIMAL(p, s) that holds every value (as in clean's types step),
    else (more than 38 digits, or ``NaN`` among them) JSON, the numbers' text. A field
    :func:`_wide_integers` reads as JSON stays JSON. The values' text waits in the table
    ``<view>__exact`` for :func:`_keep_digits` (none when no field needs it). Fields whose
    every value a DOUBLE holds (0.1, 0.30000000000000004) stay DOUBLE.
    """
    fields = [c for c, t in types.items() if t == "DOUBLE" and wide.get(c) != "HUGEINT"]
    fixes, unknown = _inexact_texts(con, view, src, fields, types) if fields else ({}, [])
    notes = []
    if unknown:
        lines = ", ".join(str(r + 1) for r in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        notes.append(
            finding(
                "warning",
                f"{len(unknown)} record(s) (record {lines}, counted from 1) hold a number a DOUBLE would change, in a field "
                "that could not be told (a key differing only in case from another, or JSON that only "
                "DuckDB reads, such as a trailing comma or nan): such numbers may have lost digits",
                code="json_numbers_unchecked",
            )
        )
    if not fixes:
        return {}, notes
    rows = sorted({r for texts in fixes.values() for r in texts})
    columns = [[texts.get(r) for r in rows] for texts in fixes.values()]
    unnest = ", ".join(f"unnest(?::VARCHAR[]) AS f{i}" for i in range(len(columns)))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {view}__exact AS SELECT unnest(?::BIGINT[]) AS r, {unnest}",
        [rows, *columns],
    )
    # Each value's text: as written where a DOUBLE would change it, else its DOUBLE's (the same
    # number). In a scope of these texts alone, as the lambdas of number_shape name m, d and h.
    data, index = _indexed(con, view)
    texts, aggs = [], []
    for i, c in enumerate(fixes):
        texts.append(f"coalesce(x.f{i}, CAST(d.{quote_ident(c)} AS VARCHAR)) AS t{i}")
        texts.append(f"(NOT isfinite(d.{quote_ident(c)}) AND x.f{i} IS NULL) AS odd{i}")
        aggs += [decimal_digits(number_shape(f"t{i}")), f"count(*) FILTER (WHERE odd{i})"]
    got = con.execute(
        f"SELECT {', '.join(aggs)} FROM (SELECT {', '.join(texts)} FROM {data} d "
        f"LEFT JOIN {view}__exact x ON x.r = d.{index})"
    ).fetchall()[0]
    out: dict[str, str] = {}
    for i, (c, found) in enumerate(fixes.items()):
        if c in wide:  # already the numbers' JSON text: its fractions get theirs too
            out[c] = "JSON"
            fractions = sum(1 for t in found.values() if not _INTEGER.fullmatch(t))
            if fractions:  # the integers alone are written as they are (_wide_integers says so)
                notes.append(
                    _text_finding(
                        c, f"integers a DOUBLE would round and {fractions} fraction(s) it would change"
                    )
                )
            continue
        (precision, scale), odd = decimal_size(int(got[3 * i]), int(got[3 * i + 1])), got[3 * i + 2]
        many = f"{len(found)} number(s) a DOUBLE would change (more significant digits than it holds, or past its range)"
        if precision > MAX_DECIMAL or odd:
            out[c] = "JSON"
            notes.append(_text_finding(c, many))
            continue
        out[c] = f"DECIMAL({precision},{scale})"
        done = f"it is read as {out[c]}, which holds every value exactly: no digit is lost"
        notes.append(finding("info", f"field {c!r} has {many}: {done}", column=c, code="json_wide_numbers"))
    return out, notes


def _text_finding(column: str, what: str) -> dict[str, Any]:
    """The warning for a number field read as the numbers' JSON text because of ``what``.

    DuckDB's JSON writer reads a JSON value's numbers as DOUBLEs again (all but integers and
    numbers past a DOUBLE's range): it says so, not "nothing lost"."""
    return finding(
        "warning",
        f"field {column!r} has {what}: no DECIMAL holds them all, so it is read as the numbers' "
        "JSON text; a .jsonl output writes its fractions through a DOUBLE (17 significant digits, "
        "1e-400 as 0.0)",
        column=column,
        code="json_wide_numbers",
    )


def _keep_digits(con: duckdb.DuckDBPyConnection, view: str, exact: dict[str, str]) -> None:
    """Give the fields of :func:`_exact_numbers` their type and each value its number as
    written: ``<view>__data`` is rebuilt in row order (its row ids stay the rows')."""
    swaps, texts, values = [], [], []
    for i, (c, t) in enumerate(exact.items()):
        col = f"d.{quote_ident(c)}"
        if t == "JSON":  # NaN and infinities, not JSON numbers, are null as in a DOUBLE's output
            texts.append(
                f"CASE WHEN x.f{i} IS NOT NULL THEN CAST(x.f{i} AS JSON) "
                f"WHEN isfinite(TRY_CAST({col} AS DOUBLE)) IS NOT FALSE THEN {col} END AS t{i}"
            )
            values.append(f"t{i} AS v{i}")
        else:  # DuckDB's cast of an exponent to DECIMAL wants a digit to spare: of plain digits, exact
            texts.append(f"coalesce(x.f{i}, CAST({col} AS VARCHAR)) AS t{i}")
            values.append(f"TRY_CAST({plain_number(f't{i}')} AS {t}) AS v{i}")  # no file column in scope
        swaps.append(f"y.v{i} AS {quote_ident(c)}")
    data, index = _indexed(con, view)
    exact_values = (
        f"SELECT r, {', '.join(values)} FROM (SELECT d.{index} AS r, {', '.join(texts)} "
        f"FROM {data} d LEFT JOIN {view}__exact x ON x.r = d.{index})"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {view}__data AS SELECT d.* EXCLUDE ({index}) REPLACE ({', '.join(swaps)}) "
        f"FROM {data} d JOIN ({exact_values}) y ON y.r = d.{index} ORDER BY d.{index}"
    )
    con.execute(f"DROP TABLE {view}__exact")


def free_reserved(
    con: duckdb.DuckDBPyConnection, table: Table, reserved: Collection[str], tool: str
) -> Table:
    """``table`` with input columns named like one of ``reserved`` (names ``tool`` puts in
    its own tables or outputs) read as ``<name>_input`` through a view, and an info
    finding for each on :attr:`Table.warnings`, as :func:`open_table` does for ``__row``."""
    clash = [c for c in table.columns if c in reserved]
    if not clash:
        return table
    names = {c: free_name(c, [*table.columns, *reserved]) if c in clash else c for c in table.columns}
    view = f"{table.view}_named"
    select = ", ".join(f"{quote_ident(c)} AS {quote_ident(n)}" for c, n in names.items())
    con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT {ROW_COLUMN}, {select} FROM {table.view}")
    notes = [
        finding(
            "info",
            f"column {c!r} is written as {names[c]!r}: {tool} uses the name itself",
            column=c,
            code="column_renamed",
        )
        for c in clash
    ]
    return dataclasses.replace(
        table,
        view=view,
        columns=list(names.values()),
        types={names[c]: t for c, t in table.types.items()},
        warnings=[*table.warnings, *notes],
        exprs={names[c]: e for c, e in table.exprs.items()},
    )


def _replace_typed(con: duckdb.DuckDBPyConnection, query: str, types: tuple[str, ...], expr: str) -> str:
    """``query`` with each column of one of ``types`` replaced by ``expr`` (``{c}`` stands for
    the column), under its own name; ``query`` itself when it has none."""
    columns = [quote_ident(c) for c, t in describe(con, f"({query})").items() if t in types]
    if not columns:
        return query
    swaps = ", ".join(f"{expr.format(c=c)} AS {c}" for c in columns)
    return f"SELECT * REPLACE ({swaps}) FROM ({query})"


def _strict_json(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """``query`` with NaN and infinities in its FLOAT and DOUBLE columns as NULL: JSON has
    no such numbers, and DuckDB would write ``NaN``/``Infinity``, which JSON parsers reject."""
    return _replace_typed(con, query, ("FLOAT", "DOUBLE"), "CASE WHEN isfinite({c}) THEN {c} END")


def _zoned_as_text(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """``query`` with its TIMESTAMP WITH TIME ZONE columns as text, for a workbook: Excel
    has no time zones. The text is DuckDB's, in UTC (``2024-01-05 08:00:00+00``), as the
    CSV and JSON outputs write it."""
    return _replace_typed(con, query, ("TIMESTAMP WITH TIME ZONE",), "CAST({c} AS VARCHAR)")


def write_table(con: duckdb.DuckDBPyConnection, query: str, path: Path, fmt: str) -> int:
    """Write the result of ``query`` to ``path`` as ``fmt``; return the row count.

    CSV/TSV get a header row and RFC 4180 quoting; JSON lines one object per
    line; xlsx one sheet named ``data`` (at most 1,048,575 rows). The query is
    streamed, never materialised in Python (xlsx goes through in batches).

    Raises:
        InvalidParams: unknown ``fmt``, or too many rows for xlsx.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    target = sql_literal(str(path))
    copy_options = {
        "csv": "FORMAT csv, HEADER true, DELIMITER ','",
        "tsv": "FORMAT csv, HEADER true, DELIMITER '\t'",
        "parquet": "FORMAT parquet, COMPRESSION zstd",
        "jsonl": "FORMAT json",
    }
    if fmt == "jsonl":
        query = _strict_json(con, query)
    if fmt in copy_options:
        result = con.execute(f"COPY ({query}) TO {target} ({copy_options[fmt]})").fetchall()
        return int(result[0][0]) if result else 0
    if fmt == "xlsx":
        cursor = con.execute(_zoned_as_text(con, query))
        columns = [d[0] for d in cursor.description]
        return write_xlsx(path, columns, iter(lambda: cursor.fetchmany(10_000), []))
    raise InvalidParams(f"unknown output format {fmt!r}; known: {', '.join(FORMATS)}")
