"""Type detection and parsing for clean-my-data's ``types`` step.

Detection runs on a column's *distinct* values with their counts (the value
map built by :mod:`taskq.jobs.clean_values`), so it is exact yet cheap: every
share below is weighted by how many rows hold the value.

Candidates, for non-null text values:

* **boolean**: ``true/false/yes/no/t/f/y/n`` in any case. ``0``/``1`` do not
  make a column boolean (a 0/1 column stays numbers unless forced to boolean),
  but in a boolean column they read as false/true.
* **integer / number**: optional sign, digits with optional thousands
  separators and decimals. The decimal mark may lead, with no digit before
  it (``.5``, ``-.25``; ``,5`` under a decimal comma), as Excel, R and
  JavaScript exports write numbers and every mainstream parser reads them. A
  trailing mark with no digit after it (``5.``) is no number: ``1.`` is as
  often a list ordinal, and ``+15551234567.`` or ``01.`` a phone or code
  with a full stop, which must stay text. The decimal mark is decided per column: a value
  only one convention can read (``1,234.5`` or ``12.5`` vs ``1.234,5`` or
  ``12,5``) is evidence, unless its mark leads (a stray ``,5`` must
  not make ``1,234`` read as 1.234); the convention with more evidence wins, and with no
  evidence at all (``1,234`` alone) the point is the decimal mark. When a comma
  was decided by values that are few next to those both marks read (``1,234``:
  1234 or 1.234), or some values point the other way, the decision gets a ``note``
  and the report a ``decimal_mark_ambiguous`` warning; so does a point no value decided
  when values such as ``1.000`` read as 1.0 by it (``€2.500``: 2500 as much of Europe writes it). A column
  where any number has a leading zero (``007``, ZIP codes, section codes such as ``01.1``), or all are whole
  and some do not fit 64 bits (long ids), stays text. Scientific notation
  (``1e-07``, how DuckDB writes a Parquet DOUBLE as text) reads as a number.
  A number column is DOUBLE when a DOUBLE holds every value exactly (any value
  of up to 15 significant digits, and longer ones that are a DOUBLE's own
  shortest form, such as ``0.30000000000000004``). Otherwise it is the
  DECIMAL(p, s) that holds every value (``1234567890.123456789`` is
  DECIMAL(19,9): no digit is lost, shorter values are written with the
  column's scale, ``0.5`` as ``0.500000000``); when none does (more than 38
  digits), the column stays text. Forced to ``number``, such a column keeps
  DOUBLE and the values a DOUBLE would change fail (quarantined), as any
  value that is not of a forced type does (they are not in its share). A
  number past a DOUBLE's range (``1e309``, ``-1e400``: its cast is infinite)
  is no number: it does not count for a number column, so ``1e309`` among
  three numbers leaves the column text (75%), and in a number column (or one
  forced to number) it fails. One far below it (``1e-400``) casts to 0.0, a
  DOUBLE that changes it, and no DECIMAL holds it: such a column stays text too.
* **amounts**: a column whose values carry one currency sign (``$4,217.18``,
  ``-$12.50``, ``1.234,50 €``; ``$``, ``€``, ``£``, ``¥``, ``₹``, before or after the
  number, spaced or not) is decided and read as numbers without the sign; the decision
  records it (``currency``) and the report says so. Only an amount loses the sign and
  the spaces beside it; other values parse or fail as in a plain column (``$12 50`` is
  no 1250). Two signs in a column (``$`` and ``€``) keep it text: their amounts do not
  add up (forced to a number type, the most used sign is read off). Percentages stay text.
* **date**: ISO (``2024-03-01``, with optional ``T``/space time and fractional seconds), numeric
  ``a/b/yyyy`` with ``/``, ``-`` or ``.``, and month names (``1 Mar 2024``,
  ``March 1, 2024``, ``Mar 1 2024``, ``01-Mar-2024``), full or abbreviated in
  any case, with ``Sept`` and an abbreviation with a dot as the AP writes them
  (``Jan. 5, 2024``, ``5 Sept. 2024``); a full name has no dot, and
  ``01-March-2024`` is not read. strptime's ``%b`` reads neither ``Sept`` nor the
  dot: in a column where the detection scan found month names, every value is
  rewritten for it first (``Sept.`` as ``Sep``), in no other column. A
  numeric date may have a time of day after a space, 24-hour (``1/15/2024 14:30``, ``15.01.2024 14:30:05``) or
  12-hour with AM/PM in any case, spaced or not (``1/15/2024 2:30 PM``, ``2:30PM``, ``01/15/2024 02:30:00
  pm``; ``12:30 AM`` is 00:30, ``12:30 PM`` 12:30, ``13:30 PM`` no time). The
  formats for these are tried only in a column that has such values (the
  detection scan counts them). Day-first vs month-first is decided per
  column: a first number above 12 is evidence for day-first, a second number
  above 12 for month-first; the side with more evidence wins. On a tie (or
  none), day-first when most numeric dates are written with dots
  (``15.01.2024``, as Europe writes them), else month-first. A column whose parsed values all fall at midnight becomes DATE, else
  TIMESTAMP. A year is written with four digits: strptime's ``%Y`` reads one
  to three as well, so a parsed year counts only when the text has it with
  four (``0001-01-01``) or, below, with two; ``124-01-15``, ``1/15/124`` and
  ``1/2/3`` (``%y`` reads one digit) fail.
* **timestamp with a UTC offset** (``timestamptz``): an ISO date-time that ends in
  ``Z``, ``UTC`` or an offset (``2024-01-05T10:00:00Z``, ``2024-01-05T10:00:00+02:00``,
  ``2024-01-05 10:00:00.5 +0530``, ``...-05``), as APIs, logs and databases write them.
  The column becomes ``TIMESTAMP WITH TIME ZONE``: every value is the same instant, written
  in UTC (``2024-01-05 08:00:00+00``). An offset beyond 14 hours, a time of day or date
  that does not exist (a leap second, ``23:59:60``, included: no timestamp type holds
  one), more than six fractional digits, and an instant that falls outside the years
  1-9999 in UTC fail. A value without an offset in such a column fails too: which zone
  it meant is unknown.
* **two-digit years**: a numeric date may end its date in a two-digit year
  (``1/15/24``, ``15-01-24``, ``1/15/24 14:30``; with dots, day and month
  have two digits too, ``15.01.24``, since ``1.2.10`` is a version). The
  century rule is strptime's ``%y``, the same in DuckDB, Python and POSIX:
  00-68 are 2000-2068, 69-99 are 1969-1999. It is fixed, not a window around
  today, so a replay reads the same dates in any year. The year is last:
  ``yy/mm/dd`` is not a format (it cannot be told from ``dd/mm/yy``), and
  ``24/01/15`` is 24 January 2015 in a day-first column, no date in a
  month-first one. Four- and two-digit years mix in a column. A two-digit year is no
  evidence by itself: its value must still be a valid date under the column's
  day/month order, so ids like ``12-34-56`` (few fit both ranges) stay text.
  The decision counts the rows read so (``two_digit_years``) and its ``note``
  gives the rule with the earliest and latest such date: the report has it as
  a ``two_digit_years`` info finding, so that a birth date ``05/03/52`` read
  as 2052 is seen.

The candidate parsing the most rows wins; the column is converted only when
that share of non-null values reaches the threshold. Values that then fail to
parse are reported as failures (and quarantined), never silently nulled.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any

import duckdb

from ._numbers import (
    MAX_DECIMAL,
    beyond_double,
    decimal_digits,
    decimal_size,
    number_shape,
    plain_number,
    same_number,
)
from ._table import sql_and
from ._table import sql_literal as _lit

__all__ = ["TypeDecision", "decide_type", "failure_reason", "parse_expr"]

logger = logging.getLogger(__name__)

_TRUE = ("true", "yes", "t", "y")
_FALSE = ("false", "no", "f", "n")
_INT = r"[+-]?\d+"
_EXP = r"([eE][+-]?\d{1,3})?"
"""Scientific notation: how DuckDB writes a DOUBLE read from Parquet or JSON as text (``1e-07``)."""
_US_CORE = rf"(([1-9]\d{{0,2}}((,\d{{3}})+|( \d{{3}})+)|\d+)(\.\d+)?|\.\d+){_EXP}"
_EU_CORE = rf"(([1-9]\d{{0,2}}((\.\d{{3}})+|( \d{{3}})+)|\d+)(,\d+)?|,\d+){_EXP}"
_US_NUM = rf"[+-]?{_US_CORE}|\({_US_CORE}\)"
_EU_NUM = rf"[+-]?{_EU_CORE}|\({_EU_CORE}\)"
"""A number in parentheses is negative, as accounting writes it (``(1,234.56)``).
Thousands are grouped by the mark that is not the decimal one, or by spaces (``1 234,50``
in French and Nordic exports; the whitespace step makes their no-break spaces plain ones).
A thousands group never leads with 0: ``0.125`` is a fraction under either mark, never 125.
The decimal mark may lead, with no digit before it (``.5``, as Excel, R and JavaScript write
0.5); a trailing one (``5.``) is no number (see the module docstring)."""
_CLOCK = r"( \d{1,2}:\d{2}(:\d{2})?( ?[AaPp][Mm])?)?"
"""A time of day after a numeric date: 24-hour (``14:30``, ``14:30:05``) or 12-hour (``2:30 PM``, ``2:30PM``)."""
_NUMERIC_DATE = r"(\d{1,2}[/.-]\d{1,2}[/.-]\d{4}|\d{1,2}[/-]\d{1,2}[/-]\d{2}|\d{2}\.\d{2}\.\d{2})" + _CLOCK
"""``a/b/yyyy`` or ``a/b/yy`` (``/``, ``-`` or ``.``), with an optional time. With a two-digit
year and dots, day and month have two digits (``01.02.24``): ``1.2.10`` is a version."""
_ABBREVIATIONS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_FULL_NAMES = "january|february|march|april|may|june|july|august|september|october|november|december"
_SHORT_MONTH = rf"(?i:({'|'.join(_ABBREVIATIONS)}|sept)\.?)"
_NAMED_DATE = rf"^(\d{{1,2}} )?(?i:{_SHORT_MONTH}|{_FULL_NAMES}) |^\d{{1,2}}-{_SHORT_MONTH}-"
"""The start of a date with a month name, as :func:`_date_parse` reads it (``1 Mar 2024``,
``March 1, 2024``, ``Mar 1 2024``, ``01-Mar-2024``): ``%B``'s full names, ``%b``'s
abbreviations, and in a column with month names (:attr:`TypeDecision.names`) ``Sept`` and an
abbreviation with a dot (``Jan.``, ``Sept.``), which :data:`_AP_MONTH` rewrites for ``%b``."""
_AP_MONTH = (
    rf"^(\d{{1,2}}[ -])?(?i:({'|'.join(m for m in _ABBREVIATIONS if m != 'sep')})\.|(sep)t?\.?)([ -])",
    r"\1\2\3\4",
)
"""``Jan. 5, 2024`` as ``Jan 5, 2024``, ``5 Sept. 2024`` as ``5 Sep 2024`` (the AP's style):
strptime's ``%b`` reads neither a dot nor ``Sept``. ``September`` and ``June`` are left alone."""
_MAYBE_DATE = rf"^\d{{4}}[-/]\d{{1,2}}[-/]\d|^{_NUMERIC_DATE}$|{_NAMED_DATE}"
ZONED = (
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?) ?([Zz]|(?i:utc)|[+-]\d{2}(?::?\d{2})?)"
)
"""An ISO date-time with its UTC offset; groups: the date, the time of day, the offset
(``Z``, ``UTC``, ``+02:00``, ``+0200``, ``-05``). RFC 3339 allows ``t`` and ``z`` in lower case."""
MAX_OFFSET_HOURS = 14
"""The widest UTC offset in use (Kiribati's +14:00)."""
_ISO_FORMATS = [
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",  # fractional seconds: a TIMESTAMP read from Parquet, written as text
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
]
_NAME_FORMATS = ["%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%b %d %Y", "%B %d %Y"]


@dataclass
class TypeDecision:
    """What the types step does to one column.

    Attributes:
        type: ``text`` (left alone), ``integer``, ``number``, ``date``,
            ``timestamp`` or ``boolean``.
        share: fraction of non-null values that parse as ``type``.
        dayfirst: for dates, whether ``a/b/yyyy`` reads as day/month.
        decimal: for numbers, the decimal mark (``.`` or ``,``).
        reason: why the column was or was not converted (for changes.json).
    """

    type: str
    share: float
    dayfirst: bool | None = None
    decimal: str | None = None
    reason: str = ""
    note: str = ""
    """A caveat for the report: the decimal mark was decided on thin or conflicting evidence, or
    dates have two-digit years (which century?)."""
    forced: bool = False
    """The params named the type: values that are not of it (a fraction for an integer, a time
    of day for a date) must fail. A detected type never meets such values, so its parse skips
    the test (it costs a second parse of every value)."""
    precision: int | None = None
    """For a number that a DOUBLE does not hold exactly: the DECIMAL's precision and ``scale``."""
    scale: int | None = None
    exact: bool = False
    """For a number forced on values a DOUBLE does not hold and no DECIMAL does either: the
    values a DOUBLE would change fail."""
    clock: bool = False
    """For dates: some numeric dates have a 24-hour time (``1/15/2024 14:30``); their formats
    are tried. Without such values the list stays short."""
    ampm: bool = False
    """For dates: some numeric dates have a 12-hour time (``1/15/2024 2:30 PM``)."""
    short_year: bool = False
    """For dates: some numeric dates have a two-digit year (``1/15/24``); their formats are
    tried first (see :func:`_date_formats`)."""
    names: bool = False
    """For dates: some values have a month name (``Jan 5, 2024``); ``Sept`` and an abbreviation
    with a dot (``Jan. 5, 2024``) are read too, by a rewrite of every value for ``%b``
    (:data:`_AP_MONTH`). Without such values no value is rewritten."""
    two_digit_years: int = 0
    """For dates: rows read with a two-digit year (by the century rule: see the module docstring)."""
    currency: str | None = None
    """For numbers: the currency sign every value was read without (``$``)."""
    codes: bool = False
    """For text: some values are digits with a leading zero (``02139``): codes, which a
    conversion to numbers would change, so the report does not suggest one."""
    merged: str = ""
    """For numbers: a warning when fractions written differently read as one number (``1.1``
    and ``1.10``: versions, not numbers?), see :func:`_merged_note`."""

    @property
    def sql_type(self) -> str:
        """The DuckDB type of the parsed values (``VARCHAR`` for text)."""
        if self.type == "number" and self.precision is not None:
            return f"DECIMAL({self.precision},{self.scale})"
        return {
            "integer": "BIGINT",
            "number": "DOUBLE",
            "date": "DATE",
            "timestamp": "TIMESTAMP",
            "timestamptz": "TIMESTAMP WITH TIME ZONE",
            "boolean": "BOOLEAN",
        }.get(self.type, "VARCHAR")

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "share": round(self.share, 6), "reason": self.reason}
        if self.dayfirst is not None:
            out["dayfirst"] = self.dayfirst
        if self.decimal is not None:
            out["decimal"] = self.decimal
        if self.precision is not None:
            out["precision"], out["scale"] = self.precision, self.scale
        if self.two_digit_years:
            out["two_digit_years"] = self.two_digit_years
        if self.note:
            out["note"] = self.note
        if self.merged:
            out["merged"] = self.merged
        if self.currency:
            out["currency"] = self.currency
        return out


def _date_formats(decision: TypeDecision) -> list[str]:
    """The strptime formats of ``decision``'s dates, in the order they are tried (the first
    that reads a value wins): numeric dates with a time, or a two-digit year, only when the
    column has some.

    Two-digit years come first: ``%Y`` reads 15/01/24 as the year 15 (which
    :func:`_date_parse` then refuses), and ``%y`` fails at once on a four-digit
    year (``%d`` and ``%m`` read at most two digits of ``2024-01-15``).
    """
    order = "%d{s}%m{s}" if decision.dayfirst else "%m{s}%d{s}"
    clocks = [""]
    if decision.clock:
        clocks += [" %H:%M", " %H:%M:%S"]
    if decision.ampm:  # %I is 1 to 12: 12:30 AM is 00:30, 12:30 PM 12:30, 13:30 PM no time
        clocks += [" %I:%M %p", " %I:%M:%S %p", " %I:%M%p", " %I:%M:%S%p"]  # 2:30 PM, 2:30PM

    def numeric(year: str) -> list[str]:
        return [order.format(s=s) + year + clock for s in ("/", "-", ".") for clock in clocks]

    short = numeric("%y") if decision.short_year else []
    return short + _ISO_FORMATS + numeric("%Y") + _NAME_FORMATS


def _date_parse(value: str, decision: TypeDecision) -> str:
    formats = "[" + ", ".join(_lit(f) for f in _date_formats(decision)) + "]"
    text = f"regexp_replace({value}, {_lit(_AP_MONTH[0])}, {_lit(_AP_MONTH[1])})" if decision.names else value
    parsed = f"try_strptime({text}, {formats})"
    # %Y reads a year of one to three digits too (24-01-15 as 0024-01-15, 1/15/124 as 0124),
    # and %y one digit (1/2/3 as 2003): a year is one when the text has it with four digits
    # (0001-01-01, 2024), or two that end the date after its separator (1/15/24; with dots,
    # day and month of two digits too: 1.2.10 is a version).
    year = f"year({parsed})"
    four = f"contains({value}, lpad(CAST({year} AS VARCHAR), 4, '0'))"
    day = f"split_part({value}, ' ', 1)"
    two = f"(left(right({day}, 3), 1) IN ('/', '-') OR regexp_full_match({day}, '[0-9]{{2}}\\.[0-9]{{2}}\\.[0-9]{{2}}'))"
    return f"CASE WHEN {four} THEN {parsed} WHEN {year} >= 1000 AND {two} THEN {parsed} END"


def zoned_parse(value: str) -> str:
    """SQL: the text ``value`` (:data:`ZONED`) as the TIMESTAMP WITH TIME ZONE it names.

    The date and time are read by strptime without ``%z`` (which takes no ``Z``, and
    which DuckDB 2.0 lets roll 2024-02-30 over into March when given a list of
    formats), as UTC, and the offset is subtracted: ``10:00+02:00`` is 08:00 UTC.
    The result does not depend on the session's time zone.
    """
    naive = "try_strptime(m.d || ' ' || m.t, ['%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M'])"
    digits = "replace(substr(m.z, 2), ':', '')"
    hours = f"TRY_CAST(left({digits}, 2) AS INTEGER)"
    minutes = f"coalesce(TRY_CAST(nullif(substr({digits}, 3), '') AS INTEGER), 0)"
    sign = "(CASE WHEN starts_with(m.z, '-') THEN -1 ELSE 1 END)"
    total = f"({hours} * 60 + {minutes})"
    offset = (
        f"(CASE WHEN upper(m.z) IN ('Z', 'UTC') THEN 0 WHEN {minutes} < 60 AND {total} <= {MAX_OFFSET_HOURS * 60} "
        f"THEN {sign} * {total} END)"
    )
    fields = f"regexp_extract({value}, {_lit('^' + ZONED + '$')}, ['d', 't', 'z'])"
    instant = f"timezone('UTC', {naive}) - to_minutes({offset})"
    # An offset can carry the instant past year 9999 or before year 1, which no ISO text
    # (and no other tool reading the output) holds: such a value fails.
    return (
        f"list_transform([{fields}], lambda m: list_transform([{instant}], "
        "lambda i: CASE WHEN i BETWEEN TIMESTAMPTZ '0001-01-01 00:00:00+00' "
        "AND TIMESTAMPTZ '9999-12-31 23:59:59.999999+00' THEN i END)[1])[1]"
    )


def _signed(value: str) -> str:
    """SQL: the number ``value`` with accounting's parentheses as a minus (``(1.5)``: ``-1.5``)."""
    return f"CASE WHEN starts_with({value}, '(') THEN '-' || trim({value}, '()') ELSE {value} END"


def _number_text(decimal: str | None, value: str) -> tuple[str, str]:
    """``(pattern, cleaned)``: the regex a number of the ``decimal`` mark matches, and
    SQL for ``value`` without thousands separators and with ``.`` as its decimal mark."""
    signed = _signed(value)
    if decimal == ",":
        return _EU_NUM, f"replace(replace(replace({signed}, ' ', ''), '.', ''), ',', '.')"
    return _US_NUM, f"replace(replace({signed}, ',', ''), ' ', '')"


_RANGE_CHARS = 20
"""A number of at most this many characters and no exponent is far inside a DOUBLE's range."""


def _past_range(value: str, cleaned: str) -> str:
    """SQL: the number ``value`` (``cleaned`` as :func:`_number_text` writes it) is past a
    DOUBLE's range, its cast infinite (``1e309``, ``-1e400``): no number, so it neither
    parses nor counts for a number column (the one rule of both). Only an exponent or a long
    run of digits can be: the second cast runs on those alone. Underflow (``1e-400``) casts
    to 0.0, a DOUBLE that changes the value: :func:`_exact_number` sees to it."""
    return sql_and(beyond_double(value, _RANGE_CHARS), f"NOT isfinite(TRY_CAST({cleaned} AS DOUBLE))")


def failure_reason(decision: TypeDecision, value: str = "{x}", parsed: str = "{new}") -> str:
    """SQL: why the text ``value`` failed to parse as ``decision``'s type (``parsed`` is
    its parse), NULL when it did not fail."""
    reason = _lit(
        "not a valid " + {"timestamptz": "timestamp with a UTC offset"}.get(decision.type, decision.type)
    )
    if decision.exact:  # a number a DOUBLE would change, not a broken one: say so
        plain = _without_currency(value, decision.currency) if decision.currency else value
        pattern, cleaned = _number_text(decision.decimal, plain)
        double = f"TRY_CAST({cleaned} AS DOUBLE)"
        reason = (
            f"CASE WHEN regexp_full_match({plain}, {_lit(pattern)}) AND isfinite({double}) THEN "
            f"{_lit('number with more significant digits than a DOUBLE holds')} ELSE {reason} END"
        )
    return f"CASE WHEN {value} IS NOT NULL AND {parsed} IS NULL THEN {reason} END"


def parse_expr(decision: TypeDecision, value: str = "cur") -> str:
    """SQL turning the text ``value`` into ``decision.sql_type`` (NULL when it does not parse)."""
    t = decision.type
    if decision.currency:
        value = _without_currency(value, decision.currency)
    if t == "boolean":  # 1 and 0 too: they do not make a column boolean, but read as one in it
        return (
            f"CASE WHEN lower({value}) IN ({', '.join(map(_lit, (*_TRUE, '1')))}) THEN true "
            f"WHEN lower({value}) IN ({', '.join(map(_lit, (*_FALSE, '0')))}) THEN false END"
        )
    if t in ("integer", "number"):
        pattern, cleaned = _number_text(decision.decimal, value)
        if decision.precision is not None:
            # The DECIMAL holds every value the decision saw: the cast is exact.
            cast = f"TRY_CAST({plain_number(cleaned)} AS {decision.sql_type})"
            return f"CASE WHEN regexp_full_match({value}, {_lit(pattern)}) THEN {cast} END"
        target = "BIGINT" if t == "integer" else "DOUBLE"
        cast = f"TRY_CAST({cleaned} AS {target})"
        if t == "number" and decision.exact:  # a value the DOUBLE would change does not parse
            test = f"isfinite({cast}) AND {same_number(cleaned, f'CAST({cast} AS VARCHAR)')}"
            cast = f"CASE WHEN {beyond_double(value)} THEN CASE WHEN {test} THEN {cast} END ELSE {cast} END"
        elif t == "number":  # 1e309 casts to infinity: out of range, so it does not parse
            cast = f"CASE WHEN {_past_range(value, cleaned)} THEN NULL ELSE {cast} END"
        elif decision.forced:  # the cast rounds 1.5 to 2: a fraction is not an integer (2.0 is)
            # A DOUBLE tells a fraction apart only within its 15 digits (12345678901234567.5
            # is the DOUBLE 12345678901234568): longer values are read digit by digit.
            whole = f"list_transform([{number_shape(cleaned)}], lambda h: length(h.s) <= h.p)[1]"
            test = f"CASE WHEN {beyond_double(value)} THEN {whole} ELSE TRY_CAST({cleaned} AS DOUBLE) = {cast} END"
            cast = f"CASE WHEN {test} THEN {cast} END"
        parsed = f"WHEN regexp_full_match({value}, {_lit(pattern)}) THEN {cast}"
        if t == "integer":
            # Shortcut, same result: a value that is exactly how DuckDB writes the integer it
            # casts to (digits, optional "-", no separators) reads the same under both
            # decimal marks, and a cast and a comparison are cheaper than the regex.
            cast = f"TRY_CAST({value} AS BIGINT)"
            return f"CASE WHEN CAST({cast} AS VARCHAR) = {value} THEN {cast} {parsed} END"
        return f"CASE {parsed} END"
    if t == "timestamptz":
        return zoned_parse(value)
    if t in ("date", "timestamp"):
        parsed = _date_parse(value, decision)
        if t == "timestamp":
            return parsed
        if not decision.forced:
            return f"CAST({parsed} AS DATE)"
        # A time of day is not a date: 2024-01-31 10:00 does not parse (00:00 does).
        return f"CASE WHEN {parsed} = date_trunc('day', {parsed}) THEN CAST({parsed} AS DATE) END"
    return value


def _weighted(con: duckdb.DuckDBPyConnection, table: str, exprs: dict[str, str]) -> dict[str, int]:
    """``sum(n) FILTER (WHERE expr)`` for each named boolean expression over ``table``."""
    sql = ", ".join(f"coalesce(sum(n) FILTER (WHERE {e}), 0)" for e in exprs.values())
    row = con.execute(f"SELECT {sql} FROM {table} WHERE cur IS NOT NULL").fetchall()[0]
    assert row is not None
    return {k: int(v) for k, v in zip(exprs, row, strict=True)}


_CANDIDATE = rf"(?i:true|false|yes|no|t|f|y|n)|{_US_NUM}|{_EU_NUM}"


@dataclass(frozen=True)
class _FirstPass:
    """One scan of a column's non-null values: what every decision reads first.

    ``looks``: rows whose value could count for some type (it matches a boolean
    or number pattern, or looks like a date: :data:`_MAYBE_DATE`); no type can
    reach a share these do not reach (a date is only probed when that many look
    like dates, and every boolean or number matches :data:`_CANDIDATE`).
    ``digits``: rows of ASCII digits only, with ``lead0`` of them starting with
    a 0, ``overflow`` too long for BIGINT and ``huge`` past a DOUBLE's range
    (:func:`_past_range`). All weighted by ``n`` over every value, so exact and
    the same on a value map and on a column stored row by row.
    """

    nonnull: int
    looks: int
    digits: int
    lead0: int
    overflow: int
    huge: int
    money: int
    """Rows holding a currency sign (:data:`CURRENCIES`), digits-only rows aside."""


def _first_pass(con: duckdb.DuckDBPyConnection, table: str) -> _FirstPass:
    looks = f"CASE WHEN d THEN true WHEN regexp_full_match(cur, {_lit(_CANDIDATE)}) THEN true ELSE regexp_matches(cur, {_lit(_MAYBE_DATE)}) END"
    too_big = sql_and("strlen(cur) > 18", "TRY_CAST(cur AS BIGINT) IS NULL")
    # Digits read the same under both marks; past BIGINT's 19 digits before past a DOUBLE.
    huge = sql_and("d AND strlen(cur) > 18", _past_range("cur", "cur"))
    row = con.execute(
        f"SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE {looks}), 0), coalesce(sum(n) FILTER (WHERE d), 0), "
        f"coalesce(sum(n) FILTER (WHERE d AND starts_with(cur, '0') AND strlen(cur) > 1), 0), "
        f"coalesce(sum(n) FILTER (WHERE d AND {too_big}), 0), coalesce(sum(n) FILTER (WHERE {huge}), 0), "
        f"coalesce(sum(n) FILTER (WHERE NOT d AND ({_has_currency('cur')})), 0) "
        f"FROM (SELECT n, cur, {_DIGITS} AS d FROM {table} WHERE cur IS NOT NULL)"
    ).fetchall()[0]
    return _FirstPass(*(int(x) for x in row))


_PATTERNS = {
    "bool": f"lower(cur) IN ({', '.join(map(_lit, _TRUE + _FALSE))})",
    "int": f"regexp_full_match(cur, {_lit(_INT)})",
    "lead0": r"regexp_full_match(cur, '[+-]?0\d+([.,]\d+)?|\(0\d+([.,]\d+)?\)')",
    "us": f"regexp_full_match(cur, {_lit(_US_NUM)})",
    "eu": f"regexp_full_match(cur, {_lit(_EU_NUM)})",
    "numdate": f"regexp_full_match(cur, {_lit(_NUMERIC_DATE)})",
    "maybe_date": f"regexp_matches(cur, {_lit(_MAYBE_DATE)})",
}
"""Each pattern the detection needs, matched once per value (the conditions combine them)."""


def _bare(mark: str) -> str:
    """SQL: the number ``cur`` (a value the pattern of the decimal ``mark`` matched) has its
    mark leading, with no digit before it (``.5``, ``-.5``): a string test, no second regex."""
    return f"starts_with(ltrim(cur, '+-'), '{mark}')"


_GROUPED_WHOLE = _number_text(".", "cur")[1]
"""SQL: a whole number written with commas, spaces or parentheses, as digits (and a ``-``)."""

_CONDITIONS = {
    "nonnull": "true",
    "bool": "p_bool",
    "int": "p_int",
    "lead0": "p_lead0",
    "us": "p_us",
    "eu": "p_eu",
    # A leading mark is no evidence for it: a stray ,5 must not make 1,234 read as 1.234.
    "us_only": f"p_us AND NOT p_eu AND NOT {_bare('.')}",
    "eu_only": f"p_eu AND NOT p_us AND NOT {_bare(',')}",
    "both_marks": "p_us AND p_eu AND (contains(cur, ',') OR contains(cur, '.'))",
    # Numbers past a DOUBLE's range (1e309) match a pattern but do not parse: not counted.
    "us_huge": sql_and("p_us", _past_range("cur", _number_text(".", "cur")[1])),
    "eu_huge": sql_and("p_eu", _past_range("cur", _number_text(",", "cur")[1])),
    "us_frac": "p_us AND (contains(cur, '.') OR contains(lower(cur), 'e'))",
    "eu_frac": "p_eu AND (contains(cur, ',') OR contains(lower(cur), 'e'))",
    # Past 64 bits: digits alone, or grouped or in parentheses (12 345 678 901 234 567 890).
    # (CASE, not AND: DuckDB evaluates both sides of an AND; the tests cost on every number.)
    "overflow": (
        "CASE WHEN p_int THEN TRY_CAST(cur AS BIGINT) IS NULL "
        f"WHEN strlen(cur) > 18 AND (p_us OR p_eu) THEN regexp_full_match({_GROUPED_WHOLE}, '-?[0-9]{{19,}}') "
        f"AND TRY_CAST({_GROUPED_WHOLE} AS BIGINT) IS NULL ELSE false END"
    ),
    # A + and 9 to 15 digits, spaced or not (+34 612 345 678): a phone number, no number.
    "e164": (
        "CASE WHEN starts_with(cur, '+') THEN (p_int OR p_us OR p_eu) AND regexp_full_match(cur, '\\+[0-9 ]+') "
        "AND strlen(replace(cur, ' ', '')) BETWEEN 10 AND 16 ELSE false END"
    ),
    "negative": "(p_us OR p_eu) AND starts_with(cur, '-')",
    "numdate": "p_numdate",
    "dotted": "p_numdate AND contains(split_part(cur, ' ', 1), '.')",
    # A numeric date that ends in m has a 12-hour time (AM or PM), one with : a 24-hour one.
    "ampm": "p_numdate AND suffix(lower(cur), 'm')",
    "clock": "p_numdate AND contains(cur, ':') AND NOT suffix(lower(cur), 'm')",
    # The year is the date's last two characters after a separator (1/15/24, 1/15/24 14:30).
    "short_year": "p_numdate AND left(right(split_part(cur, ' ', 1), 3), 1) IN ('/', '-', '.')",
    "day_ev": r"p_numdate AND TRY_CAST(regexp_extract(cur, '^(\d+)', 1) AS INT) > 12",
    "month_ev": r"p_numdate AND TRY_CAST(regexp_extract(cur, '^\d+[/.-](\d+)', 1) AS INT) > 12",
    "maybe_date": "p_maybe_date",
    # A date with a month name: its column reads Sept and Jan. too (the others do not pay for it).
    "names": sql_and("p_maybe_date AND NOT p_numdate", f"regexp_matches(cur, {_lit(_NAMED_DATE)})"),
    "zoned": sql_and("p_maybe_date AND NOT p_numdate", f"regexp_full_match(cur, {_lit(ZONED)})"),
}
_DATE_CONDITIONS = ("dotted", "ampm", "clock", "short_year", "day_ev", "month_ev")
"""Conditions on numeric dates alone: counted in a second scan of those values, when there are any."""
_BASE_CONDITIONS = tuple(k for k in _CONDITIONS if k not in _DATE_CONDITIONS)
_DIGITS_ONLY = {"nonnull", "int", "us", "eu"}
"""The conditions a value of ASCII digits only meets (``\\d`` is ASCII in RE2), besides
``lead0`` when it starts with 0. Identifier and count columns are mostly digits: they
are counted with one cheap match, and the patterns run on the other values only."""
_DIGITS = "regexp_full_match(cur, '[0-9]+')"


def _candidates(con: duckdb.DuckDBPyConnection, table: str, first: _FirstPass) -> dict[str, int]:
    """Rows (weighted by ``n``) meeting each of :data:`_CONDITIONS`, over non-null ``cur``.

    Values of digits only were counted by ``first``; the patterns run on the
    others, and not at all when there are none (an id or count column).
    """
    out = {k: first.digits if k in _DIGITS_ONLY else 0 for k in _CONDITIONS}
    if first.digits < first.nonnull:
        flags = ", ".join(f"{e} AS p_{k}" for k, e in _PATTERNS.items())
        rest = f"FROM {table} WHERE cur IS NOT NULL AND NOT {_DIGITS}"
        for names in (_BASE_CONDITIONS, _DATE_CONDITIONS):
            sums = ", ".join(f"coalesce(sum(n) FILTER (WHERE {_CONDITIONS[k]}), 0)" for k in names)
            row = con.execute(f"SELECT {sums} FROM (SELECT n, cur, {flags} {rest})").fetchall()[0]
            out.update({k: out[k] + int(v) for k, v in zip(names, row, strict=True)})
            if not out["numdate"]:
                break  # the shapes of numeric dates are counted only in a column that has some
            rest += f" AND {_PATTERNS['numdate']}"
    out["lead0"] += first.lead0
    out["overflow"] += first.overflow
    out["us_huge"] += first.huge
    out["eu_huge"] += first.huge
    return out


MARK_EVIDENCE = 0.05
"""Below this many values that only a decimal comma reads, per value both marks read
differently (``1,234``: 1234 or 1.234), a detected comma gets a note in the report."""


def _as_point_number(text: str, decimal: str) -> str:
    """``text``, a number the pattern of the ``decimal`` mark matched, as Python and DuckDB
    write it: no separators, ``.`` as the mark, ``(x)`` as ``-x`` (what :func:`_number_text`
    does in SQL)."""
    text = text.strip()
    if text.startswith("("):
        text = "-" + text.strip("()")
    text = text.replace(" ", "")
    return text.replace(".", "").replace(",", ".") if decimal == "," else text.replace(",", "")


def _mark_note(con: duckdb.DuckDBPyConnection, table: str, c: dict[str, int], decimal: str) -> str:
    """Why the detected decimal mark may be wrong, or ``""``.

    Values like ``1,234`` or ``1.234`` read 1000 times apart under the two marks.
    When a comma was decided by values only it reads (``12,5``) that are few
    next to those, or when such values point both ways, one typo may have
    decided how every other value reads: the report says so, with an example of
    each, and how to set the mark. A point backed by values only it reads
    (``1,234.5``) and none against is what no evidence would give: no note.
    """
    both = c["both_marks"]
    won, lost = (c["eu_only"], c["us_only"]) if decimal == "," else (c["us_only"], c["eu_only"])
    if both and not won and not lost and decimal == ".":
        return _point_by_default(con, table)
    # With no value for the other mark, '.' is what no evidence at all would give too.
    if not both or not won or (not lost and (decimal == "." or won >= MARK_EVIDENCE * both)):
        return ""
    eu_example, us_example, example = _over_number_texts(
        con,
        table,
        [f"min(cur) FILTER (WHERE {_CONDITIONS[k]})" for k in ("eu_only", "us_only", "both_marks")],
    )
    won_example, lost_example = (eu_example, us_example) if decimal == "," else (us_example, eu_example)
    read = _as_point_number(example, decimal)
    other = "." if decimal == "," else ","
    against = f", against {lost} that only {other!r} reads (such as {lost_example!r})" if lost else ""
    return (
        f"decimal mark {decimal!r} decided by {won} value(s) only it reads (such as {won_example!r}){against}; "
        f"{both} value(s) such as {example!r} read as {read}: if {other!r} is the decimal mark here, "
        f"set the types step's decimal for this column to {other!r}"
    )


def _over_number_texts(con: duckdb.DuckDBPyConnection, table: str, aggregates: list[str]) -> tuple[Any, ...]:
    """``aggregates`` (SQL over ``n``, ``cur`` and the number flags ``p_us``, ``p_eu``) over
    the values of ``table`` that are not digits alone: those a decimal mark can matter to."""
    flags = ", ".join(f"{_PATTERNS[k]} AS p_{k}" for k in ("us", "eu"))
    row = con.execute(
        f"SELECT {', '.join(aggregates)} "
        f"FROM (SELECT n, cur, {flags} FROM {table} WHERE cur IS NOT NULL AND NOT {_DIGITS})"
    ).fetchall()[0]
    return tuple(row)


def _point_by_default(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The note for a point decided by no value at all, when some values have a point a
    thousands separator could be (``1.000``, ``€2.500``: 1.0 and 2.5 by the rule, 1000 and
    2500 as much of Europe writes them), or ``""`` (``1,000`` alone reads 1000 either way
    round that matters)."""
    both = _CONDITIONS["both_marks"]
    count, example = _over_number_texts(
        con,
        table,
        [
            f"coalesce(sum(n) FILTER (WHERE {both} AND contains(cur, '.')), 0)",
            f"min(cur) FILTER (WHERE {both} AND contains(cur, '.'))",
        ],
    )
    if not count:
        return ""
    read = float(_as_point_number(example, "."))
    return (
        f"no value tells the decimal mark, so it is '.': {count} value(s) such as {example!r} read as "
        f"{read}; if '.' separates thousands here, set the types step's decimal for this column to ','"
    )


def _merged_note(con: duckdb.DuckDBPyConnection, table: str, decision: TypeDecision) -> str:
    """A warning when two fractions written differently read as one number, or ``""``.

    ``1.1`` and ``1.10`` are one number, and two versions (or periods: ``2024.1`` and
    ``2024.10``); once converted, rows that differed only there are duplicates, which
    dedupe removes. A trailing zero alone is no sign (prices are written ``1.10``):
    only a number written two ways in the column, both as fractions, gets the warning;
    thousands separators, a ``+``, scientific notation and zero (``-0.0``) are no codes.
    """
    mark = decision.decimal or "."
    parsed = parse_expr(decision)
    # Written alike but for thousands separators or a + (1,000.0 and 1000.0) is one way;
    # scientific notation (1.0e3) and zero (-0.0) are other ways to write a number, not codes.
    plain = f"ltrim(replace(replace({_signed('cur')}, '{',' if mark == '.' else '.'}', ''), ' ', ''), '+')"
    values = (
        f"SELECT cur, plain, p FROM (SELECT cur, {plain} AS plain, {parsed} AS p FROM {table} "
        f"WHERE cur IS NOT NULL AND contains(cur, '{mark}')) WHERE p IS NOT NULL "
        f"AND TRY_CAST(p AS DOUBLE) IS DISTINCT FROM 0 AND NOT regexp_matches(plain, '[eE]')"
    )
    # Texts that are each their number's own text (206.92) cannot share a number with another:
    # the grouping below runs only when some text is not (1.10, 01.1; a DECIMAL's padded scale).
    odd = con.execute(f"SELECT count(*) FROM ({values}) WHERE plain <> CAST(p AS VARCHAR)").fetchall()[0]
    if not odd[0]:
        return ""
    row = con.execute(
        f"SELECT count(*), min_by(texts, p), min(p) FROM (SELECT p, list(DISTINCT cur ORDER BY cur) AS texts "
        f"FROM ({values}) GROUP BY p HAVING count(DISTINCT plain) > 1)"
    ).fetchall()[0]
    count, texts, number = row
    if not count:
        return ""
    shown = " and ".join(repr(t) for t in texts[:3])
    return (
        f"{count} number(s) are written in more than one way, such as {shown} (all read as {number}): "
        "if the column holds versions, codes or periods (2024.1 and 2024.10), set its type to text "
        "to keep them apart; as numbers, rows that differ only there are duplicates"
    )


CURRENCIES = ("$", "€", "£", "¥", "₹")
"""Currency signs a number column may carry (``$4,217.18``, ``1.234,50 €``)."""


def _has_currency(value: str) -> str:
    """SQL: ``value`` holds a currency sign (byte searches: cheap on every row)."""
    return " OR ".join(f"contains({value}, {_lit(c)})" for c in CURRENCIES)


def money_pattern(sign: str) -> str:
    """A number with ``sign`` before it (after an optional minus) or after it, spaced or not."""
    s = re.escape(sign)
    # Digits with marks, or grouped by spaces (1 234,50 €, as French amounts are written).
    n = r"(?:[0-9.,]*[0-9]|[0-9]{1,3}(?: [0-9]{3})+(?:[.,][0-9]+)?)"
    lead = r"(?:[0-9][0-9.,]*|[0-9]{1,3}(?: [0-9]{3})+(?:[.,][0-9]+)?)"
    # In accounting's parentheses too: ($1,234.56), $(1,234.56), (1.234,56 €).
    held = rf"\( ?{s} ?{n}\)|{s} ?\({n}\)|\({lead} ?{s}\)"
    return rf"[+-]? ?{s} ?[+-]?{n}|[+-]?{lead} ?{s}|{held}"


def _without_currency(value: str, sign: str) -> str:
    """SQL: an amount ``value`` (:func:`money_pattern`) without its currency ``sign`` and the
    spaces beside it; any other value as it is, to parse (or fail) as in a plain column:
    ``$12 50`` is no amount and must not become 1250."""
    beside = _lit(r"\s*" + re.escape(sign) + r"\s*")
    return (
        f"CASE WHEN regexp_full_match({value}, {_lit(money_pattern(sign))}) "
        f"THEN regexp_replace({value}, {beside}, '') ELSE {value} END"
    )


@dataclass(frozen=True)
class _Amounts:
    """Of a column's values, those that are amounts with a currency sign."""

    sign: str | None
    """The one sign they carry, or None when they carry two or more."""
    share: float
    """Their share of the non-null values."""
    signs: tuple[str, ...]
    """Every sign the amounts carry, the most used first."""


def number_sum(value: str, weight: str = "n") -> str:
    """An SQL aggregate: the ``weight`` of the rows whose ``value`` is a number as the types
    step reads one under either decimal mark (``1,234.5``, ``1.234,5``, ``1 234``, ``12``).
    The first character rules out most text before any pattern runs."""
    either = f"regexp_full_match({value}, {_lit(_US_NUM)}) OR regexp_full_match({value}, {_lit(_EU_NUM)})"
    looks = f"regexp_matches({value}, '^[-+.,(0-9]')"
    return f"coalesce(sum({weight}) FILTER (WHERE CASE WHEN {looks} THEN {either} ELSE false END), 0)"


def amount_sums(value: str, weight: str = "n") -> list[str]:
    """SQL aggregates, one per sign of :data:`CURRENCIES`: the ``weight`` of the rows whose ``value``
    is an amount in it (:func:`money_pattern`)."""
    return [
        f"coalesce(sum({weight}) FILTER (WHERE regexp_full_match({value}, {_lit(money_pattern(c))})), 0)"
        for c in CURRENCIES
    ]


def _amounts(con: duckdb.DuckDBPyConnection, table: str, first: _FirstPass) -> _Amounts | None:
    """The column's amounts with a currency sign (:data:`CURRENCIES`), or None when fewer than
    half of its values carry one."""
    if not first.nonnull or first.money / first.nonnull < 0.5:
        return None
    row = con.execute(
        f"SELECT {', '.join(amount_sums('cur'))} FROM {table} WHERE cur IS NOT NULL"
    ).fetchall()[0]
    signs = tuple(c for k, c in sorted(zip(row, CURRENCIES, strict=True), key=lambda kc: -kc[0]) if k)
    if not signs:  # signs, but no amounts (€ in a note): no amounts in two currencies either
        return None
    share = sum(row) / first.nonnull
    return _Amounts(signs[0] if len(signs) == 1 else None, share, signs)


def decide_type(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    threshold: float,
    forced: str = "auto",
    dayfirst: bool | None = None,
    decimal: str | None = None,
) -> TypeDecision:
    """Decide the type of the column whose value map is ``table`` (``v, n, cur``).

    Args:
        threshold: minimum share of non-null values that must parse.
        forced: a type from the params (``auto`` = detect, ``text`` = leave).
        dayfirst, decimal: per-column overrides of the detected conventions.

    A forced type is applied whatever its share; its failures are quarantined.
    """
    if forced == "text":
        return TypeDecision("text", 0.0, reason="type forced to text")
    first = _first_pass(con, table)
    money_found = _amounts(con, table, first) if forced in ("auto", "number", "integer") else None
    sign = None
    if money_found is not None and money_found.sign is None and forced == "auto":
        # Two currencies: their amounts do not add up, so the column is no number column.
        shown = " and ".join(money_found.signs)
        return TypeDecision("text", 0.0, reason=f"amounts in more than one currency ({shown}): kept as text")
    if money_found is not None and (money_found.share >= threshold or forced != "auto"):
        # A forced type reads the column's sign off at any share (of two, the most used:
        # amounts in the other fail as any value not of a forced type does).
        sign = money_found.signs[0]
    elif money_found is not None:
        share = money_found.share
        return TypeDecision(
            "text",
            share,
            reason=f"{share:.1%} of non-null values are amounts in {money_found.sign}, below {threshold:.0%}",
        )
    if sign is not None:
        # Amounts with one currency sign ($4,217.18): decided, and parsed, without it.
        plain = f"{table}__amounts"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {plain} AS SELECT * REPLACE ({_without_currency('cur', sign)} AS cur) FROM {table}"
        )
        try:
            money = decide_type(con, plain, threshold=threshold, forced=forced, decimal=decimal)
        finally:
            con.execute(f"DROP VIEW {plain}")
        if money.type in ("integer", "number"):
            money.currency = sign
            money.reason += f", without the currency sign {sign}"
            return money
    if forced == "auto":  # the first pass rules out most text columns before the patterns run
        looks, nonnull = first.looks, first.nonnull
        if nonnull and looks / nonnull < threshold:  # not looks < threshold * nonnull: 0.55 * 100 > 55
            share = looks / nonnull
            return TypeDecision(
                "text",
                share,
                reason=f"{share:.1%} of non-null values look like a number, date or boolean, below {threshold:.0%}",
                codes=first.lead0 > 0,
            )
    c = _candidates(con, table, first)
    nonnull = c["nonnull"]
    if nonnull == 0:
        return TypeDecision("text", 0.0, reason="no non-null values")
    if dayfirst is None:
        # No evidence either way: dots are written day first (15.01.2024, Europe), slashes and
        # dashes month first (the US).
        tie = c["day_ev"] == c["month_ev"]
        dayfirst = c["day_ev"] > c["month_ev"] or (tie and 2 * c["dotted"] > c["numdate"])
    # How dates read, with the formats the column needs (a short list when no value needs more).
    dates = TypeDecision(
        "timestamp",
        0.0,
        dayfirst=dayfirst,
        clock=c["clock"] > 0,
        ampm=c["ampm"] > 0,
        short_year=c["short_year"] > 0,
        names=c["names"] > 0,
    )
    detected = decimal is None
    if decimal is None:
        decimal = "," if c["eu_only"] > c["us_only"] else "."
    # The values the number parse reads: the pattern's, less those past a DOUBLE's range.
    num_count = c["eu"] - c["eu_huge"] if decimal == "," else c["us"] - c["us_huge"]
    frac = c["eu_frac"] if decimal == "," else c["us_frac"]
    candidates: dict[str, int] = {"boolean": c["bool"]}
    whole = frac == 0 and forced != "number"
    # Codes with leading zeros (007, ZIP codes), integers past 64 bits (long ids) and
    # international phone numbers (+442079460958: the + is no sign) stay text.
    kept = (
        "leading zeros"
        if c["lead0"]
        else "more than 64 bits"
        if whole and c["overflow"]
        else "a leading + and 9 to 15 digits (phone numbers?)"
        if c["e164"] and 2 * c["e164"] >= num_count and not c["negative"] and not frac
        else None
    )
    if kept is None or forced in ("integer", "number"):
        candidates["integer" if whole else "number"] = num_count
    elif forced == "auto" and num_count / nonnull >= threshold:
        return TypeDecision(
            "text", num_count / nonnull, reason=f"numbers, but some have {kept}: kept as text (a code or id?)"
        )
    # Date parsing is the costly probe: only when enough values even look like dates.
    if forced == "auto" and c["zoned"] / nonnull >= threshold:
        # Date-times with a UTC offset: no other date reading can reach the threshold then.
        zoned = parse_expr(TypeDecision("timestamptz", 0.0))
        candidates["timestamptz"] = _weighted(con, table, {"ok": f"{zoned} IS NOT NULL"})["ok"]
    elif c["maybe_date"] / nonnull >= threshold or (forced == "date" and c["maybe_date"]):
        ok, timed = _probe_dates(con, table, dates)
        candidates["timestamp" if timed else "date"] = ok
    if forced != "auto":
        name = forced
        # A forced type is the type: values that are not of it (a time of day for a date,
        # a fraction for an integer) fail and are quarantined, nothing is widened.
        if forced == "date" and "timestamp" in candidates:
            # Its own probe: the two-digit years counted are those of values that stay.
            dates = replace(dates, type="date", forced=True, note="", two_digit_years=0)
            candidates["date"], _ = _probe_dates(con, table, dates)
        elif forced == "integer" and frac:
            integer = TypeDecision("integer", 0.0, decimal=decimal, forced=True)
            candidates["integer"] = _weighted(con, table, {"ok": f"{parse_expr(integer)} IS NOT NULL"})["ok"]
        if name == "boolean":  # 1/0 parse too (the candidate count leaves them to numbers)
            parsed = parse_expr(TypeDecision("boolean", 0.0))
            candidates[name] = _weighted(con, table, {"ok": f"{parsed} IS NOT NULL"})["ok"]
        share = candidates.get(name, num_count if name in ("integer", "number") else 0) / nonnull
        decision = TypeDecision(name, share, reason=f"type forced to {forced}", forced=True)
    else:
        name, count = max(candidates.items(), key=lambda kv: (kv[1], kv[0]))
        share = count / nonnull
        if count == 0 or share < threshold:
            return TypeDecision(
                "text",
                share,
                reason=f"best candidate {name} parses {share:.1%} of non-null values, below {threshold:.0%}",
                codes=c["lead0"] > 0,
            )
        decision = TypeDecision(name, share, reason=f"{share:.1%} of non-null values parse as {name}")
    if decision.type in ("date", "timestamp"):
        decision.dayfirst, decision.clock, decision.ampm = dayfirst, dates.clock, dates.ampm
        decision.short_year, decision.two_digit_years = dates.short_year, dates.two_digit_years
        decision.names = dates.names
        decision.note = dates.note
    if decision.type in ("integer", "number"):
        decision.decimal = decimal
        if detected:
            decision.note = _mark_note(con, table, c, decimal)
    if decision.type == "number":
        decision = _exact_number(con, table, decision, nonnull)
        decision.merged = _merged_note(con, table, decision)
    logger.debug("type decision for %s: %s", table, decision)
    return decision


CENTURY_RULE = "00-68 as 2000-2068, 69-99 as 1969-1999"
"""How a two-digit year reads: strptime's ``%y`` in DuckDB, as in Python and POSIX."""


def _probe_dates(con: duckdb.DuckDBPyConnection, table: str, dates: TypeDecision) -> tuple[int, int]:
    """Rows of ``table`` that parse as ``dates`` (a timestamp decision), and rows of them
    with a time of day: one scan, which also counts the rows read with a two-digit year
    into ``dates.two_digit_years`` and says which dates they became in ``dates.note``."""
    aggs = [
        "coalesce(sum(n) FILTER (WHERE p IS NOT NULL), 0)",
        "coalesce(sum(n) FILTER (WHERE p <> date_trunc('day', p)), 0)",
    ]
    if dates.short_year:
        # A year read from four digits is in the text (2024, 0001); one read from two is not.
        short = "p IS NOT NULL AND NOT contains(cur, CAST(year(p) AS VARCHAR))"
        aggs += [f"coalesce(sum(n) FILTER (WHERE {short}), 0)"]
        # The earliest and latest, each with its text (ties on a date go by the text: one example).
        aggs += [f"{f}((p, cur)) FILTER (WHERE {short})" for f in ("min", "max")]
    sql = f"SELECT {', '.join(aggs)} FROM (SELECT n, cur, {parse_expr(dates)} AS p FROM {table} WHERE cur IS NOT NULL)"
    row = con.execute(sql).fetchall()[0]
    if dates.short_year and row[2]:
        dates.two_digit_years = n = int(row[2])
        (first, first_text), (last, last_text) = row[3], row[4]
        read = f"{first_text!r} as {first:%Y-%m-%d}"
        if last_text != first_text:
            read = f"from {read} to {last_text!r} as {last:%Y-%m-%d}"
        dates.note = (
            f"{n} row(s) have a two-digit year, read {CENTURY_RULE} ({read}); if some are earlier "
            "(a birth date 05/03/52 may be 1952), write their years with four digits in the input, "
            "or set the column's type to text"
        )
    return int(row[0]), int(row[1])


def _exact_number(
    con: duckdb.DuckDBPyConnection, table: str, decision: TypeDecision, nonnull: int
) -> TypeDecision:
    """``decision`` (a number column of ``table``, of ``nonnull`` non-null rows) as a type
    that keeps every value exactly.

    DOUBLE when it holds each value that parses; else the narrowest DECIMAL(p, s)
    holding them all; else (more than :data:`~taskq.jobs._numbers.MAX_DECIMAL` digits) text, or for a
    forced number, DOUBLE with the values it would change failing (and not counted in its share).
    """
    _, cleaned = _number_text(decision.decimal, "cur")
    # First, cheaply, among the values long enough to hold more digits than a DOUBLE: any
    # it changes? The bare cast (no number pattern, no test for infinity: each doubled the
    # cost) may count a value that does not parse as a number (1,2345678901234567, 1e999):
    # the second query counts parsed values only.
    long = f"SELECT {cleaned} AS c FROM {table} WHERE cur IS NOT NULL AND {beyond_double('cur')}"
    written = f"SELECT c, CAST(TRY_CAST(c AS DOUBLE) AS VARCHAR) AS w FROM ({long})"
    maybe = con.execute(
        f"SELECT count(*) FILTER (WHERE NOT {same_number('c', 'w')}) FROM ({written}) WHERE w IS NOT NULL"
    ).fetchall()[0][0]
    if not maybe:
        return decision
    parsed = f"SELECT n, {cleaned} AS c, CAST({parse_expr(decision)} AS VARCHAR) AS w FROM {table} WHERE cur IS NOT NULL"
    row = con.execute(
        f"SELECT coalesce(sum(n) FILTER (WHERE NOT {same_number('c', 'w')}), 0), {decimal_digits('h')} "
        f"FROM (SELECT n, c, w, {number_shape('c')} AS h FROM ({parsed}) WHERE w IS NOT NULL)"
    ).fetchall()[0]
    inexact = int(row[0])
    if not inexact:
        return decision
    precision, scale = decimal_size(int(row[1]), int(row[2]))
    many = f"{inexact} row(s) have more significant digits than a DOUBLE holds"
    if precision <= MAX_DECIMAL:
        decision.precision, decision.scale = precision, scale
        decision.reason += f"; {many}: DECIMAL({precision},{scale}) holds every value exactly"
        return decision
    whole = precision - scale
    wide = f"no DECIMAL holds every value ({whole} digits before the point and {scale} after, over {MAX_DECIMAL})"
    if not decision.forced:
        return TypeDecision("text", decision.share, reason=f"numbers, but {many} and {wide}: kept as text")
    decision.exact = True
    # The share counts the rows that parse, as for any type: those fail.
    decision.share = (round(decision.share * nonnull) - inexact) / nonnull
    decision.reason += f"; {many} and {wide}: those fail"
    return decision
