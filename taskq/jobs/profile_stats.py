"""The SQL behind profile-my-data: per-column statistics in a few DuckDB passes.

Each column is read from the loaded table once: :func:`column_values` groups
it into its exact value counts (the temporary table ``_profile_g (v, n)``)
and everything else about the column comes from those counts: the distinct
count, the top values, the text counts (empty / whitespace-only / placeholder
strings and string lengths in Unicode code points, as sums weighted by
``n``), the type inference of text columns (how many values parse as integer
/ float / boolean / date / timestamp), the shape patterns and the PII hints. The caller then takes the
numeric or temporal statistics from the same counts
(:mod:`taskq.jobs.profile_numeric`) before the next column replaces them; for a
text column, over the values :func:`valid_values` keeps, by the same rule that
counted them as parsing.
Working on distinct values with their counts keeps regular-expression and
cast work proportional to the cardinality, not the row count; above
:data:`PATTERN_SAMPLE` distinct values, patterns and PII hints come from a
sample of them (:func:`_draw`: the most frequent values, plus a seeded sample
of the rest, scaled; marked ``sampled``). Type parse counts are exact.

Across columns: :func:`approx_distinct` (HyperLogLog counts, when asked) and
:func:`duplicate_rows` (one hash per row; exact confirmation only when hashes
repeat).
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb

from ._placeholders import PLACEHOLDERS, placeholder_sql, whitespace_sql
from ._table import INTEGER_TYPES, quote_ident
from ._table import sql_literal as _lit
from .clean_params import DEFAULTS
from .clean_types import CURRENCIES, ZONED, amount_sums, number_sum, zoned_parse

__all__ = [
    "PATTERN_SAMPLE",
    "PLACEHOLDERS",
    "approx_distinct",
    "collapse_shape",
    "column_values",
    "duplicate_rows",
    "present_sql",
    "release",
    "shape",
    "valid_values",
]

logger = logging.getLogger(__name__)

PATTERN_SAMPLE = 20_000

_TEXT_TYPES = ("VARCHAR",)
_CASTS = (
    ("integer", "HUGEINT"),  # 20-digit ids past BIGINT are integers too
    ("float", "DOUBLE"),
    ("boolean", "BOOLEAN"),
    ("date", "DATE"),
    ("timestamp", "TIMESTAMP"),
)


def _typed(name: str, sql_type: str, v: str = "v") -> str:
    """SQL: the text ``v`` as a value of ``sql_type``, or NULL when it is none; the one
    rule of what parses as each type, for the inference counts and for the statistics.

    An integer is any that fits a HUGEINT (20-digit ids past BIGINT included).
    DuckDB casts ``'1.5'`` to the integer 2 (it rounds), so an integer must also
    have no decimal point or exponent (nor the hex, binary and ``_``-grouped
    forms DuckDB accepts, which are not numbers in a file); a float no ``_``
    group either; and DuckDB casts ``'2024-01-31 10:00'`` to the DATE
    2024-01-31 (it drops the time), so a date must have no time of day.

    A timestamp is its UTC instant, as a TIMESTAMP: DuckDB's cast to TIMESTAMP drops
    a UTC offset (``05:00+05:00`` read as 05:00 UTC), so a value with one is read by
    clean-my-data's rule (:data:`taskq.jobs.clean_types.ZONED`: ``Z``, ``UTC``,
    ``+05:00``, ``+0500``, ``-05`` after a time of day, never the ``-05`` of
    ``2024-01-05``), which is what clean writes for it; any other text through a
    TIMESTAMPTZ cast in UTC, which keeps a naive value's clock as it is and reads the
    zone DuckDB knows in one (``Europe/Paris``, ``+05:30:00``) rather than dropping it."""
    if name == "timestamp":
        t = f"trim({v})"
        zoned = f"CASE WHEN contains({v}, ':') THEN regexp_full_match({t}, {_lit(ZONED)}) ELSE false END"
        return (
            f"(CASE WHEN {zoned} THEN timezone('UTC', {zoned_parse(t)}) "
            f"ELSE timezone('UTC', TRY_CAST({t} AS TIMESTAMPTZ)) END)"
        )
    cast = f"TRY_CAST(trim({v}) AS {sql_type})"
    if name == "integer":  # nor hex (0x1F), binary (0b101) or digit groups (1_000), which DuckDB casts too
        return f"(CASE WHEN regexp_matches({v}, '[.eExXbB_]') THEN NULL ELSE {cast} END)"
    if name == "float":
        return f"(CASE WHEN contains({v}, '_') THEN NULL ELSE {cast} END)"
    if name == "date":
        return f"(CASE WHEN contains({v}, ':') THEN NULL ELSE {cast} END)"
    return cast


def _parses_as(name: str, sql_type: str) -> str:
    """SQL: the text ``v`` is a value of ``sql_type`` (:func:`_typed`)."""
    return f"({_typed(name, sql_type)} IS NOT NULL)"


def valid_values(inferred_type: str, v: str = "v") -> tuple[str, str]:
    """``(SQL over the text v, its SQL type)``: the value of ``v`` as ``inferred_type``
    (``integer``, ``float``, ``boolean``, ``date``, ``timestamp``), or NULL when ``v`` is
    not one of the values that count as valid for it: a present value (:func:`present_sql`)
    that parses by the inference rule (:func:`_typed`). ``1_000``, ``1e3`` and ``2.5`` are
    invalid in a column inferred integer, so they are no part of its statistics either.
    """
    sql_type = dict(_CASTS)[inferred_type]
    return f"(CASE WHEN {present_sql(v)} THEN {_typed(inferred_type, sql_type, v)} END)", sql_type


def present_sql(s: str) -> str:
    """SQL: the text value ``s`` is a real value (not blank, not a placeholder)."""
    return f"({s} <> '' AND NOT {whitespace_sql(s)} AND NOT {placeholder_sql(s)})"


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    rows = con.execute(sql).fetchall()
    return rows[0]


def approx_distinct(con: duckdb.DuckDBPyConnection, data: str, columns: list[str]) -> dict[str, int]:
    """HyperLogLog distinct counts for ``columns`` in one pass (about 2 % relative error)."""
    exprs = ", ".join(f"approx_count_distinct({quote_ident(c)})" for c in columns)
    return {c: int(n) for c, n in zip(columns, _one(con, f"SELECT {exprs} FROM {data}"), strict=True)}


def _luhn_sql(d: str) -> str:
    """SQL: the digit string ``d`` passes the Luhn check."""
    digit = f"coalesce(TRY_CAST(reverse({d})[i + 1] AS INTEGER), 0)"
    return (
        f"list_sum(list_transform(range(length({d})), lambda i: CASE WHEN i % 2 = 1 "
        f"THEN CASE WHEN {digit} * 2 > 9 THEN {digit} * 2 - 9 ELSE {digit} * 2 END "
        f"ELSE {digit} END)) % 10 = 0"
    )


def _gtin_sql(d: str) -> str:
    """SQL: the digit string ``d`` passes the GTIN (UPC, EAN) check: its digits from the
    right weighted 1, 3, 1, 3... sum to a multiple of 10."""
    digit = f"coalesce(TRY_CAST(reverse({d})[i + 1] AS INTEGER), 0)"
    return f"list_sum(list_transform(range(length({d})), lambda i: {digit} * (1 + 2 * (i % 2)))) % 10 = 0"


class _Shapes(dict[int, int]):
    """``str.translate`` table for :func:`shape`, filled in as characters are met: a
    letter of any script -> ``A`` (upper case) or ``a`` (lower case, or a script
    without case), a decimal digit of any script -> ``9``, anything else itself."""

    def __missing__(self, code: int) -> int:
        ch = chr(code)
        out = "A" if ch.isupper() else "a" if ch.isalpha() else "9" if ch.isdecimal() else ch
        self[code] = ord(out)
        return self[code]


_SHAPES = _Shapes()


def shape(value: str) -> str:
    """The shape of ``value``: letters -> ``A``/``a``, digits -> ``9`` (any script; see :class:`_Shapes`).

    Done in Python on the (at most :data:`PATTERN_SAMPLE`) sampled values:
    ``str.translate`` is several times cheaper than DuckDB's ``translate``.
    """
    return value.translate(_SHAPES)


def collapse_shape(pattern: str) -> str:
    """``Aaaa 99-9999`` -> ``Aa 9-9``: runs of the same shape character collapsed."""
    out: list[str] = []
    for ch in pattern:
        if not out or ch != out[-1] or ch not in "Aa9":
            out.append(ch)
    return "".join(out)


SHOWN_CHARS = 200
"""Longer top values and patterns are cut to this many characters in the profile (marked)."""


def _shown(value: str) -> dict[str, Any]:
    """``{"value": value}``, or its first :data:`SHOWN_CHARS` characters with ``truncated``
    and the full ``length``: a profile lists values, it does not copy megabyte cells."""
    if len(value) <= SHOWN_CHARS:
        return {"value": value}
    return {"value": value[:SHOWN_CHARS], "truncated": True, "length": len(value)}


def _patterns(con: duckdb.DuckDBPyConnection, top_k: int, weight: str) -> tuple[list[dict[str, Any]], float]:
    """The ``top_k`` most common shapes of the values in ``_profile_s`` (ties by shape),
    each value counting ``weight`` (see :func:`_draw`), and the share of values with
    the most common collapsed shape (:func:`collapse_shape`) over all of them, whatever ``top_k``."""
    counts: dict[str, float] = {}
    for v, w in con.execute(f"SELECT v, {weight} FROM _profile_s").fetchall():
        p = shape(v)
        counts[p] = counts.get(p, 0.0) + float(w)
    collapsed: dict[str, float] = {}
    for p, n in counts.items():
        key = collapse_shape(p)
        collapsed[key] = collapsed.get(key, 0.0) + n
    total = sum(counts.values())
    share = max(collapsed.values(), default=0) / total if total else 1.0
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
    listed = []
    for p, n in top:
        cut = _shown(p)
        listed.append({"pattern": cut.pop("value"), **cut, "count": round(n)})
    return listed, share


def _digits(s: str) -> str:
    """SQL: how many ASCII digits ``s`` holds."""
    return f"(strlen({s}) - strlen(translate({s}, '0123456789', '')))"


def _parses(
    con: duckdb.DuckDBPyConnection, screened: dict[str, int], total: int, sampled: bool
) -> dict[str, int]:
    """Present values parsing as each candidate type: screened on the sample, counted exactly.

    ``screened`` holds the counts over ``_profile_s`` (``total`` present values);
    without sampling they are the answer. With sampling, a type that fewer than
    half the sampled values parse as cannot reach the inference threshold, so
    its exact count (a cast of every distinct value) is skipped and reported as 0.
    """
    if not sampled:
        return screened
    keep = [(name, t) for name, t in _CASTS if total and screened[name] / total >= 0.5]
    out = dict.fromkeys(screened, 0)
    if keep:
        exact = ", ".join(f"coalesce(sum(n) FILTER ({_parses_as(name, t)}), 0)" for name, t in keep)
        row = _one(con, f"SELECT {exact} FROM _profile_g WHERE v IS NOT NULL AND {present_sql('v')}")
        out.update({name: int(k) for (name, _), k in zip(keep, row, strict=True)})
    return out


_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_NOT_PHONE = "|".join(
    (
        # a date, day or year first, with a time of day written with dots: 15.01.2024 10.30
        r"([0-9]{4}[/.-][0-9]{1,2}[/.-][0-9]{1,2}|[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2,4})"
        r"( [0-9]{1,2}\.[0-9]{2}(\.[0-9]{2})?)?",
        r"[0-9]+\.[0-9]+",  # a decimal number: 1234567.89
        r"[0-9]{1,3}( [0-9]{3})+\.[0-9]+",  # an amount in groups of three: 100 000.50
        r"[0-9]{1,3}(\.[0-9]{3}){2,}",  # an integer in groups of three: 1.234.567
        rf"{_OCTET}(\.{_OCTET}){{3}}",  # an IPv4 address, or a version such as 10.2.0.17
        r"(97[89][- ])?[0-9]{1,5}[- ][0-9]{1,7}[- ][0-9]{1,7}[- ][0-9]",  # an ISBN: 978-3-16-148410-0
        r"[0-9]{3}-[0-9]{2}-[0-9]{4}",  # a US SSN (its own hint)
        r"[0-9]{7,9}",  # 7-9 bare digits: order numbers and other ids
        r"[0-9]{5}-[0-9]{4}",  # a US ZIP+4 code: 94105-1234
        r"(1[89]|20)[0-9]{2}( ?- ?(1[89]|20)[0-9]{2})+",  # years: 2019-2020, 2000 - 2001
        # opening hours, from a clock time before 20:00: 0700-1600, 1000 - 2200 (see _pii_sql)
        r"[01][0-9][0-5][0-9] ?- ?([01][0-9]|2[0-3])[0-5][0-9]",
        r"\((1[89]|20)[0-9]{2}\) ?[0-9]+",  # a year in parentheses and a number: (2024) 1234
        # a date year first with spaces, and a compact date-time: 2024 01 15, 20240115103000
        r"(1[89]|20)[0-9]{2} (0[1-9]|1[0-2]) (0[1-9]|[12][0-9]|3[01])",
        # a date and a time of day run together: 20240115103000, 20240101-000000, 20240101T000000
        r"(1[89]|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[-_T ]?([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]",
        r"97[89][0-9]{10}",  # an ISBN-13 without hyphens (978 and 979 are no country codes)
        r"[1-9][0-9](\.[0-9]{2}){3,}",  # pairs of digits with dots, not a 0 first as a French number has
    )
)
"""What a phone-shaped value is not (``regexp_full_match``): the numbers, dates, addresses
and codes whose digits and separators a phone number also uses. A comma is no phone
separator, so ``1234567,89`` and ``1,234,567`` never look like one."""


def _pii_sql(weight: str = "n") -> dict[str, str]:
    """SQL aggregates over ``_profile_s`` by name: values that look like e-mail, phone, card,
    national id (:data:`_PII_KINDS`), and ``card_candidates`` (13-19 digits, not all one
    digit: the values the Luhn check ran on).
    Each value counts ``weight`` (an SQL expression; its row count by default).

    A phone is 7-15 digits with an optional ``+`` and spaces, dots, dashes or parentheses
    (``+1 415 555 0100``, ``(415) 555-0100``, ``415.555.0100``, ``030 1234567``,
    ``(+44) 7911 123456``), unless it
    is one of :data:`_NOT_PHONE`. Digits in groups of three with no decimals
    (``612 345 678``) stay phone-like: that is how Spanish numbers are written.

    Nor is a product code: 12 bare digits with a 0 first that pass the UPC-A check digit
    (``010450060554``; :func:`_gtin_sql`). A phone number so written passes it one time in ten.
    ``0700-1600`` (two clock times, the first before 20:00) is opening hours, not an 8-digit
    phone: the 8-digit numbers written so (Hong Kong, Singapore, Norway, Denmark) begin with
    2-9, and the few ``2xxx-xxxx`` that are also two clock times (``2200-0600``, which may be
    night hours) stay phone-like, since a hint missed costs more than one to dismiss.

    Each regular expression sits behind a cheap length test and then a digit
    count, in nested CASEs (DuckDB evaluates both sides of an AND), so it only
    runs on the few values that could match.
    """
    digits = "regexp_replace(trim(v), '[ -]', '', 'g')"

    def card(then: str) -> str:  # ``then`` on 13-19 digits (spaces, dashes) not all the same
        return f"""CASE WHEN strlen(v) BETWEEN 13 AND 25 THEN
            CASE WHEN {_digits("v")} BETWEEN 13 AND 19
            THEN CASE WHEN regexp_full_match({digits}, '[0-9]{{13,19}}')
                      AND strlen(replace({digits}, left({digits}, 1), '')) > 0 THEN {then} ELSE false END
            ELSE false END ELSE false END"""

    return {
        "email": f"""coalesce(sum({weight}) FILTER (CASE WHEN contains(v, '@') THEN regexp_full_match(trim(v),
            '[A-Za-z0-9._%+''-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{{2,}}') ELSE false END), 0)""",
        "phone": f"""coalesce(sum({weight}) FILTER (CASE WHEN strlen(v) BETWEEN 7 AND 25 THEN
            CASE WHEN {_digits("v")} BETWEEN 7 AND 15
            THEN regexp_full_match(trim(v), '(\\+?\\(?|\\(\\+)[0-9][0-9 ().-]{{5,18}}[0-9]')
             AND NOT regexp_full_match(trim(v), '{_NOT_PHONE}')
             AND NOT (CASE WHEN regexp_full_match(trim(v), '0[0-9]{{11}}') THEN {_gtin_sql("trim(v)")} ELSE false END)
            ELSE false END ELSE false END), 0)""",
        "card": f"coalesce(sum({weight}) FILTER ({card(_luhn_sql(digits))}), 0)",
        "national_id": f"""coalesce(sum({weight}) FILTER (CASE WHEN strlen(trim(v)) = 11 THEN CASE WHEN {_digits("v")} = 9
            THEN regexp_full_match(trim(v), '[0-8][0-9]{{2}}-[0-9]{{2}}-[0-9]{{4}}')
             AND NOT starts_with(trim(v), '000') AND NOT starts_with(trim(v), '666')
            ELSE false END ELSE false END), 0)""",
        "card_candidates": f"coalesce(sum({weight}) FILTER ({card('true')}), 0)",
    }


_PII_KINDS = ("email", "phone", "card", "national_id")


def _draw(
    con: duckdb.DuckDBPyConnection, source: str, count: int, total: int, keep_if: str = "true"
) -> tuple[bool, str]:
    """Fill ``_profile_s (v, n, heavy)`` from ``source`` (a cheap query of value counts
    ``v, n`` with ``count`` rows): all of it when ``count`` is at most
    :data:`PATTERN_SAMPLE`, else a sample; only rows meeting ``keep_if`` (SQL on
    ``v``, evaluated on the sample alone) are kept, and they stand for ``total`` rows.

    The sample is stratified: the ``PATTERN_SAMPLE // 2`` most frequent values
    are all kept (``heavy``) and stand for themselves; the rest are a
    deterministic hash sample (parallel and cheap, unlike a reservoir), scaled
    up to the rows they stand for. A value that fills most of the column is
    never left out, and never stands for values unlike it.

    Returns:
        (sampled, weight): ``weight`` is the SQL for the rows a ``_profile_s``
        row stands for; sums of it estimate sums over ``source`` where ``keep_if``.
    """
    sampled = count > PATTERN_SAMPLE
    heavy, keep = "true", "true"
    if sampled:
        half = PATTERN_SAMPLE // 2
        cut, rest = 1, count  # every value once (a key): nothing to keep whole
        if _one(con, f"SELECT max(n) > 1 FROM ({source})")[0]:
            cut, rest = _one(
                con,
                f"""SELECT t.n, (SELECT count(*) FROM ({source}) s WHERE s.n <= t.n)
                    FROM (SELECT n FROM ({source}) ORDER BY n DESC LIMIT 1 OFFSET {half}) t""",
            )
        heavy = f"n > {int(cut)}"
        keep = f"({heavy} OR hash(v) % 1000000 < {int(1_000_000 * half / max(int(rest), 1))})"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _profile_s AS SELECT v, n, heavy FROM "
        f"(SELECT v, n, {heavy} AS heavy FROM ({source}) WHERE {keep}) WHERE {keep_if}"
    )
    exact, drawn = _one(
        con,
        "SELECT coalesce(sum(n) FILTER (heavy), 0), coalesce(sum(n) FILTER (NOT heavy), 0) FROM _profile_s",
    )
    scale = (total - int(exact)) / int(drawn) if drawn else 0.0
    return sampled, f"(n * CASE WHEN heavy THEN 1.0 ELSE {scale!r} END)"


def column_values(con: duckdb.DuckDBPyConnection, values: str, dtype: str, top_k: int) -> dict[str, Any]:
    """Pass for one column: counts, distinct, top values and, for text, inference, patterns, PII.

    ``values`` is a query giving the column as ``v`` (:meth:`taskq.jobs._table.Table.column_query`).
    Text counts (empty, whitespace-only, placeholders, lengths) are weighted sums
    over the distinct values, so they cost one pass over the column.
    """
    text = dtype in _TEXT_TYPES
    # Drop the previous column's counts first: replacing would hold both at the peak.
    con.execute("DROP TABLE IF EXISTS _profile_s")
    con.execute("DROP TABLE IF EXISTS _profile_g")
    con.execute(f"CREATE TEMP TABLE _profile_g AS SELECT v, count(*) AS n FROM ({values}) GROUP BY 1")
    extra = ""
    if text:
        # Leading zeros: a column of codes (zip codes, "007") that a number would change.
        extra = f""",
            coalesce(sum(n) FILTER (v = ''), 0), coalesce(sum(n) FILTER ({whitespace_sql("v")}), 0),
            coalesce(sum(n) FILTER ({placeholder_sql("v")}), 0),
            min(length(v)), max(length(v)), sum(length(v) * n),
            coalesce(sum(n) FILTER (CASE WHEN starts_with(v, '0') THEN regexp_full_match(v, '0[0-9]+')
                                    ELSE false END), 0)"""
    elif dtype in ("FLOAT", "DOUBLE"):
        # NaN is how pandas and numpy write a missing number: a placeholder, as the text "NaN" is.
        extra = ", coalesce(sum(n) FILTER (isnan(v)), 0)"
    distinct, singletons, non_null, *counts = _one(
        con,
        f"""SELECT count(v), count(*) FILTER (n = 1 AND v IS NOT NULL),
                   coalesce(sum(n) FILTER (v IS NOT NULL), 0){extra}
            FROM _profile_g""",
    )
    out: dict[str, Any] = {
        "non_null": int(non_null),
        "empty": 0,
        "whitespace": 0,
        "placeholders": 0,
        "distinct": int(distinct),
        "distinct_approx": False,
        "singletons": int(singletons),
    }
    out["top_values"] = [
        {**_shown(v), "count": int(n)}
        for v, n in con.execute(
            f"SELECT CAST(v AS VARCHAR), n FROM _profile_g WHERE v IS NOT NULL ORDER BY n DESC, v LIMIT {top_k}"
        ).fetchall()
    ]
    if counts and not text:  # a float column's NaN
        out["placeholders"] = int(counts[0])
        out["present"] = out["non_null"] - out["placeholders"]
    if dtype in INTEGER_TYPES:
        # Card numbers stored as numbers: 13 to 19 digits. (Phone-like digit counts are
        # left alone here: epoch seconds and most ids have 10 digits.)
        big = f"v >= {10**12}"
        count, total = _one(con, f"SELECT count(*), coalesce(sum(n), 0) FROM _profile_g WHERE {big}")
        _, weight = _draw(
            con, f"SELECT CAST(v AS VARCHAR) AS v, n FROM _profile_g WHERE {big}", int(count), int(total)
        )
        sums = _pii_sql(weight)
        card, candidates = _one(con, f"SELECT {sums['card']}, {sums['card_candidates']} FROM _profile_s")
        out.update(pii={"card": round(float(card))}, card_candidates=round(float(candidates)))
        return out
    if not text:
        return out
    empty, blank, placeholders, lo, hi, total_len, zeros = counts
    out.update(empty=int(empty), whitespace=int(blank), placeholders=int(placeholders), length=None)
    out["leading_zeros"] = int(zeros)
    if non_null:
        out["length"] = {"min": int(lo), "max": int(hi), "mean": round(float(total_len) / int(non_null), 2)}
    out["present"] = out["non_null"] - out["empty"] - out["whitespace"] - out["placeholders"]
    values = "SELECT v, n FROM _profile_g WHERE v IS NOT NULL"
    sampled, weight = _draw(con, values, out["distinct"], out["present"], present_sql("v"))
    # One pass over the sample: the type screens, the PII hints.
    casts = [f"coalesce(sum({weight}) FILTER ({_parses_as(name, t)}), 0)" for name, t in _CASTS]
    pii_sql = _pii_sql(weight)
    # Amounts with a currency sign ($4,217.18), which clean-my-data reads as numbers.
    money = amount_sums("trim(v)", weight)
    # Numbers with thousands separators or a decimal comma (1.234,5), which it reads too.
    written = number_sum("trim(v)", weight)
    *found, numbers = _one(
        con, f"SELECT {', '.join([*casts, *pii_sql.values(), *money, written])} FROM _profile_s"
    )
    counts = [float(x) for x in found[len(found) - len(money) :]]
    amounts, sign = max(zip(counts, CURRENCIES, strict=True))
    # One sign on as many values as clean-my-data's types step needs by default (two signs: text there).
    threshold = DEFAULTS["types"]["threshold"]
    if out["present"] and amounts / out["present"] >= threshold and sum(map(bool, counts)) == 1:
        out["amounts"] = {"currency": sign, "share": round(amounts / out["present"], 4)}
    if out["present"] and float(numbers) / out["present"] >= threshold:
        out["written_numbers"] = round(float(numbers) / out["present"], 4)
    found = found[: len(found) - len(money)]
    screened = {name: round(float(k)) for (name, _), k in zip(_CASTS, found[: len(_CASTS)], strict=True)}
    out["parses"] = _parses(con, screened, out["present"], sampled)
    out["patterns"], out["shape_share"] = _patterns(con, top_k, weight)
    pii = {k: round(float(n)) for k, n in zip(pii_sql, found[len(_CASTS) :], strict=True)}
    out["pii"] = {k: pii[k] for k in _PII_KINDS}
    out["card_candidates"] = pii["card_candidates"]
    out["patterns_sampled"] = sampled
    return out


def release(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temporary tables :func:`column_values` leaves behind (the last column's counts)."""
    con.execute("DROP TABLE IF EXISTS _profile_s")
    con.execute("DROP TABLE IF EXISTS _profile_g")


def duplicate_rows(con: duckdb.DuckDBPyConnection, data: str, columns: list[str]) -> int:
    """Rows identical in every column to an earlier row; exact.

    One pass hashes every row and keeps the hashes that repeat. None repeat:
    no two rows are equal, 0. Otherwise only the rows holding a repeated hash
    are compared value by value (``SELECT DISTINCT``, NULLs equal), so a
    64-bit hash collision is never counted as a duplicate.
    """
    cols = ", ".join(quote_ident(c) for c in columns)
    h = f"hash({cols})"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _profile_h AS SELECT h FROM (SELECT {h} AS h FROM {data}) "
        f"GROUP BY h HAVING count(*) > 1"
    )
    try:
        if not _one(con, "SELECT count(*) FROM _profile_h")[0]:
            return 0
        rows, distinct = _one(
            con,
            f"""WITH c AS MATERIALIZED (SELECT {cols} FROM {data} WHERE {h} IN (SELECT h FROM _profile_h))
                SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM (SELECT DISTINCT * FROM c))""",
        )
        return int(rows) - int(distinct)
    finally:
        con.execute("DROP TABLE IF EXISTS _profile_h")
