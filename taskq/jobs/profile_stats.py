"""The SQL behind profile-my-data: per-column statistics in a few DuckDB passes.

Passes over the loaded table (each one query for all columns it concerns, so
DuckDB scans each column once per pass):

1. :func:`basic_counts`: non-null count, empty / whitespace-only / placeholder
   strings and string lengths; approximate distinct counts when asked.
2. :func:`column_values` (one query group per column, so the caller can
   report progress and honour cancellation per column): the exact value
   counts of the column, grouped once into a temporary table, from which come
   the distinct count, the top values, the type inference of text columns
   (how many values parse as integer / float / boolean / date / timestamp),
   the shape patterns and the PII hints. Working on distinct values with their
   counts keeps regular-expression work proportional to the cardinality, not
   the row count; above :data:`PATTERN_SAMPLE` distinct values, patterns and PII
   hints come from a seeded sample of them and are scaled (marked ``sampled``).
3. :func:`numeric_moments`: min, max, mean, std and quantiles of the numeric
   columns (text columns inferred numeric are cast with ``TRY_CAST``).
4. :func:`numeric_spread`: IQR-fence outliers, histogram and the median
   absolute deviation; :func:`robust_outliers`: robust z-score outliers.

Quantiles are exact up to :data:`EXACT_QUANTILE_ROWS` rows and t-digest
approximations beyond (marked ``approx``), which keeps memory bounded.
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb

from ._table import quote_ident

__all__ = [
    "EXACT_QUANTILE_ROWS",
    "PATTERN_SAMPLE",
    "PLACEHOLDERS",
    "QUANTILES",
    "approx_distinct",
    "column_values",
    "duplicate_rows",
    "numeric_moments",
    "numeric_spread",
    "robust_outliers",
]

logger = logging.getLogger(__name__)

PLACEHOLDERS = (
    "n/a", "na", "n.a.", "null", "none", "nil", "nan", "-", "--", "?", "??", ".",
    "#n/a", "undefined", "missing", "not available", "tbd", "xxx", "unknown", "unk",
)  # fmt: skip
"""Lower-cased, trimmed tokens that stand in for a missing value."""

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
EXACT_QUANTILE_ROWS = 500_000
PATTERN_SAMPLE = 20_000
HISTOGRAM_BINS = 20

_PLACEHOLDER_SQL = "(" + ", ".join("'" + p + "'" for p in PLACEHOLDERS) + ")"
_TEXT_TYPES = ("VARCHAR",)
_CASTS = (
    ("integer", "BIGINT"),
    ("float", "DOUBLE"),
    ("boolean", "BOOLEAN"),
    ("date", "DATE"),
    ("timestamp", "TIMESTAMP"),
)


def _placeholder(s: str) -> str:
    """SQL: ``s`` is a placeholder token, checked only on strings of at most 16 bytes.

    The length test first is what makes this cheap on high-cardinality columns:
    ``lower(trim(...))`` on every distinct value costs more than the grouping.
    """
    return f"(strlen({s}) <= 16 AND lower(trim({s})) IN {_PLACEHOLDER_SQL})"


def _present(s: str) -> str:
    """SQL: the text value ``s`` is a real value (not blank, not a placeholder)."""
    return f"(NOT regexp_full_match({s}, '\\s*') AND NOT {_placeholder(s)})"


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


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝ"
_LOWER = "abcdefghijklmnopqrstuvwxyzàáâãäåæçèéêëìíîïñòóôõöøùúûüýßÿ"


def _shape(s: str) -> str:
    """SQL: the shape of ``s``: letters (ASCII and Latin-1) -> ``A``/``a``, digits -> ``9``.

    One ``translate`` call, several times cheaper than chained regular expressions.
    """
    src = _UPPER + _LOWER + "0123456789"
    dst = "A" * len(_UPPER) + "a" * len(_LOWER) + "9" * 10
    return f"translate({s}, '{src}', '{dst}')"


def _digits(s: str) -> str:
    """SQL: how many ASCII digits ``s`` holds."""
    return f"(strlen({s}) - strlen(translate({s}, '0123456789', '')))"


def _text_counts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    non_null, empty, blank, placeholders, lo, hi, total_len = _one(
        con,
        f"""SELECT coalesce(sum(n) FILTER (v IS NOT NULL), 0),
                   coalesce(sum(n) FILTER (v = ''), 0),
                   coalesce(sum(n) FILTER (regexp_full_match(v, '\\s+')), 0),
                   coalesce(sum(n) FILTER ({_placeholder("v")}), 0),
                   min(length(v)), max(length(v)), sum(length(v) * n)
            FROM _profile_g""",
    )
    out: dict[str, Any] = {
        "non_null": int(non_null),
        "empty": int(empty),
        "whitespace": int(blank),
        "placeholders": int(placeholders),
        "length": None,
    }
    if non_null:
        out["length"] = {"min": int(lo), "max": int(hi), "mean": round(float(total_len) / int(non_null), 2)}
    out["present"] = out["non_null"] - out["empty"] - out["whitespace"] - out["placeholders"]
    return out


def _parses(con: duckdb.DuckDBPyConnection, sampled: bool) -> dict[str, int]:
    """Present values parsing as each candidate type: screened on the sample, counted exactly.

    A type that fewer than half the sampled values parse as cannot reach the
    inference threshold, so its exact count (a cast of every distinct value)
    is skipped and reported as 0.
    """
    casts = ", ".join(
        f"coalesce(sum(n) FILTER (TRY_CAST(trim(v) AS {sql_type}) IS NOT NULL), 0)" for _, sql_type in _CASTS
    )
    total, *counts = _one(con, f"SELECT coalesce(sum(n), 0), {casts} FROM _profile_s")
    screened = {name: int(k) for (name, _), k in zip(_CASTS, counts, strict=True)}
    if not sampled:
        return screened
    keep = [(name, t) for name, t in _CASTS if total and screened[name] / total >= 0.5]
    out = dict.fromkeys(screened, 0)
    if keep:
        exact = ", ".join(
            f"coalesce(sum(n) FILTER (TRY_CAST(trim(v) AS {t}) IS NOT NULL), 0)" for _, t in keep
        )
        row = _one(con, f"SELECT {exact} FROM _profile_g WHERE v IS NOT NULL AND {_present('v')}")
        out.update({name: int(k) for (name, _), k in zip(keep, row, strict=True)})
    return out


def column_values(
    con: duckdb.DuckDBPyConnection, data: str, column: str, dtype: str, top_k: int
) -> dict[str, Any]:
    """Pass for one column: counts, distinct, top values and, for text, inference, patterns, PII.

    Text counts (empty, whitespace-only, placeholders, lengths) are weighted
    sums over the distinct values, so they cost one pass over the column.
    """
    q = quote_ident(column)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _profile_g AS SELECT {q} AS v, count(*) AS n FROM {data} GROUP BY 1"
    )
    distinct, singletons, non_null = _one(
        con,
        "SELECT count(v), count(*) FILTER (n = 1 AND v IS NOT NULL), coalesce(sum(n) FILTER (v IS NOT NULL), 0) "
        "FROM _profile_g",
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
        {"value": v, "count": int(n)}
        for v, n in con.execute(
            f"SELECT CAST(v AS VARCHAR), n FROM _profile_g WHERE v IS NOT NULL ORDER BY n DESC, v LIMIT {top_k}"
        ).fetchall()
    ]
    if dtype not in _TEXT_TYPES:
        return out
    out.update(_text_counts(con))
    sampled = distinct > PATTERN_SAMPLE
    where = "v IS NOT NULL"
    if sampled:
        # A deterministic hash sample of distinct values: parallel and cheap, unlike a reservoir.
        where += f" AND hash(v) % 1000000 < {int(1_000_000 * PATTERN_SAMPLE / distinct)}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _profile_s AS SELECT v, n FROM "
        f"(SELECT v, n FROM _profile_g WHERE {where}) WHERE {_present('v')}"
    )
    covered = _one(con, "SELECT coalesce(sum(n), 0) FROM _profile_s")[0]
    scale = float(out["present"]) / float(covered) if sampled and covered else 1.0
    out["parses"] = _parses(con, sampled)
    source = "_profile_s"
    out["patterns"] = [
        {"pattern": p, "count": round(int(n) * scale)}
        for p, n in con.execute(
            f"SELECT {_shape('v')} AS p, sum(n) AS k FROM {source} GROUP BY 1 ORDER BY k DESC, p LIMIT {top_k}"
        ).fetchall()
    ]
    digits = "regexp_replace(trim(v), '[ -]', '', 'g')"
    # Each regular expression sits behind a cheap length/character test in a CASE,
    # so it only runs on the few values that could match.
    email, phone, card, ssn = _one(
        con,
        f"""SELECT
            coalesce(sum(n) FILTER (CASE WHEN contains(v, '@') THEN regexp_full_match(trim(v),
                '[A-Za-z0-9._%+''-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{{2,}}') ELSE false END), 0),
            coalesce(sum(n) FILTER (CASE WHEN strlen(v) BETWEEN 7 AND 25 AND {_digits("v")} BETWEEN 7 AND 15
                THEN regexp_full_match(trim(v), '\\+?[0-9][0-9 ().-]{{5,18}}[0-9]')
                 AND NOT regexp_full_match(trim(v), '[0-9]{{4}}[/.-][0-9]{{1,2}}[/.-][0-9]{{1,2}}|[0-9]{{1,2}}[/.-][0-9]{{1,2}}[/.-][0-9]{{2,4}}|[0-9]+\\.[0-9]+|[0-9]{{3}}-[0-9]{{2}}-[0-9]{{4}}')
                ELSE false END), 0),
            coalesce(sum(n) FILTER (CASE WHEN strlen(v) BETWEEN 13 AND 25 AND {_digits("v")} BETWEEN 13 AND 19
                THEN CASE WHEN regexp_full_match({digits}, '[0-9]{{13,19}}') THEN {_luhn_sql(digits)} ELSE false END
                ELSE false END), 0),
            coalesce(sum(n) FILTER (CASE WHEN strlen(trim(v)) = 11 AND {_digits("v")} = 9
                THEN regexp_full_match(trim(v), '[0-8][0-9]{{2}}-[0-9]{{2}}-[0-9]{{4}}')
                 AND NOT starts_with(trim(v), '000') AND NOT starts_with(trim(v), '666')
                ELSE false END), 0)
        FROM {source} WHERE {_present("v")}""",
    )
    out["pii"] = {
        "email": round(int(email) * scale),
        "phone": round(int(phone) * scale),
        "card": round(int(card) * scale),
        "national_id": round(int(ssn) * scale),
    }
    out["patterns_sampled"] = sampled
    return out


def numeric_moments(
    con: duckdb.DuckDBPyConnection, data: str, exprs: dict[str, str], rows: int
) -> dict[str, Any]:
    """Pass 3: min/max/mean/std/quantiles of each ``{column: numeric SQL expression}``."""
    if not exprs:
        return {}
    approx = rows > EXACT_QUANTILE_ROWS
    qfun = "approx_quantile" if approx else "quantile_cont"
    qs = "[" + ", ".join(str(q) for q in QUANTILES) + "]"
    parts = []
    for e in exprs.values():
        parts += [
            f"min({e})",
            f"max({e})",
            f"avg({e})",
            f"stddev_samp({e})",
            f"{qfun}({e}, {qs})",
            f"count({e})",
        ]
    row = list(_one(con, f"SELECT {', '.join(parts)} FROM {data}"))
    out: dict[str, Any] = {}
    for c in exprs:
        lo, hi, mean, std, quants, n = (row.pop(0) for _ in range(6))
        if not n:
            continue
        out[c] = {
            "count": int(n),
            "min": float(lo),
            "max": float(hi),
            "mean": float(mean),
            "std": None if std is None else float(std),
            "quantiles": {f"p{round(q * 100)}": float(v) for q, v in zip(QUANTILES, quants, strict=True)},
            "quantiles_approx": approx,
        }
    return out


def numeric_spread(
    con: duckdb.DuckDBPyConnection, data: str, exprs: dict[str, str], moments: dict[str, Any]
) -> dict[str, Any]:
    """Pass 4: IQR-fence outliers (1.5 x IQR), a 20-bin histogram and the MAD per column."""
    cols = [c for c in exprs if c in moments]
    if not cols:
        return {}
    parts = []
    fences: dict[str, tuple[float, float]] = {}
    edges: dict[str, list[float]] = {}
    for c in cols:
        m, e = moments[c], exprs[c]
        q1, q3 = m["quantiles"]["p25"], m["quantiles"]["p75"]
        lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
        fences[c] = (lo, hi)
        width = (m["max"] - m["min"]) / HISTOGRAM_BINS
        edges[c] = [m["min"] + width * (i + 1) for i in range(HISTOGRAM_BINS)] if width > 0 else [m["max"]]
        bounds = "[" + ", ".join(repr(float(b)) for b in edges[c]) + "]::DOUBLE[]"
        med = m["quantiles"]["p50"]
        qfun = "approx_quantile" if m["quantiles_approx"] else "quantile_cont"
        parts += [
            f"count(*) FILTER ({e} < {lo!r} OR {e} > {hi!r})",
            f"histogram(CAST({e} AS DOUBLE), {bounds})",
            f"{qfun}(abs({e} - {med!r}), 0.5)",
        ]
    row = list(_one(con, f"SELECT {', '.join(parts)} FROM {data}"))
    out: dict[str, Any] = {}
    for c in cols:
        iqr_n, hist, mad = row.pop(0), row.pop(0), row.pop(0)
        counts = [int((hist or {}).get(b, 0)) for b in edges[c]]
        out[c] = {
            "iqr_outliers": int(iqr_n),
            "iqr_fences": [fences[c][0], fences[c][1]],
            "mad": None if mad is None else float(mad),
            "histogram": {"min": moments[c]["min"], "edges": edges[c], "counts": counts},
        }
    return out


def robust_outliers(
    con: duckdb.DuckDBPyConnection,
    data: str,
    exprs: dict[str, str],
    moments: dict[str, Any],
    spread: dict[str, Any],
    threshold: float,
) -> dict[str, int]:
    """Pass 5: values whose robust z-score ``0.6745 * |x - median| / MAD`` exceeds ``threshold``.

    A column whose MAD is 0 (more than half the values equal) gets no count:
    the score is undefined there, and IQR fences still apply.
    """
    parts, cols = [], []
    for c, e in exprs.items():
        mad = spread.get(c, {}).get("mad")
        if not mad:
            continue
        med = moments[c]["quantiles"]["p50"]
        parts.append(f"count(*) FILTER (0.6745 * abs({e} - {med!r}) / {mad!r} > {threshold!r})")
        cols.append(c)
    if not parts:
        return {}
    row = _one(con, f"SELECT {', '.join(parts)} FROM {data}")
    return {c: int(n) for c, n in zip(cols, row, strict=True)}


def duplicate_rows(con: duckdb.DuckDBPyConnection, data: str, columns: list[str]) -> int:
    """Rows identical in every column to an earlier row (hash-based: 64-bit, collisions negligible)."""
    cols = ", ".join(quote_ident(c) for c in columns)
    n, distinct = _one(con, f"SELECT count(*), count(DISTINCT hash({cols})) FROM {data}")
    return int(n) - int(distinct)
