"""Loading delimited text (CSV/TSV, and Excel sheets converted to CSV) into DuckDB.

Used by :func:`taskq.jobs.io.open_table`; see its docstring for the contract.
The dialect (delimiter, quote, escape, header, skipped lines) comes from
DuckDB's ``sniff_csv`` unless the caller fixed it; the encoding from
:mod:`taskq.jobs._encoding`. The file is read once into ``<view>__data`` with
``store_rejects`` so ragged or undecodable rows are set aside and reported
instead of failing the read. The retries, all rare:

* the sample was valid UTF-8 but later bytes are not: re-read, those bytes as
  cp1252 (:func:`taskq.jobs._encoding.transcode_mixed`), the lines listed;
* a value late in the file does not fit the type sniffed from the sample
  (DuckDB rejects it as a CAST error): re-read with those columns as VARCHAR,
  so no row is lost to type inference;
* the sniffer gives up: again setting ragged rows aside; then, if the caller
  gave the delimiter and quote, with that layout; then in non-strict mode
  (mixed CRLF and LF line endings);
* a malformed quoted field in the sample made the sniffer drop ``"`` quoting,
  so most rows are rejected: re-read with RFC 4180 quoting, keeping the
  reading with more rows. ``read_csv`` itself sniffs and can give up too: the
  layout is then read as given, every column as text (:func:`_header` names them).

A reading that still rejects more rows than it keeps is refused, naming the
first bad line, rather than analysed in part. Lines the sniffer skips above
the header (a title) are reported as an info finding.

A record may hold at most :data:`MAX_LINE_BYTES`. A longer line past the rows
DuckDB's sniffer samples is skipped and reported like a ragged row; one among
them defeats layout detection (the sniffer took 23 s to give up with "CSV
Error on Line: 1" on a 50 MB line), so :func:`_overlong_line` looks there
first and the file is refused at once, naming the line.
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
import mmap
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from ..errors import InputEmpty, InputMalformed, InputTooLarge
from ._encoding import SAMPLE_BYTES, UTF8, decoding_findings, sniff_encoding, utf8_source
from ._table import Table, describe, finish_view, first_line, quote_ident, row_renamed, sql_literal
from .findings import finding

__all__ = ["MAX_REJECTED_LINES", "load_delimited"]

logger = logging.getLogger(__name__)

MAX_REJECTED_LINES = 10_000
"""Rejected line numbers kept on :attr:`Table.rejected`."""

MAX_LINE_BYTES = 2_000_000
"""The longest record read (DuckDB's ``max_line_size``, set explicitly)."""
_SNIFF_LINES = 20_480 + 100
"""How many lines :func:`_overlong_line` checks: DuckDB's sniffer reads the first
20,480 rows (``sample_size``), plus room for skipped lines and a header."""

_EMPTY = "(empty)"


_DELIMITERS = (",", ";", "\t", "|")


def _rows(lines: Iterable[str], delimiter: str, quote: str | None = '"') -> Iterator[list[str]]:
    """The fields of ``lines`` split at ``delimiter`` outside ``quote``s, as :mod:`csv` reads them.

    :mod:`csv` takes a one-character delimiter only; DuckDB takes up to four bytes
    (``||``), so a longer one is split here: a quote opens only at a field's start,
    and a doubled quote inside one is a quote.
    """
    if len(delimiter) == 1:
        if quote:
            yield from csv.reader(lines, delimiter=delimiter, quotechar=quote, quoting=csv.QUOTE_MINIMAL)
        else:
            yield from csv.reader(lines, delimiter=delimiter, quoting=csv.QUOTE_NONE)
        return
    mark = quote or ""
    for line in lines:
        line = line.rstrip("\r\n")
        fields: list[str] = []
        field: list[str] = []
        i, quoted, start = 0, False, True
        while i < len(line):
            if quoted:
                if line.startswith(mark * 2, i):
                    field.append(mark)
                    i += 2
                elif line[i] == mark:
                    quoted = False
                    i += 1
                else:
                    field.append(line[i])
                    i += 1
            elif start and mark and line[i] == mark:
                quoted, start = True, False
                i += 1
            elif line.startswith(delimiter, i):
                fields.append("".join(field))
                field, start = [], True
                i += len(delimiter)
            else:
                field.append(line[i])
                start = False
                i += 1
        fields.append("".join(field))
        yield fields


def _consistency(lines: list[str], delimiter: str) -> tuple[float, int]:
    """(share of sample lines with the modal field count, that count) for ``delimiter``."""
    counts: dict[int, int] = {}
    for row in _rows(lines, delimiter):
        if row:
            counts[len(row)] = counts.get(len(row), 0) + 1
    if not counts:
        return 0.0, 1
    width, freq = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return freq / sum(counts.values()), width


def _explained(sample: str, delimiter: str, skip: int) -> int:
    """How many of the sample's lines after the first ``skip`` have the modal field count
    (the last line is left out: the sample may end inside it)."""
    lines = (sample.splitlines()[:-1] or sample.splitlines())[skip:]
    share, _ = _consistency(lines, delimiter)
    return round(share * sum(1 for line in lines if line))


_TITLE_LINES = 10
"""Lines above a header that hold no delimiter at most (a title, notes, blank lines)."""


def _leading_lines(lines: list[str], delimiter: str) -> int:
    """How many of ``lines`` open them without a ``delimiter`` (a title, notes, blank
    lines): at most :data:`_TITLE_LINES`, and never the last line."""
    lead = 0
    while lead < min(_TITLE_LINES, len(lines) - 1) and len(next(_rows([lines[lead]], delimiter), [])) < 2:
        lead += 1
    return lead


def _title_lines(sample: str, delimiter: str) -> int:
    """How many lines open the sample without a ``delimiter`` (a title such as ``Sales
    export``, blank lines) before the first line of the table's width (at least two
    fields); 0 when none do, or when the line after them is not of that width (then it
    may be a header narrower than its rows: it is not skipped)."""
    lines = (sample.splitlines()[:-1] or sample.splitlines())[:500]
    _, width = _consistency(lines, delimiter)
    if width < 2:
        return 0
    lead = _leading_lines(lines, delimiter)
    return lead if len(next(_rows([lines[lead]], delimiter), [])) == width else 0


def _ragged_delimiter(sample: str, chosen: str) -> str | None:
    """A better delimiter when the sniffer settled on one that yields a single column.

    DuckDB's sniffer wants every sampled row to have the same width, so a file
    with ragged rows can make it fall back to a delimiter that splits nothing.
    Then the candidate whose modal width (> 1) covers the most lines wins.
    """
    lines = sample.splitlines()[:-1] or sample.splitlines()
    lines = lines[:500]
    if _consistency(lines, chosen)[1] > 1:
        return None
    best: tuple[float, int, str] | None = None
    for delim in _DELIMITERS:
        # Lines without the delimiter at the top (a title, notes) are no table rows.
        share, width = _consistency(lines[_leading_lines(lines, delim) :], delim)
        if width > 1 and share >= 0.5 and (best is None or (share, width) > best[:2]):
            best = (share, width, delim)
    return best[2] if best else None


def _overlong_line(
    path: Path, limit: int = MAX_LINE_BYTES, lines: int = _SNIFF_LINES
) -> tuple[int, int] | None:
    """``(line number, length)`` of the first line longer than ``limit`` bytes among the
    first ``lines`` lines of ``path``, or None.

    Jumps from a line start to the last line break within ``limit`` bytes, so it
    reads a few slices per ``limit`` bytes rather than looking at every line.
    """
    size = path.stat().st_size
    if size <= limit:
        return None
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        start, seen = 0, 0  # seen: line breaks before start
        while seen < lines and size - start > limit:
            end = start + limit + 1  # a break at start + limit still ends a line of `limit` bytes
            brk = max(mm.rfind(b"\n", start, end), mm.rfind(b"\r", start, end))
            if brk < 0:
                ends = [i for i in (mm.find(b"\n", end), mm.find(b"\r", end)) if i >= 0]
                return seen + 1, (min(ends) if ends else size) - start
            if mm[brk : brk + 2] == b"\r\n":
                brk += 1
            chunk = mm[start : brk + 1]
            seen += chunk.count(b"\n") or chunk.count(b"\r")  # "\r\n" counts once; old Mac files use "\r"
            start = brk + 1
    return None


def _too_long(display: Path, line: int | None, length: int | None) -> InputTooLarge:
    where = f"line {line}" if line else "a line"
    size = f"is {length:,} bytes long" if length else "is too long"
    return InputTooLarge(
        f"{display.name}: {where} {size}; a record may hold at most {MAX_LINE_BYTES:,} bytes "
        "(a whole document in one cell?)",
        path=str(display),
        line=line,
    )


def _raise_if_too_long(exc: duckdb.Error, display: Path) -> None:
    """DuckDB's "Maximum line size ... exceeded" as :class:`InputTooLarge` (no retry helps).

    Its line number is not cited: for a line among the sniffed rows it says line 1.
    """
    if "Maximum line size of" in str(exc):  # not the hint every sniffing error ends with
        raise _too_long(display, None, None) from None


def _invalid_unicode(exc: duckdb.Error, src: Path) -> bool:
    """Whether DuckDB failed on bytes that are not UTF-8 (its message, not the file's path,
    saying "unicode": a file named data_unicode.csv was refused as "not valid cp1252")."""
    return "invalid unicode" in str(exc).replace(str(src), "").lower()


class _RetryEncoding(Exception):
    """The file claimed UTF-8 but is not: read it again as cp1252."""


def _sniff(con: duckdb.DuckDBPyConnection, src: Path, opts: dict[str, Any], display: Path) -> dict[str, Any]:
    args = [sql_literal(str(src)), f"max_line_size = {MAX_LINE_BYTES}"]
    if opts.get("delimiter"):
        args.append(f"delim = {sql_literal(opts['delimiter'])}")
    if opts.get("quote") is not None:
        args.append(f"quote = {sql_literal(opts['quote'])}")
    if opts.get("escape") is not None:
        args.append(f"escape = {sql_literal(opts['escape'])}")
    if opts.get("header") is not None:
        args.append(f"header = {'true' if opts['header'] else 'false'}")
    if opts.get("skip") is not None:
        args.append(f"skip = {int(opts['skip'])}")
    if opts.get("_ragged"):
        args.append("ignore_errors = true")
    if opts.get("_lenient"):
        args.append("strict_mode = false")
    try:
        row = con.execute(
            "SELECT Delimiter, Quote, Escape, HasHeader, SkipRows, DateFormat, TimestampFormat "
            f"FROM sniff_csv({', '.join(args)})"
        ).fetchall()[0]
    except duckdb.Error as exc:
        if _invalid_unicode(exc, src):
            raise _RetryEncoding from None
        _raise_if_too_long(exc, display)
        if not opts.get("_ragged"):
            # Rows of uneven width defeat the sniffer: sniff again skipping them, so the
            # read can report them line by line.
            return _sniff(con, src, {**opts, "_ragged": True}, display)
        if opts.get("delimiter") and opts.get("quote") is not None:
            # The caller said how the file is laid out: read it so, without sniffing
            # (one malformed record in the sample makes the sniffer give up).
            quote = opts["quote"]
            escape = opts["escape"] if opts.get("escape") is not None else quote
            header = True if opts.get("header") is None else bool(opts["header"])
            skip = int(opts.get("skip") or 0)
            return {
                "delimiter": opts["delimiter"],
                "quote": quote,
                "escape": escape,
                "header": header,
                "skip": skip,
            }
        if not opts.get("_lenient"):
            # Mixed line endings (CRLF and LF in one file) defeat the strict sniffer.
            try:
                return _sniff(con, src, {**opts, "_lenient": True}, display)
            except InputMalformed:
                pass
        raise InputMalformed(
            f"{display.name}: cannot detect the delimited-text layout: {first_line(exc)}; "
            "set read_options delimiter, quote, header (and skip) to read it as you describe",
            path=str(display),
        ) from None
    delim, quote, escape, header, skip, date_format, timestamp_format = row
    # A two-digit year first (15.01.24 read as 2015-01-24): see _load.
    formats = (("DATE", date_format or ""), ("TIMESTAMP", timestamp_format or ""))
    short_first = [t for t, f in formats if f.startswith("%y")]
    # Day first with slashes or dashes: maybe only because no value told (see _month_first).
    day_first = [t for t, f in formats if f.startswith(("%d/%m/", "%d-%m-"))]
    with src.open("r", encoding="utf-8-sig", errors="replace") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not opts.get("delimiter"):
        better = _ragged_delimiter(sample, delim)
        if better and better != delim:
            logger.info(
                "%s: ragged rows; using delimiter %r over the sniffed %r", display.name, better, delim
            )
            return _sniff(con, src, {**opts, "delimiter": better, "_ragged": True}, display)
    if opts.get("skip") is None:
        # A title line above the header, with a ragged row below, leaves the sniffer with the
        # title as a one-column header (or skipping one title line of two): read from the
        # first line of the table's width.
        title = _title_lines(sample, opts.get("delimiter") or delim)
        if title and title != int(skip or 0):
            logger.info("%s: skipping %d line(s) above the header", display.name, title)
            return _sniff(
                con, src, {**opts, "delimiter": opts.get("delimiter") or delim, "skip": title}, display
            )
    if skip and opts.get("skip") is None:
        # The sniffer may skip table rows to reach a wider row: a totals line with one
        # more field at the end made it skip the header and every row before it. Sniff
        # again from the first line, setting uneven rows aside; keep whichever reading
        # accounts for more of the sample's lines.
        alt = _sniff(con, src, {**opts, "skip": 0, "_ragged": True}, display)
        if _explained(sample, alt["delimiter"], 0) > _explained(sample, delim, int(skip)):
            logger.info("%s: not skipping %d line(s) the sniffer wanted to skip", display.name, skip)
            return alt
    if quote == _EMPTY and opts.get("quote") is None and '"' not in sample:
        # No quotes in the sample says nothing about later rows: RFC 4180 quoting is
        # harmless when unused and right when a quoted field turns up later.
        quote = escape = '"'
    return {
        "delimiter": delim,
        "quote": "" if quote == _EMPTY else quote,
        "escape": "" if escape == _EMPTY else escape,
        "header": bool(header),
        "skip": int(skip or 0),
        **({"lenient": True} if opts.get("_lenient") else {}),
        **({"year_first": short_first} if short_first else {}),
        **({"day_first": day_first} if day_first else {}),
    }


def _read(
    con: duckdb.DuckDBPyConnection,
    src: Path,
    view: str,
    dialect: dict[str, Any],
    all_varchar: bool,
    as_varchar: list[str],
    display: Path,
    column_types: list[str] | None = None,
) -> None:
    con.execute(f"DROP TABLE IF EXISTS {view}__rejects")
    con.execute(f"DROP TABLE IF EXISTS {view}__scans")
    args = [
        sql_literal(str(src)),
        f"delim = {sql_literal(dialect['delimiter'])}",
        f"quote = {sql_literal(dialect['quote'])}",
        f"escape = {sql_literal(dialect['escape'])}",
        f"header = {'true' if dialect['header'] else 'false'}",
        f"skip = {dialect['skip']}",
        f"max_line_size = {MAX_LINE_BYTES}",
        "store_rejects = true",
        f"rejects_table = '{view}__rejects'",
        f"rejects_scan = '{view}__scans'",
        f"all_varchar = {'true' if all_varchar else 'false'}",
    ]
    if dialect.get("lenient"):
        args.append("strict_mode = false")
    if column_types:  # every column's type, by position (those an Excel sheet's cells give)
        args.append(f"types = [{', '.join(sql_literal(t) for t in column_types)}]")
    elif as_varchar:
        struct = ", ".join(f"{sql_literal(c)}: 'VARCHAR'" for c in as_varchar)
        args.append(f"types = {{{struct}}}")

    def load(*extra: str) -> None:
        con.execute(
            f"CREATE OR REPLACE TABLE {view}__data AS SELECT * FROM read_csv({', '.join([*args, *extra])})"
        )

    try:
        try:
            load()
        except duckdb.Error as exc:
            if "Error when sniffing file" not in str(exc):
                raise
            # read_csv sniffs even with the layout given, and a malformed record in its
            # sample (an unterminated quote) makes it give up. Read the layout as given,
            # every column as text, so that record alone is rejected.
            names = ", ".join(f"{sql_literal(c)}: 'VARCHAR'" for c in _header(src, dialect))
            given = f"auto_detect = false, columns = {{{names}}}"
            try:
                load(given)
            except duckdb.Error:
                if dialect.get("lenient"):
                    raise
                load(given, "strict_mode = false")  # mixed line endings (CRLF and LF)
    except duckdb.Error as exc:
        if _invalid_unicode(exc, src):
            raise _RetryEncoding from None
        _raise_if_too_long(exc, display)
        raise InputMalformed(f"{display.name}: {first_line(exc)}", path=str(display)) from None
    _file_lines(con, src, f"{view}__rejects")


_CHUNK = 1 << 22


def _line_numbers(src: Path, positions: list[int]) -> list[int]:
    """The 1-based line of ``src`` holding each byte offset of the sorted ``positions``:
    the line breaks before it, plus one. One read of the file up to the last offset."""
    out: list[int] = []
    lines, done = 1, 0  # line breaks before offset ``done``, plus one
    with src.open("rb") as fh:
        chunk, start = fh.read(_CHUNK), 0
        for pos in positions:
            while pos > start + len(chunk) and chunk:
                lines += chunk.count(b"\n", done - start)
                start, done = start + len(chunk), start + len(chunk)
                chunk = fh.read(_CHUNK)
            upto = min(pos, start + len(chunk))
            if upto > done:
                lines += chunk.count(b"\n", done - start, upto - start)
                done = upto
            out.append(lines)
    return out


def _file_lines(con: duckdb.DuckDBPyConnection, src: Path, rejects: str) -> None:
    """Number the rejected records of ``rejects`` by the file's lines.

    DuckDB's ``line`` counts a record whose quoted field holds line breaks as one
    line, so every reject after such a record was numbered too low (QA: lines 3 and
    5 reported for lines 5 and 7). Its ``line_byte_position`` (the record's first byte,
    or the line break before it) gives the line of the file.
    """
    found = con.execute(f"SELECT DISTINCT line_byte_position FROM {rejects} ORDER BY 1").fetchall()
    positions = [int(p) for (p,) in found if p is not None]
    if not positions:
        return
    import pyarrow as pa

    lines = _line_numbers(src, positions)
    con.register("_file_lines_arrow", pa.table({"pos": positions, "line": lines}))
    try:
        con.execute(
            f"UPDATE {rejects} SET line = m.line FROM _file_lines_arrow AS m "
            f"WHERE {rejects}.line_byte_position = m.pos"
        )
    finally:
        con.unregister("_file_lines_arrow")


def _raw_header(src: Path, dialect: dict[str, Any]) -> list[str]:
    """The fields of the first line of ``src`` after the skipped ones, as written."""
    with src.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        for _ in range(dialect["skip"]):
            fh.readline()
        return next(_rows(fh, dialect["delimiter"], dialect["quote"] or None), [])


def _header(src: Path, dialect: dict[str, Any]) -> list[str]:
    """The column names of ``src`` as DuckDB would name them: the header row's fields
    (blank ones ``column<i>``, 0-based; repeats ``<name>_<n>``), or ``column0``... without one."""
    first = _raw_header(src, dialect)
    if not dialect["header"]:
        return [f"column{i}" for i in range(len(first))]
    names: list[str] = []
    for i, raw in enumerate(first):
        name = raw.strip() or f"column{i}"
        base, n = name, 1
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def _load(
    con: duckdb.DuckDBPyConnection,
    src: Path,
    view: str,
    dialect: dict[str, Any],
    all_varchar: bool,
    display: Path,
    column_types: list[str] | None = None,
) -> list[tuple[int, str, str | None, str]]:
    """Read ``src`` with ``dialect`` into ``<view>__data``; return the rejected lines.

    A value late in the file that does not fit the type sniffed from the sample is
    rejected as a CAST error: those columns are read again as VARCHAR, losing no row.
    """
    _read(con, src, view, dialect, all_varchar, [], display, column_types)
    rejects = _rejects(con, view)
    cast_columns = sorted({c for _, kind, c, _ in rejects if kind == "CAST" and c})
    # DuckDB's sniffer tries a two-digit year first before one last: 15.01.24 and 15/01/24
    # became 2015-01-24, wrong dates a profile then reported. Such columns are read as text.
    if dialect.get("year_first") and not all_varchar and not column_types:
        types = describe(con, f"{view}__data")
        dates = [c for c, t in types.items() if t in dialect["year_first"]]
        if dates:
            dialect["year_first_columns"] = dates
            cast_columns = sorted({*cast_columns, *dates})
    if cast_columns:
        logger.info("%s: re-reading %s as VARCHAR", display.name, cast_columns)
        _read(con, src, view, dialect, all_varchar, cast_columns, display)
        rejects = _rejects(con, view)
    if dialect.get("day_first") and not all_varchar and not column_types:
        _month_first(con, f"{view}__data", dialect)
    return rejects


def _month_first(con: duckdb.DuckDBPyConnection, data: str, dialect: dict[str, Any]) -> None:
    """Read month first the date columns DuckDB read day first with no value to tell it.

    DuckDB's sniffer reads ``a/b/yyyy`` and ``a-b-yyyy`` day first when every value
    reads both ways (``01/02/2024`` as 1 February); clean-my-data then reads slashes
    and dashes month first (2 January, :mod:`taskq.jobs.clean_types`). So that a profile
    reports the dates clean writes, such a column, one whose every day is 12 or
    less, has day and month swapped; a day above 12 is evidence, and the column
    stays as read. Its name goes to ``dialect["month_first_columns"]`` for a finding.
    """
    columns = [c for c, t in describe(con, data).items() if t in dialect["day_first"]]
    if not columns:
        return
    row = con.execute(
        f"SELECT {', '.join(f'max(day({quote_ident(c)}))' for c in columns)} FROM {data}"
    ).fetchall()[0]
    ties = [c for c, top in zip(columns, row, strict=True) if top is not None and top <= 12]
    if not ties:
        return
    swaps = []
    for c in ties:
        q = quote_ident(c)
        day = f"make_date(year({q}), day({q}), month({q}))"  # day <= 12: always a date
        swaps.append(f"{q} = {day} + ({q} - date_trunc('day', {q}))")
    con.execute(f"UPDATE {data} SET {', '.join(swaps)}")
    dialect["month_first_columns"] = ties


def _swallowed(con: duckdb.DuckDBPyConnection, src: Path, view: str, quote: str) -> dict[int, int]:
    """Per record rejected for an unterminated quote (DuckDB's ``UNQUOTED VALUE``), the
    number of lines it spans: from its start to the next quote character after the one
    it opens, or to the end of the file. A record DuckDB reports as one line is one line."""
    rows = con.execute(
        f"SELECT line, line_byte_position, byte_position FROM {view}__rejects "
        "WHERE error_type = 'UNQUOTED VALUE' ORDER BY line"
    ).fetchall()
    if not rows or not quote:
        return {}
    out: dict[int, int] = {}
    mark = quote.encode()
    with src.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        for line, start, at in rows:
            opened = mm.rfind(mark, int(start), int(at) + 1)  # the quote the record leaves open
            if opened < 0:
                continue
            line_end = mm.find(b"\n", opened)
            closed = mm.find(mark, opened + 1)
            if closed >= 0 and (line_end < 0 or closed < line_end):
                out[int(line)] = 1  # closed on its own line: a malformed field, not a runaway quote
                continue
            if closed < 0:  # to the end of the file (its last line may lack a line break)
                out[int(line)] = mm[int(start) :].count(b"\n") + (mm[-1:] != b"\n")
            else:  # to the line holding the next quote
                out[int(line)] = mm[int(start) : closed].count(b"\n") + 1
    return out


def _count(con: duckdb.DuckDBPyConnection, view: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {view}__data").fetchall()[0][0])


def _layout(dialect: dict[str, Any]) -> str:
    quote = f"quote {dialect['quote']!r}" if dialect["quote"] else "no quoting"
    header = "a header row" if dialect["header"] else "no header row"
    return f"delimiter {dialect['delimiter']!r}, {quote}, {header}"


def _renamed(display: Path, raw: list[str], names: list[str]) -> list[dict[str, Any]]:
    """An info finding per header DuckDB read under another name (blank, repeated, padded)."""
    out = []
    for i, (was, now) in enumerate(zip(raw, names, strict=False)):
        if was == now:
            continue
        if not was.strip():
            why = "a blank header"
        elif was.strip() == now:
            why = "spaces around the header trimmed"
        elif was.strip() in (r.strip() for r in raw[:i]):
            why = "a header repeated from an earlier column"
        else:
            why = "renamed by the reader"
        out.append(
            finding(
                "info",
                f"{display.name}: column {i + 1} is named {now!r}: {why} ({was!r} in the file)",
                column=now,
                code="column_renamed",
            )
        )
    return out


def _rejects(con: duckdb.DuckDBPyConnection, view: str) -> list[tuple[int, str, str | None, str]]:
    """``(line, error type, column, message)`` per rejected line, once: DuckDB reports a line
    once per field too many (six fields of three: three reports of line 3)."""
    return [
        (int(line), str(kind), column, str(message))
        for line, kind, column, message in con.execute(
            f"SELECT line, min(error_type), min(column_name), min(error_message) FROM {view}__rejects "
            "GROUP BY line ORDER BY line"
        ).fetchall()
    ]


_FIELDS = r"Expected Number of Columns: (\d+) Found: (\d+)"
"""DuckDB's message for a row with too few or too many fields."""


def _rejected_view(con: duckdb.DuckDBPyConnection, view: str) -> str:
    """Create ``<view>__rejected`` over DuckDB's rejects table: one row per rejected line,
    ``line`` (1-based, in the file), ``reason`` (``expected 3 fields, found 2``) and
    ``text`` (the line as read); return its name. A view: nothing is pulled into Python.

    DuckDB reports a line once per field too many or missing (``Found: 4``, ``5``, ``6``
    for six fields of three): the count is the most (too many) or the fewest (missing).
    """
    expected = f"TRY_CAST(regexp_extract(error_message, '{_FIELDS}', 1) AS BIGINT)"
    found = f"TRY_CAST(regexp_extract(error_message, '{_FIELDS}', 2) AS BIGINT)"
    fields = (
        "CASE WHEN min(expected) IS NULL THEN NULL "
        "WHEN kind = 'MISSING COLUMNS' THEN 'expected ' || min(expected) || ' fields, found ' || min(found) "
        "WHEN kind = 'TOO MANY COLUMNS' THEN 'expected ' || min(expected) || ' fields, found ' || max(found) END"
    )
    other = (
        "CASE kind WHEN 'UNQUOTED VALUE' THEN 'a quoted field that is not closed properly' "
        f"WHEN 'LINE SIZE OVER MAXIMUM' THEN 'longer than {MAX_LINE_BYTES:,} bytes' "
        "ELSE lower(kind) || ': ' || string_agg(DISTINCT message, '; ' ORDER BY message) END"
    )
    name = f"{view}__rejected"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS "
        "SELECT line, string_agg(reason, '; ' ORDER BY pos) AS reason, arg_min(text, pos) AS text FROM ("
        f"SELECT line, min(pos) AS pos, arg_min(text, pos) AS text, coalesce({fields}, {other}) AS reason "
        f"FROM (SELECT CAST(line AS BIGINT) AS line, CAST(error_type AS VARCHAR) AS kind, "
        f"byte_position AS pos, trim(csv_line, chr(13) || chr(10)) AS text, error_message AS message, {expected} AS expected, "
        f"{found} AS found FROM {view}__rejects) GROUP BY line, kind) GROUP BY line"
    )
    return name


def _reject_findings(display: Path, rejects: list[tuple[int, str, str | None, str]]) -> list[dict[str, Any]]:
    by_kind: dict[str, list[int]] = {}
    for line, kind, _column, _message in rejects:
        by_kind.setdefault(kind, []).append(line)
    out = []
    for kind, lines in sorted(by_kind.items()):
        shown = ", ".join(str(n) for n in lines[:20])
        more = f" (+{len(lines) - 20} more)" if len(lines) > 20 else ""
        out.append(
            finding(
                "warning",
                f"{display.name}: {len(lines)} row(s) skipped ({kind.lower()}) at line(s) {shown}{more}",
                code="csv_" + kind.lower().replace(" ", "_"),
            )
        )
    return out


_SEP_LINE = re.compile(r"\ufeff?(?i:sep)=([^\r\n]{1,4})\r?\n((?:[ \t]*\r?\n)*)")
"""Excel's first-line delimiter hint (``sep=;``): Excel writes it and reads it as no data.
Blank lines after it are skipped with it."""


def _sep_line(sample: bytes, encoding: str) -> tuple[str, int] | None:
    """``(delimiter, lines to skip)`` for a ``sep=X`` first line (X of one to four
    characters, as DuckDB takes), or None."""
    try:
        head = sample[:256].decode(encoding, errors="ignore")
    except LookupError:
        return None
    m = _SEP_LINE.match(head)
    if m is None:
        return None
    delimiter = m.group(1).strip(" ") or m.group(1)  # "sep= ; " is ";", "sep= " is a space
    if '"' in delimiter or len(delimiter.encode()) > 4:
        return None
    return delimiter, 1 + m.group(2).count("\n")


def load_delimited(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: str,
    view: str,
    all_varchar: bool,
    opts: dict[str, Any],
    scratch: Path,
    *,
    display: Path,
    column_types: list[str] | None = None,
) -> Table:
    """Read the delimited text file ``path`` into ``<view>__data`` and create ``view``.

    ``display`` is the path named in messages (the user's file, when ``path``
    is a converted copy). ``scratch`` receives transcoded copies; the caller
    deletes it once this returns (the data is in DuckDB by then).
    ``column_types``: every column's type by position (an Excel sheet's cell
    types, for ``keep_types``): read so, and kept through the view.
    """
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if len(sample) < SAMPLE_BYTES and not sample.removeprefix(codecs.BOM_UTF8).strip():
        raise InputEmpty(f"{display.name}: holds only blank lines", path=str(display))
    encoding = opts.get("encoding") or sniff_encoding(display, sample)
    warnings: list[dict[str, Any]] = []
    hint = _sep_line(sample, encoding)
    if hint is not None and opts.get("delimiter") is None and opts.get("skip") is None:
        delimiter, skip = hint
        opts = {**opts, "delimiter": delimiter, "skip": skip}
        warnings.append(
            finding(
                "info",
                f"{display.name}: the first line, sep={delimiter}, is Excel's delimiter hint: the file "
                f"is read with the delimiter {delimiter!r} from line {skip + 1}",
                code="csv_sep_line",
            )
        )
    for _attempt in range(2):
        src, encoding, mixed = utf8_source(
            path, scratch / (path.stem + ".utf8.csv"), encoding, not opts.get("encoding")
        )
        long = _overlong_line(src)  # in the bytes DuckDB reads: UTF-8
        if long is not None:
            raise _too_long(display, *long)
        try:
            dialect = _sniff(con, src, opts, display)
            rejects = _load(con, src, view, dialect, all_varchar, display, column_types)
            if any(kind == "INVALID UNICODE" for _, kind, _, _ in rejects):
                raise _RetryEncoding
            break
        except _RetryEncoding:
            if opts.get("encoding") or encoding not in UTF8:
                raise InputMalformed(
                    f"{display.name}: bytes are not valid {encoding}", path=str(display)
                ) from None
            logger.info("%s: not UTF-8 after the sample; reading other bytes as cp1252", display.name)
            encoding = "cp1252"
    kept = _count(con, view)
    if len(rejects) > kept and dialect["quote"] != '"' and opts.get("quote") is None:
        # Most rows rejected, with no or other quoting: a malformed quoted field in the
        # sniffer's sample made it give up on quotes. Read with RFC 4180 quoting instead,
        # which sets aside only the malformed record, and keep the better reading.
        quoted = {**dialect, "quote": '"', "escape": '"'}
        alt = _load(con, src, view, quoted, all_varchar, display, column_types)
        alt_kept = _count(con, view)
        if alt_kept > kept:
            logger.info(
                "%s: reading with '\"' quoting; unquoted, %d rows were rejected", display.name, len(rejects)
            )
            dialect, rejects, kept = quoted, alt, alt_kept
        else:
            rejects = _load(con, src, view, dialect, all_varchar, display, column_types)
    swallowed = _swallowed(con, src, view, dialect["quote"])
    # A line may be rejected for several reasons; a record with an unterminated quote
    # takes the lines after it with it (to the next quote, or the end of the file).
    bad = len({line for line, *_ in rejects}) + sum(n - 1 for n in swallowed.values())
    if bad > kept:
        line, kind, _, message = rejects[0]
        raise InputMalformed(
            f"{display.name}: {bad:,} of {bad + kept:,} rows do not fit the layout read "
            f"({_layout(dialect)}); the first at line {line}: {kind.lower()}: {message}. "
            "Set read_options (delimiter, quote, header, skip) if that layout is wrong",
            path=str(display),
            line=line,
        )
    warnings.extend(decoding_findings(display, encoding, mixed))
    if dialect["skip"] and opts.get("skip") is None:
        warnings.append(
            finding(
                "info",
                f"{display.name}: the first {dialect['skip']} line(s) were skipped: they do not fit the "
                "layout of the rows below (a title or notes above the header?); set read_options skip "
                "to choose where the table starts",
                code="csv_lines_skipped",
            )
        )
    warnings.extend(_reject_findings(display, rejects))
    for column in dialect.get("year_first_columns", []):
        warnings.append(
            finding(
                "info",
                f"{display.name}: column {column!r} holds dates with a two-digit year, which could be "
                "read year first (15.01.24 as 2015-01-24) or last (2024-01-15): it is read as text. "
                "clean-my-data converts such dates with the year last",
                column=column,
                code="ambiguous_dates",
            )
        )
    for column in dialect.get("month_first_columns", []):
        warnings.append(
            finding(
                "info",
                f"{display.name}: column {column!r} holds dates that read day first or month first "
                "(no day is above 12: 01/02/2024 is 2 January or 1 February); they are read month "
                "first, as clean-my-data converts them. If they are day first, set clean-my-data's "
                f"types step dayfirst {json.dumps({column: True})}",
                column=column,
                code="ambiguous_dates",
            )
        )
    for line, n in swallowed.items():
        if n > 1:
            warnings.append(
                finding(
                    "warning",
                    f"{display.name}: line {line} opens a quote that is never closed: the record runs "
                    f"over {n:,} lines (to line {line + n - 1:,}), and none of them could be read",
                    code="csv_unterminated_quote",
                )
            )
    types = describe(con, f"{view}__data")
    if dialect["header"]:
        warnings.extend(_renamed(display, _raw_header(src, dialect), list(types)))
    warnings.extend(row_renamed(types))
    columns, types, rows, exprs = finish_view(
        con, view, f"{view}__data", "rowid", types, all_varchar, display, keep_types=bool(column_types)
    )
    if rows == 0:
        if rejects:
            line, kind, _, message = rejects[0]
            raise InputMalformed(
                f"{display.name}: no row could be read; line {line}: {kind.lower()}: {message}",
                path=str(display),
                line=line,
            )
        what = "has a header row but no data rows" if dialect["header"] else "has no data rows"
        raise InputEmpty(f"{display.name}: {what}", path=str(display))
    options = {**dialect, "encoding": encoding}
    rejected = [line for line, *_ in rejects[:MAX_REJECTED_LINES]]
    lines = _rejected_view(con, view) if rejects else ""
    logger.debug("%s: columns %s", display.name, ", ".join(quote_ident(c) for c in columns))
    return Table(
        display, fmt, view, rows, columns, types, options, warnings, rejected, f"{view}__data", exprs, lines
    )
