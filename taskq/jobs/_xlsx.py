"""Excel (.xlsx) reading and writing, streamed with openpyxl.

Reading converts one worksheet to a temporary UTF-8 CSV row by row
(openpyxl ``read_only`` mode), which DuckDB then reads like any other CSV, so a
sheet never sits in memory as Python objects. The first non-empty row is the
header, unless it is a title above one (:func:`_header_row`); blank header cells
become ``column_<n>`` (1-based), as do cells right of the header's last one. Dates and times are
written in ISO 8601 so DuckDB infers DATE/TIMESTAMP columns. The cells' own
types are recorded per column, so a reader that keeps the file's types (clean)
reads a column of numbers as numbers, not text that looks like them.

Cells are read as the values the workbook stores. A formula's value is stored
only once a spreadsheet program has calculated it: a workbook written by a
library (openpyxl, say) and never opened in Excel or LibreOffice has formulas
and no values. Such cells read as empty, and the reading says so
(:func:`uncomputed_formulas`): a warning names the sheet and the cells.

Writing streams query results in batches into a ``write_only`` workbook.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import logging
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import ParseError, fromstring, iterparse

from ..errors import InputEmpty, InputUnreadable, InvalidParams
from .findings import finding

__all__ = [
    "MAX_XLSX_ROWS",
    "Uncomputed",
    "is_zip",
    "other_sheets",
    "uncomputed_finding",
    "uncomputed_formulas",
    "write_xlsx",
    "xlsx_to_csv",
]

logger = logging.getLogger(__name__)

MAX_XLSX_ROWS = 1_048_575
"""Data rows an Excel sheet holds below its header row."""


def is_zip(path: Path) -> bool:
    """True when ``path`` starts with the zip magic that every .xlsx has."""
    with path.open("rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # as Excel shows it, not Python's True
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        # Excel stores dates as datetimes; a midnight one is a date as far as anyone knows.
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _kind(value: Any) -> str:
    """What a cell holds: ``int``, ``float``, ``bool``, ``date``, ``datetime``, ``time`` or ``str``."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 2**63):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, dt.datetime):
        return "date" if value.time() == dt.time(0) and value.tzinfo is None else "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.time):
        return "time"
    return "str"


def _column_type(kinds: set[str]) -> str:
    """The DuckDB type of a column whose cells hold ``kinds``: numbers (integers only:
    BIGINT), dates (with times: TIMESTAMP), times or booleans; text, a mix, or no
    value at all: VARCHAR."""
    if kinds == {"int"}:
        return "BIGINT"
    if kinds and kinds <= {"int", "float"}:
        return "DOUBLE"
    if kinds == {"date"}:
        return "DATE"
    if kinds and kinds <= {"date", "datetime"}:
        return "TIMESTAMP"
    return {frozenset({"time"}): "TIME", frozenset({"bool"}): "BOOLEAN"}.get(frozenset(kinds), "VARCHAR")


_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")
"""A formula element in a sheet's XML, with or without a namespace prefix (``<f>``, ``<x:f>``)."""
_CHUNK = 1 << 20
LISTED_CELLS = 5
"""How many uncomputed formula cells a warning names."""


@dataclass
class Uncomputed:
    """The formula cells of a sheet that have no calculated value stored.

    Attributes:
        cells: how many.
        listed: the first :data:`LISTED_CELLS` of them, as ``B2``.
        columns: the 1-based column numbers they are in.
    """

    cells: int = 0
    listed: list[str] = field(default_factory=list)
    columns: set[int] = field(default_factory=set)


def uncomputed_formulas(open_source: Callable[[], IO[bytes]]) -> Uncomputed:
    """The formula cells of a worksheet's XML (``open_source()`` opens it) with no value stored.

    A calculated formula is stored with its value (``<c><f>B2*C2</f><v>5</v></c>``);
    one nobody calculated has none (``<v/>``, or no ``<v>``). A formula whose text
    result is empty has a typed, empty value (``t="str"``): it is calculated.

    The sheet is first scanned for a formula tag at all (a few per cent of what
    reading it costs); only a sheet with formulas is parsed again.
    """
    found = Uncomputed()
    with open_source() as source:
        tail = b""
        while True:
            chunk = source.read(_CHUNK)
            if not chunk:
                return found
            if _FORMULA_TAG.search(tail + chunk):
                break
            tail = chunk[-64:]
    from openpyxl.utils.cell import column_index_from_string as column_index
    from openpyxl.utils.cell import coordinate_from_string, get_column_letter
    from openpyxl.xml.constants import SHEET_MAIN_NS

    tag_c, tag_f, tag_v = (f"{{{SHEET_MAIN_NS}}}{t}" for t in ("c", "f", "v"))
    tag_row, tag_data = f"{{{SHEET_MAIN_NS}}}row", f"{{{SHEET_MAIN_NS}}}sheetData"
    # Cells and rows are numbered as openpyxl numbers them: by their "r", else the next one.
    # A cell's "r" is read only for a formula cell: others count from the last one seen.
    row, last, since = 0, "", 0
    pending: list[tuple[int, int | None]] = []  # this row's cells found: (column, row if its "r" says)
    rows: Any = None  # <sheetData>: each row read is dropped from it, memory stays one row's
    with open_source() as source:
        for event, element in iterparse(source, events=("start", "end")):
            tag = element.tag
            if event == "start":
                if tag == tag_data:
                    rows = element
            elif tag == tag_c:
                ref = element.get("r")
                if ref:
                    last, since = ref, 0
                else:
                    since += 1
                if element.find(tag_f) is None:  # most cells: no formula
                    continue
                value = element.find(tag_v)
                if value is None or (not value.text and element.get("t", "n") == "n"):
                    letters, at = coordinate_from_string(last) if last else ("", None)
                    pending.append(((column_index(letters) if letters else 0) + since, at))
            elif tag == tag_row:
                row, last, since = int(element.get("r") or row + 1), "", 0
                for col, at in pending:
                    found.cells += 1
                    found.columns.add(col)
                    if len(found.listed) < LISTED_CELLS:
                        found.listed.append(f"{get_column_letter(col)}{at or row}")
                pending.clear()
                if rows is not None:
                    rows.clear()
    return found


_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"


def _rels(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """The relationships of ``part`` (a zip member name; "" for the package): Id ->
    (type, target member name). Missing rels: none."""
    folder, name = posixpath.split(part)
    try:
        xml = archive.read(posixpath.join(folder, "_rels", f"{name}.rels"))
    except KeyError:
        return {}
    out = {}
    for rel in fromstring(xml).iter(f"{{{_REL_NS}}}Relationship"):
        target = rel.get("Target", "")
        # A target is relative to the part's folder, or absolute from the package root.
        member = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        out[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(member))
    return out


def _workbook_part(archive: zipfile.ZipFile) -> str | None:
    """The workbook part's member name, found as openpyxl finds it (the content type of a
    workbook, template or macro workbook; a default of that type means the usual
    ``xl/workbook.xml``), else through the package's office-document relationship."""
    from openpyxl.xml.constants import ARC_WORKBOOK, XLSM, XLSX, XLTM, XLTX

    names = set(archive.namelist())
    try:
        types = fromstring(archive.read("[Content_Types].xml"))
    except KeyError:
        types = None
    if types is not None:
        overrides = {
            o.get("ContentType"): o.get("PartName", "").lstrip("/")
            for o in reversed(list(types.iter(f"{{{_TYPES_NS}}}Override")))  # the first one wins
        }
        defaults = {d.get("ContentType") for d in types.iter(f"{{{_TYPES_NS}}}Default")}
        for kind in (XLTM, XLTX, XLSM, XLSX):
            if overrides.get(kind) in names:
                return overrides[kind]
        if defaults & {XLTM, XLTX, XLSM, XLSX} and ARC_WORKBOOK in names:
            return str(ARC_WORKBOOK)
    return next(
        (
            target
            for kind, target in _rels(archive, "").values()
            if kind.endswith("/officeDocument") and target in names
        ),
        None,
    )


def sheet_member(archive: zipfile.ZipFile, title: str) -> str | None:
    """The zip member holding worksheet ``title``'s XML, or None if not found: the first
    ``<sheet>`` of that name in the workbook part whose relationship names a member the
    archive has (openpyxl skips the others, as this does)."""
    workbook = _workbook_part(archive)
    if workbook is None:
        return None
    from openpyxl.xml.constants import SHEET_MAIN_NS

    rels, names = _rels(archive, workbook), set(archive.namelist())
    for sheet in fromstring(archive.read(workbook)).iter(f"{{{SHEET_MAIN_NS}}}sheet"):
        kind_target = rels.get(sheet.get(f"{{{_DOC_REL}}}id", ""))
        if sheet.get("name") == title and kind_target and kind_target[1] in names:
            return kind_target[1]
    return None


def _sheet_uncomputed(path: Path, title: str) -> Uncomputed | None:
    """:func:`uncomputed_formulas` of worksheet ``title`` in the workbook at ``path``;
    None when its XML cannot be found or read (openpyxl read it, so that is unexpected)."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = sheet_member(archive, title)
            return None if member is None else uncomputed_formulas(lambda: archive.open(member))
    except (KeyError, ParseError, zipfile.BadZipFile) as exc:
        logger.warning("%s: sheet %r: formulas not checked: %s", path.name, title, exc)
        return None


def _unchecked_finding(sheet: str) -> dict[str, Any]:
    return finding(
        "info",
        f"sheet {sheet!r}: its XML part could not be located, so formula cells without a "
        "computed value (read as empty) were not looked for",
        code="formulas_not_checked",
    )


def uncomputed_finding(sheet: str, found: Uncomputed, header: Sequence[str]) -> dict[str, Any]:
    """The warning for ``found`` on ``sheet``, naming its cells and (``header``: the names
    of the table's columns) the columns they are in."""
    more = f" and {found.cells - len(found.listed)} more" if found.cells > len(found.listed) else ""
    names = [header[c - 1] for c in sorted(found.columns) if c <= len(header)]
    where = f" in column(s) {', '.join(map(repr, names))}" if names else ""
    return finding(
        "warning",
        f"sheet {sheet!r}: {found.cells} formula cell(s){where} have no computed value "
        f"({', '.join(found.listed)}{more}) and are read as empty: the workbook was saved by a "
        "program that does not calculate formulas. Open and save it in Excel or LibreOffice to "
        "compute them, then run again",
        column=names[0] if len(names) == 1 and len(found.columns) == 1 else None,
        code="formulas_not_computed",
    )


def other_sheets(sheets: Sequence[str], current: str) -> str:
    """``"; other sheets: A, B (read_options sheet reads one)"`` for an error about sheet
    ``current`` (a cover sheet, an empty one), or ``""`` when the workbook has no other."""
    others = [n for n in sheets if n != current]
    return f"; other sheets: {', '.join(others)} (read_options sheet reads one)" if others else ""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _numbered(ws: Any, skip: int | None) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """The sheet's rows with their 1-based row numbers, past the first ``skip`` rows."""
    # read_only iter_rows() starts at row 1 whatever the sheet's used range (empty rows
    # above it included): its rows are the sheet's rows, as Excel numbers them.
    for n, row in enumerate(ws.iter_rows(values_only=True), 1):
        if skip is not None and n <= skip:
            continue
        yield n, tuple(row or ())


_TITLE_LOOKAHEAD = 5
"""Titles above a header at most (``Quarterly Sales Report``, then a subtitle, then a blank)."""


def _filled(row: Sequence[Any]) -> int:
    return sum(not _blank(v) for v in row)


def _header_row(
    rows: Iterator[tuple[int, tuple[Any, ...]]], *, detect: bool
) -> tuple[tuple[int, tuple[Any, ...]], list[tuple[int, str]], list[tuple[int, tuple[Any, ...]]], int] | None:
    """The header row, the titles above it, the rows read past it, and the empty rows above it.

    The header is the first non-empty row, unless (``detect``) that is a title: a row with
    one filled cell above a row of two or more filled cells that are all text (a header),
    ``Quarterly Sales Report`` over ``Region, Rep, Sales``, with at most
    :data:`_TITLE_LOOKAHEAD` title rows, and set apart from the table: an empty row
    between them, or a first row below the header that holds a number, date or boolean.
    ``Name`` over ``Alice, Smith`` and ``Bob, Jones`` is a header with a blank cell, not a
    title. A sheet of one column has no titles. None: no non-empty row.
    """
    pending: list[tuple[int, tuple[Any, ...]]] = []
    empty = gap = 0
    for n, row in rows:
        if not _filled(row):
            empty += 1
            gap += bool(pending)  # an empty row below the first candidate title
            continue
        pending.append((n, row))
        if not detect or _filled(pending[0][1]) != 1 or _filled(row) >= 2 or len(pending) > _TITLE_LOOKAHEAD:
            break
    if not pending:
        return None
    row = pending[-1][1]
    header_like = _filled(row) >= 2 and all(isinstance(v, str) for v in row if not _blank(v))
    if detect and len(pending) > 1 and header_like:
        below = next(((n, r) for n, r in rows if _filled(r)), None)
        typed = below is not None and any(not _blank(v) and not isinstance(v, str) for v in below[1])
        ahead = [below] if below is not None else []
        if gap or typed:
            titles = [(m, next(_cell(v).strip() for v in r if not _blank(v))) for m, r in pending[:-1]]
            return pending[-1], titles, ahead, empty
        return pending[0], [], pending[1:] + ahead, empty
    return pending[0], [], pending[1:], empty


def _widen(dest: Path, extra: list[str]) -> None:
    """Rewrite the CSV ``dest`` with ``extra`` columns after the header's, every row padded."""
    tmp = dest.with_suffix(".wide.csv")
    with dest.open(encoding="utf-8", newline="") as src, tmp.open("w", encoding="utf-8", newline="") as out:
        reader, writer = csv.reader(src), csv.writer(out)
        header = next(reader)
        width = len(header) + len(extra)
        writer.writerow(header + extra)
        for row in reader:
            writer.writerow(row + [""] * (width - len(row)))
    tmp.replace(dest)


def xlsx_to_csv(path: Path, dest: Path, sheet: str | None = None, skip: int | None = None) -> dict[str, Any]:
    """Write worksheet ``sheet`` (default: the first worksheet; chartsheets hold no cells) of ``path`` to ``dest`` as CSV.

    Empty rows are skipped (before the header, between rows, and the formatted
    but empty rows workbooks often carry below the data), as a CSV reader skips
    blank lines; trailing empty cells are kept so every CSV row has the header's
    width (shorter rows padded; filled cells past it widen the table, then a
    warning names the first such row). ``skip``: rows above the header; None
    detects title rows instead (:func:`_header_row`).

    Returns:
        ``{"sheet": name, "sheets": [all names], "skipped_rows": n, "cell_types": [...],
        "warnings": [...]}`` (empty rows skipped; per column, the DuckDB type every
        non-empty cell of it has in the sheet, or ``VARCHAR``: see :func:`_column_type`;
        findings about the reading: formulas with no computed value, which read as empty).

    Raises:
        InputUnreadable: not a zip/Excel workbook, or a corrupt one.
        InvalidParams: ``sheet`` does not exist (naming the sheets that do).
        InputEmpty: the sheet has no non-empty row.
    """
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not is_zip(path):
        raise InputUnreadable(f"{path.name}: is not an Excel .xlsx workbook (not a zip file)", path=str(path))
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InputUnreadable(
            f"{path.name}: cannot open as an Excel workbook: {exc}", path=str(path)
        ) from None
    try:
        names = list(wb.sheetnames)
        tables = [w.title for w in wb.worksheets]  # not the chartsheets: they hold no cells
        if sheet is None:
            if not tables:
                raise InputEmpty(f"{path.name}: the workbook has no worksheet, only charts", path=str(path))
            ws = wb[tables[0]]
        elif sheet in tables:
            ws = wb[sheet]
        elif sheet in names:
            raise InvalidParams(
                f"{path.name}: sheet {sheet!r} is a chart, not a table; worksheets: {', '.join(tables)}"
            )
        else:
            raise InvalidParams(f"{path.name}: no sheet {sheet!r}; sheets: {', '.join(names)}")
        rows = _numbered(ws, skip)
        head = _header_row(rows, detect=skip is None)
        if head is None:
            raise InputEmpty(
                f"{path.name}: sheet {ws.title!r} is empty{other_sheets(tables, ws.title)}", path=str(path)
            )
        (_, row), titles, ahead, skipped = head
        header = [_cell(v).strip() or f"column_{i + 1}" for i, v in enumerate(row)]
        while header and header[-1].startswith("column_") and row[len(header) - 1] is None:
            header.pop()
        width = len(header)
        wide = 0  # the widest row's cells, past the header's
        past, first_past = 0, 0  # rows with cells right of the header's last column; the first
        kinds: list[set[str]] = [set() for _ in range(width)]
        with dest.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            for n, row in itertools.chain(ahead, rows):
                if all(_blank(v) for v in row):
                    # An empty row (often only formatted, e.g. bold, below the data), skipped
                    # as a CSV reader skips a blank line: it is no row of NULLs.
                    skipped += 1
                    continue
                end = len(row)
                while end > width and _blank(row[end - 1]):
                    end -= 1
                values = row[:end]
                if end > width:
                    past, first_past = past + 1, first_past or n
                    wide = max(wide, end)
                    kinds.extend(set() for _ in range(end - len(kinds)))
                for seen, v in zip(kinds, values, strict=False):
                    if v is not None and v != "":
                        seen.add(_kind(v))
                cells = [_cell(v) for v in values]
                cells.extend([""] * (width - len(cells)))
                writer.writerow(cells)
        notes = []
        if titles:
            shown = ", ".join(f"row {n} ({text[:60]!r})" for n, text in titles)
            notes.append(
                finding(
                    "info",
                    f"sheet {ws.title!r}: {shown} above the header read as a title, not as the header; "
                    "set read_options skip to the number of rows above the header to choose it yourself",
                    code="xlsx_title_rows",
                )
            )
        if past:
            extra = [f"column_{i + 1}" for i in range(width, wide)]
            _widen(dest, extra)
            header += extra
            width = wide
            notes.append(
                finding(
                    "warning",
                    f"sheet {ws.title!r}: {past} row(s) hold cells right of the header's last column "
                    f"(first at row {first_past}): read as {', '.join(extra)}",
                    code="xlsx_cells_past_header",
                )
            )
        kinds.extend(set() for _ in range(width - len(kinds)))
        cell_types = [_column_type(k) for k in kinds[:width]]
        found = _sheet_uncomputed(path, ws.title)
        if found is None:
            warnings = [_unchecked_finding(ws.title)]
        else:
            warnings = [uncomputed_finding(ws.title, found, header)] if found.cells else []
        warnings = notes + warnings
        return {
            "sheet": ws.title,
            "sheets": names,
            "skipped_rows": skipped,
            "cell_types": cell_types,
            "warnings": warnings,
        }
    except (zipfile.BadZipFile, KeyError, OSError, ParseError) as exc:
        raise InputUnreadable(f"{path.name}: corrupt Excel workbook: {exc}", path=str(path)) from None
    finally:
        wb.close()


def write_xlsx(path: Path, columns: Sequence[str], batches: Iterable[Sequence[Sequence[Any]]]) -> int:
    """Stream ``batches`` of rows under a ``columns`` header into a new .xlsx at ``path``.

    Returns:
        The number of data rows written.

    Raises:
        InvalidParams: more rows than an Excel sheet holds (nothing is kept).
    """
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append(list(columns))
    rows = 0
    for batch in batches:
        rows += len(batch)
        if rows > MAX_XLSX_ROWS:
            raise InvalidParams(
                f"{path.name}: more than {MAX_XLSX_ROWS:,} rows do not fit in an Excel sheet; "
                "choose csv or parquet output"
            )
        for row in batch:
            ws.append([_excel_value(v, ws) for v in row])
    wb.save(path)
    return rows


EXCEL_DIGITS = 15
"""Significant digits an Excel number keeps: it is a DOUBLE, shown and edited to 15 digits."""


def _excel_value(value: Any, ws: Any) -> Any:
    """Values openpyxl can store; anything else (lists, dicts, decimals) as text.

    Text that starts with ``=`` is stored as a text cell: openpyxl would write it
    as a formula, turning data such as ``=HYPERLINK(...)`` into live formulas. An
    integer of more than :data:`EXCEL_DIGITS` digits (an 18-digit order id, a card
    number) is text too: as a number cell Excel keeps 15 of its digits, and ids a
    few apart became one value.
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**EXCEL_DIGITS:
        return str(value)
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    if isinstance(value, dt.datetime | dt.time) and value.tzinfo is not None:
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str | dt.date | dt.time):
        return value
    return str(value)
