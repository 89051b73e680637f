"""SQL over numbers written as text: their digits, compared exactly.

Shared by clean-my-data's types step (:mod:`taskq.jobs.clean_types`) and the JSON reader
(:mod:`taskq.jobs.io`), which both decide whether a DOUBLE holds a column's numbers
exactly and, if not, the DECIMAL that does. The templates name lambda parameters ``m``,
``d`` and ``h``: a column of those names must not be in scope where they are used.
"""

from __future__ import annotations

from ._table import sql_literal

__all__ = [
    "DOUBLE_DIGITS",
    "MAX_DECIMAL",
    "beyond_double",
    "decimal_digits",
    "decimal_size",
    "number_shape",
    "plain_number",
    "same_number",
]

_SHAPE = r"^[+-]?(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?$"
DOUBLE_DIGITS = 15
"""A DOUBLE holds any number of up to this many significant digits (within its range) so
that it is written back as the same number (C's ``DBL_DIG``); longer ones, only some."""
MAX_DECIMAL = 38
"""DuckDB's widest DECIMAL."""


def number_shape(text: str) -> str:
    """SQL: the number written as ``text`` (sign, digits, ``.``, exponent; no separators) as
    ``{s, p}``: ``s`` its significant digits (no leading or trailing zeros; empty for zero),
    ``p`` how many digits stand before the decimal point (``0.000123``: ``123``, -3;
    ``1.5e3``: ``15``, 4). Two texts are the same number (sign aside) when their shapes are
    equal; ``s`` has ``length(s) - p`` digits after the point (none when negative)."""
    return (
        f"list_transform([regexp_extract({text}, {sql_literal(_SHAPE)}, ['i', 'f', 'e'])], lambda m: "
        "list_transform([m.i || m.f], lambda d: struct_pack(s := trim(d, '0'), p := CASE WHEN trim(d, '0') = '' "
        "THEN 0 ELSE length(m.i) + coalesce(TRY_CAST(nullif(m.e, '') AS INTEGER), 0) "
        "- (length(d) - length(ltrim(d, '0'))) END))[1])[1]"
    )


def plain_number(text: str) -> str:
    """SQL: the number ``text`` without an exponent (``-1.5e-3``: ``-0.0015``). DuckDB's cast
    of an exponent to DECIMAL wants a digit more than the value has (``1.25e-1`` does not
    fit a DECIMAL(3,3)); of the plain digits it is exact."""
    digits = (
        f"list_transform([{number_shape(text)}], lambda h: CASE WHEN h.s = '' THEN '0' "
        "WHEN h.p <= 0 THEN '0.' || repeat('0', -h.p) || h.s "
        "WHEN h.p >= length(h.s) THEN h.s || repeat('0', h.p - length(h.s)) "
        "ELSE left(h.s, h.p) || '.' || substr(h.s, h.p + 1) END)[1]"
    )
    sign = f"CASE WHEN starts_with({text}, '-') THEN '-' ELSE '' END"
    return f"CASE WHEN contains(lower({text}), 'e') THEN {sign} || {digits} ELSE {text} END"


def same_number(text: str, written: str) -> str:
    """SQL: ``written``, a DOUBLE cast to VARCHAR (from the number ``text``), is the number
    ``text`` writes, every digit. DuckDB writes a DOUBLE in its shortest form, which has
    the digits of ``text`` exactly when the DOUBLE holds ``text`` exactly. Most long values
    are a DOUBLE's shortest form already (a DOUBLE written out): one string comparison."""
    return f"(CASE WHEN {text} = {written} THEN true ELSE {number_shape(text)} = {number_shape(written)} END)"


def beyond_double(value: str, chars: int = DOUBLE_DIGITS) -> str:
    """SQL: the text ``value`` may have more significant digits than a DOUBLE holds (more
    than ``chars`` characters: :data:`DOUBLE_DIGITS`), or an exponent past its range. Most
    values do not: the costly test runs on these alone."""
    return f"(strlen({value}) > {chars} OR contains({value}, 'e') OR contains({value}, 'E'))"


def decimal_digits(shape: str) -> str:
    """SQL: two aggregates over ``shape`` (:func:`number_shape` of a column of numbers), the
    most digits any number has before its point and the most after it (0 for none)."""
    return (
        f"coalesce(max(greatest({shape}.p, 0)), 0), "
        f"coalesce(max(greatest(length({shape}.s) - {shape}.p, 0)), 0)"
    )


def decimal_size(before: int, after: int) -> tuple[int, int]:
    """``(precision, scale)`` of the narrowest DECIMAL holding numbers of up to ``before``
    digits before the point and ``after`` after (:func:`decimal_digits`); no DECIMAL holds
    them when the precision is over :data:`MAX_DECIMAL`. At least one digit before the point:
    DuckDB writes a DECIMAL(s, s) as .5, not 0.5."""
    return max(before, 1) + after, after
