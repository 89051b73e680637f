"""Phone numbers for clean-my-data's standardise step, as E.164.

:func:`e164` is the reference: ``phonenumbers`` parses and validates one value.
It costs tens of microseconds a value, so a column of a million distinct
numbers would take most of a minute in Python. :func:`phone_query` therefore
handles the commonest shape, North American (NANP, country code 1) ten-digit
numbers, in SQL, and calls :func:`e164` only for every other value.

The SQL is built at run time from ``phonenumbers``' own metadata, and follows
its code path for those values exactly:

* ``+1`` then ten digits whose first is 2-9 (at most 250 characters), or (when the default region is a
  NANP region that parses like the US: national prefix ``1``, international
  prefix ``011``) just those ten digits, optionally after a ``1``;
  separators only among space, ``.``, ``-``, ``(`` and ``)``. For these
  ``phonenumbers.parse`` finds no extension and no international prefix,
  drops the separators, takes the ``+1`` or (eleven digits being too long for
  the region) the leading ``1`` as country code 1, and the national number
  is the ten digits.
* ``is_valid_number`` then picks the region as ``phonenumbers`` does (the
  first of the NANP regions whose leading digits match, or, for a region
  without leading digits, whose number patterns match) and checks the
  number's patterns for that region: general description and any one type.

Everything else (other countries, extensions, letters, ``+1 1...``, other
prefixes...) goes to :func:`e164`. ``tests/unit/jobs/test_clean_phones.py``
compares the two on many numbers.
"""

from __future__ import annotations

import functools
import logging
import weakref
from collections.abc import Callable
from typing import Any, cast

import duckdb
import phonenumbers
from duckdb.func import FunctionNullHandling
from phonenumbers.phonemetadata import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from ._table import sql_and
from ._table import sql_literal as _lit

__all__ = ["e164", "nanp_sql", "phone_helpers", "phone_query", "phone_table"]

logger = logging.getLogger(__name__)

_UDF = "taskq_clean_e164"
_NANP_LENGTH = 10
_MAX_INPUT = 250
"""``phonenumbers`` refuses longer input outright."""
_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)


def e164(value: str | None, region: str) -> str | None:
    """``value`` as an E.164 phone number, or None if it is not a valid number.

    ``region`` is the ISO 3166 code assumed for numbers written without a
    leading ``+`` country code. E.164 has no extensions; one in the input
    (``x12``, ``ext. 12``) is kept as RFC 3966 writes it: ``+12025550143;ext=12``.
    """
    if value is None:
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{formatted};ext={number.extension}" if number.extension else formatted


def _desc_pattern(desc: Any) -> str | None:
    """The pattern ``phonenumberutil._is_number_matching_desc`` applies to a ten-digit
    number, or None when it cannot match one (no pattern, or another length)."""
    if desc is None or not desc.national_number_pattern:
        return None
    if len(desc.possible_length) > 0 and _NANP_LENGTH not in desc.possible_length:
        return None
    return str(desc.national_number_pattern)


_NSN_SHAPE = r"[2-9]\d{9}"
"""What every national number the fast path passes on looks like (:func:`_fast_pattern`)."""


def _alternatives(pattern: str) -> list[str]:
    """``pattern`` split at its top-level ``|`` (outside groups and character classes)."""
    parts, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*parts, pattern[start:]]


def _any(conds: list[str]) -> str:
    """``c1 OR c2 OR ...`` as a condition, each evaluated only where the earlier ones failed
    (a CASE, for the reason :func:`taskq.jobs._table.sql_and` gives)."""
    out = "false"
    for cond in reversed(conds):
        out = f"(CASE WHEN {cond} THEN true ELSE {out} END)"
    return out


def _known_type_sql(meta: Any, x: str) -> str:
    """SQL for ``_number_type_helper(x, meta) != UNKNOWN`` on a fast-path national number
    ``x``: the general description and any one type's pattern (one alternation, so one
    regex pass).

    A general description with :data:`_NSN_SHAPE` as a whole alternative (the US one)
    matches every such ``x``: it is not tested. The regex calls, not the patterns' size,
    are what a million numbers cost.
    """
    descs = [getattr(meta, name) for name in _TYPE_DESCS]
    if not meta.same_mobile_and_fixed_line_pattern:
        descs.append(meta.mobile)
    general = _desc_pattern(meta.general_desc)
    types = [p for p in map(_desc_pattern, descs) if p is not None]
    if general is None or not types:
        return "false"
    either = f"regexp_full_match({x}, {_lit('|'.join(f'(?:{p})' for p in types))})"
    if _NSN_SHAPE in _alternatives(general):
        return either
    return sql_and(f"regexp_full_match({x}, {_lit(general)})", either)


def _valid_sql(x: str) -> str:
    """SQL for ``is_valid_number`` of +1 ``x`` (ten digits): region choice, then its patterns.

    ``_region_code_for_number_from_list`` takes the first NANP region whose
    leading digits match the number, or, for a region without leading digits,
    whose patterns match it. When no region's leading digits match (most
    numbers), only the regions without leading digits can be chosen, so the
    number is valid when one of them knows it: that shortcut skips two dozen
    prefix tests per value.
    """
    whens, leading, plain = [], [], []
    for region in COUNTRY_CODE_TO_REGION_CODE[1]:
        meta = PhoneMetadata.metadata_for_region(region, None)
        if meta is None:
            continue
        if meta.leading_digits is not None:
            leading.append(f"(?:{meta.leading_digits})")
            prefix = _lit("^(?:" + meta.leading_digits + ")")
            whens.append(f"WHEN regexp_matches({x}, {prefix}) THEN {_known_type_sql(meta, x)}")
        else:
            plain.append(_known_type_sql(meta, x))
            whens.append(f"WHEN {plain[-1]} THEN true")
    chain = f"(CASE {' '.join(whens)} ELSE false END)"
    if not leading:
        return chain
    none_leading = f"NOT regexp_matches({x}, {_lit('^(?:' + '|'.join(leading) + ')')})"
    return f"(CASE WHEN {none_leading} THEN {_any(plain)} ELSE {chain} END)"


def _parses_like_us(region: str) -> bool:
    meta = PhoneMetadata.metadata_for_region(region.upper(), None)
    return (
        meta is not None
        and meta.country_code == 1
        and meta.international_prefix == "011"
        and meta.national_prefix_for_parsing == "1"
        and meta.national_prefix_transform_rule is None
    )


def _trunk_one_is_country_code(region: str) -> bool:
    """Whether ``phonenumbers`` reads a leading ``1`` before ten digits as the country code.

    ``_maybe_extract_country_code`` strips the region's country code from a number
    without ``+`` when the whole number is too long for the region (or only the
    rest matches its general pattern); eleven digits are too long when the
    region's longest possible length is shorter.
    """
    meta = PhoneMetadata.metadata_for_region(region.upper(), None)
    general = meta.general_desc if meta is not None else None
    lengths = list(general.possible_length) if general is not None else []
    return _parses_like_us(region) and bool(lengths) and max(lengths) < _NANP_LENGTH + 1


_SEPARATORS = " .()-"
"""The characters the fast path allows between digits (and ``+`` before the ``1``)."""


def _digits(x: str) -> str:
    """SQL for the digits of ``x`` when it matches :func:`_fast_pattern`: its only other
    characters are separators and ``+``, dropped with ``replace`` (cheaper than a regex)."""
    for char in _SEPARATORS + "+":
        x = f"replace({x}, {_lit(char)}, '')"
    return x


def _fast_pattern(region: str) -> str:
    """The shapes the fast path decides: +1 and ten digits, or (US-like region) ten digits,
    optionally after a ``1`` (``1-305-...``, ``1 (305) ...``)."""
    sep = f"[{_SEPARATORS}]*"  # "-" last: a literal in the class
    plus = f"\\+{sep}1{sep}[2-9](?:{sep}[0-9]){{9}}{sep}"
    if not _parses_like_us(region):
        return plus
    one = f"(?:1{sep})?" if _trunk_one_is_country_code(region) else ""
    local = f"{sep}{one}[2-9](?:{sep}[0-9]){{9}}{sep}"
    return f"{plus}|{local}"


def _nanp_columns(source: str, region: str) -> str | None:
    """``source`` (a query with a VARCHAR column ``cur``) with ``__fast`` (the fast
    path decides ``cur``), ``__nsn`` and ``__e164`` (NULL when invalid) added."""
    if not _parses_like_us("US"):  # the metadata any +1 number is parsed with
        return None
    pattern = _fast_pattern(region)
    checked = (
        f"SELECT *, CASE WHEN __fast THEN right({_digits('cur')}, {_NANP_LENGTH}) END "
        f"AS __nsn FROM (SELECT *, strlen(cur) <= {_MAX_INPUT} AND regexp_full_match(cur, {_lit(pattern)}) "
        f"AS __fast FROM ({source}))"
    )
    return f"SELECT *, CASE WHEN __fast AND {_valid_sql('__nsn')} THEN '+1' || __nsn END AS __e164 FROM ({checked})"


def nanp_sql(source: str, region: str) -> str | None:
    """A query over ``source`` (a query with a VARCHAR column ``cur``) giving
    ``cur, fast, e164``: whether the fast path decides ``cur`` and, if so, its
    E.164 form (NULL when invalid). None when there is no fast path."""
    columns = _nanp_columns(source, region)
    if columns is None:
        return None
    return f"SELECT cur, __fast AS fast, __e164 AS e164 FROM ({columns})"


_REGISTERED: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
"""Connections that have the UDF (asking ``duckdb_functions()`` costs tens of milliseconds)."""


def _ensure_udf(con: duckdb.DuckDBPyConnection) -> None:
    if con in _REGISTERED:
        return
    exists = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [_UDF]
    ).fetchall()[0]
    if exists and exists[0]:
        _REGISTERED.add(con)
        return

    # Remembered per value, for this connection only: row by row (near-unique
    # columns) the same unusual value may come up many times.
    @functools.lru_cache(maxsize=65_536)
    def cached(value: str | None, region: str) -> str | None:
        return e164(value, region)

    udf = cast(Callable[[str | None, str], str | None], cached)
    con.create_function(
        _UDF, udf, ["VARCHAR", "VARCHAR"], "VARCHAR", null_handling=FunctionNullHandling.SPECIAL
    )
    _REGISTERED.add(con)


def phone_query(con: duckdb.DuckDBPyConnection, source: str, region: str) -> str:
    """``source`` (a query with a VARCHAR column ``cur``, its other columns not named
    ``__*``) with ``e164`` added: the fast path's answer, else :func:`e164`'s.

    ``phonenumbers`` runs only on the rows the fast path does not decide (a CASE
    evaluates its ELSE branch on those rows alone), once per row of ``source``.
    """
    _ensure_udf(con)
    fast = _nanp_columns(source, region)
    if fast is None:
        return f"SELECT *, {_UDF}(cur, {_lit(region)}) AS e164 FROM ({source})"
    return (
        f"SELECT * EXCLUDE (__fast, __nsn, __e164), CASE WHEN cur IS NULL THEN NULL WHEN __fast THEN __e164 "
        f"ELSE {_UDF}(cur, {_lit(region)}) END AS e164 FROM ({fast})"
    )


def phone_helpers(con: duckdb.DuckDBPyConnection, region: str) -> list[tuple[str, str]]:
    """The E.164 form of ``{x}`` as named SQL templates, each over ``{x}`` and the earlier names.

    For computing E.164 row by row inside a larger projection (the cleaned
    table of a near-unique column), where :func:`phone_query`'s nested
    subqueries cannot go. Evaluate them in order, each in its own projection
    level, substituting ``{x}`` and ``{<earlier name>}``; the last, ``e164``,
    is the answer (NULL when invalid): the same as :func:`phone_query`'s.
    """
    _ensure_udf(con)
    slow = f"{_UDF}({{x}}, {_lit(region)})"
    if not _parses_like_us("US"):
        return [("e164", slow)]
    return [
        (
            "fast",
            f"strlen({{x}}) <= {_MAX_INPUT} AND regexp_full_match({{x}}, {_lit(_fast_pattern(region))})",
        ),
        ("nsn", f"CASE WHEN {{fast}} THEN right({_digits('{x}')}, {_NANP_LENGTH}) END"),
        (
            "e164",
            f"CASE WHEN {{x}} IS NULL THEN NULL WHEN {{fast}} THEN "
            f"(CASE WHEN {_valid_sql('{nsn}')} THEN '+1' || {{nsn}} END) ELSE {slow} END",
        ),
    ]


def phone_table(con: duckdb.DuckDBPyConnection, source: str, table: str, region: str) -> None:
    """Create ``table`` = ``(cur, e164)`` for each distinct non-null ``cur`` of ``source``."""
    distinct = f"SELECT DISTINCT cur FROM {source} WHERE cur IS NOT NULL"
    con.execute(f"CREATE OR REPLACE TABLE {table} AS {phone_query(con, distinct, region)}")
