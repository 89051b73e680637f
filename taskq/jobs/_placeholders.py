"""Tokens that stand in for a missing value (``N/A``, ``null``, ``-``...), shared by the tools.

profile-my-data counts them, master-my-data gives them no weight as evidence and
no place in a golden record while a real value competes, and clean-my-data nulls
the exact tokens of its ``placeholders`` step (a subset of these by default).
"""

from __future__ import annotations

__all__ = ["PLACEHOLDERS", "WHITESPACE", "placeholder_sql", "whitespace_sql"]

PLACEHOLDERS = (
    "n/a", "na", "n.a.", "null", "none", "nil", "nan", "-nan", "<na>", "-", "--", "?", "??", ".",
    "#n/a", "#na", "undefined", "missing", "not available", "tbd", "xxx", "unknown", "unk",
)  # fmt: skip
"""Lower-cased, trimmed tokens that stand in for a missing value: every token
clean-my-data nulls by default (``clean_params.DEFAULT_PLACEHOLDERS``) and more."""

WHITESPACE = r"[\s\p{Z}\x{0B}\x{85}\x{200B}\x{FEFF}]"
"""RE2 class of whitespace: ASCII, Unicode spaces and separators (no-break space...),
vertical tab, NEL, zero-width space and BOM. clean-my-data trims and collapses it;
profile-my-data counts a value of it alone as whitespace-only."""


def whitespace_sql(s: str) -> str:
    """SQL: the VARCHAR expression ``s`` is a non-empty string of :data:`WHITESPACE` only.

    The first-character test (every such character is a control or space, or
    beyond U+0084) keeps the regular expression off almost every value.
    """
    return (
        f"(CASE WHEN ascii({s}) <= 32 OR ascii({s}) >= 133 "
        f"THEN regexp_full_match({s}, '{WHITESPACE}+') ELSE false END)"
    )


_PLACEHOLDER_SQL = "(" + ", ".join("'" + p + "'" for p in PLACEHOLDERS) + ")"
_FIRST = (
    "("
    + ", ".join(str(c) for c in sorted({32} | {ord(ch) for p in PLACEHOLDERS for ch in (p[0], p[0].upper())}))
    + ")"
)
"""Code points a placeholder can start with (``trim`` strips only spaces)."""
_LONGEST = 16


def placeholder_sql(s: str) -> str:
    """SQL: the VARCHAR expression ``s`` is a placeholder token (NULL gives false).

    ``lower(trim(...))`` on every value costs more than a grouping, so it runs
    only on strings of at most 16 bytes whose first character can start a token
    (or is a space). The tests sit in nested ``CASE``: DuckDB evaluates both
    sides of an ``AND`` inside an aggregate ``FILTER``.
    """
    return (
        f"(CASE WHEN strlen({s}) <= {_LONGEST} THEN CASE WHEN ascii({s}) IN {_FIRST} "
        f"THEN lower(trim({s})) IN {_PLACEHOLDER_SQL} ELSE false END ELSE false END)"
    )
