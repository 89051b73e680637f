"""Numeric and temporal statistics of one column, computed from its value counts.

:func:`taskq.jobs.profile_stats.column_values` leaves the exact value counts
of the column it profiled in the temporary table ``_profile_g (v, n)``. The
functions here read that table instead of the input, so their cost follows
the number of distinct values, not the row count, and a text column inferred
numeric is cast once per distinct value instead of once per row.

Every statistic is weighted by the counts ``n`` and exact up to DOUBLE
arithmetic (integers and decimals beyond 2**53 are taken relative to
their median first, so the spread of their bulk is not lost: :func:`shifted`):

* min, max, mean, sample standard deviation (two passes: mean, then squared
  deviations, which keeps the variance accurate);
* quantiles 1/5/25/50/75/95/99 with ``quantile_cont`` semantics (position
  ``q * (count - 1)`` in the sorted values, linear interpolation), read off a
  running sum of the counts in value order;
* IQR fences (1.5 x IQR) and how many values lie outside them; a fence past
  the DOUBLE range (``-1e308`` and ``1e308`` in one column) is ``null``, as no
  value can lie beyond it;
* a 20-bin histogram over [min, max] of equal width ``w``: bin ``i`` holds
  ``min + i*w < x <= min + (i+1)*w`` (the first bin also holds ``min``);
* the median absolute deviation (the same exact weighted median) and the
  robust z-score outliers ``0.6745 * |x - median| / MAD > threshold``
  (``robust_z`` is ``null`` when the MAD is 0).

In an integer column (typed, or text inferred integer) min and max are
exact integers (:func:`exact_ends`); the other positions are DOUBLEs.

Only finite values count: NaN and +-infinity (which DuckDB parses from
``nan`` / ``inf`` text) are left out of the statistics and counted as
``non_finite``. Values near the DOUBLE limits do not overflow: interpolation,
bin edges and fences fall back to halved operands (:func:`between`) when a
difference of two values is past the DOUBLE range, so no statistic is NaN or
infinite.
"""

from __future__ import annotations

import math
from typing import Any

import duckdb

from ._table import INTEGER_TYPES

__all__ = [
    "GROUPS",
    "HISTOGRAM_BINS",
    "QUANTILES",
    "between",
    "exact_ends",
    "numeric_stats",
    "shifted",
    "temporal_range",
]

GROUPS = "_profile_g"
"""The temporary table ``(v, n)`` of one column's value counts (see the module docstring)."""

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20

_VALUES = "_profile_x"
_SORT_COST = 4
"""Sorting a distinct value (window plan) costs about this many times repeating one (select plan)."""


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    return con.execute(sql).fetchall()[0]


def _f(x: float) -> str:
    """``x`` as an exact SQL DOUBLE literal (``inf``, ``-inf`` and ``nan`` included)."""
    return f"CAST({x!r} AS DOUBLE)" if math.isfinite(x) else f"CAST('{x!r}' AS DOUBLE)"


def weighted_quantiles(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    count: int,
    qs: tuple[float, ...],
    distinct: int | None = None,
) -> list[float]:
    """Exact ``quantile_cont`` of the values ``x`` of ``relation (x, n)``, each counted ``n`` times.

    Two plans with the same answer, picked by cost. Few distinct values for
    the count: sort the distinct values once and take the value at 0-based
    position ``k`` as the smallest ``x`` whose running count exceeds ``k``.
    Mostly distinct values (an id, a measurement): repeat each value ``n``
    times and let ``quantile_cont`` select them, which avoids the sort.
    ``distinct`` is the number of rows of ``relation``, when the caller knows it.
    """
    if distinct is None:
        distinct = int(_one(con, f"SELECT count(*) FROM {relation}")[0])
    if distinct * _SORT_COST >= count:
        expanded = relation if distinct == count else f"(SELECT x FROM {relation} AS r, range(r.n))"
        found = _one(con, f"SELECT quantile_cont(x, [{', '.join(map(repr, qs))}]) FROM {expanded}")[0]
        return [float(v) for v in found]
    spots = sorted({k for q in qs for k in (math.floor(q * (count - 1)), math.ceil(q * (count - 1)))})
    picks = ", ".join(f"min(x) FILTER (c > {k})" for k in spots)
    row = _one(
        con,
        f"SELECT {picks} FROM (SELECT x, sum(n) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING "
        f"AND CURRENT ROW) AS c FROM {relation})",
    )
    at = {k: float(v) for k, v in zip(spots, row, strict=True)}
    out = []
    for q in qs:
        pos = q * (count - 1)
        out.append(between(at[math.floor(pos)], at[math.ceil(pos)], pos - math.floor(pos)))
    return out


def between(lo: float, hi: float, frac: float) -> float:
    """``lo + (hi - lo) * frac`` (``quantile_cont``'s interpolation), without overflow.

    For ``-1e308`` and ``1e308``, ``hi - lo`` is infinite: the median came out
    ``inf * 0.5 = inf``, or ``inf * 0 = NaN`` on an order statistic. Then the
    same sum is taken in halves (exact scaling by 2), which stays in range.
    """
    if frac == 0 or lo == hi:
        return lo
    if math.isfinite(hi - lo):
        return lo + (hi - lo) * frac
    return 2 * (lo / 2 + (hi / 2 - lo / 2) * frac)


def numeric_stats(
    con: duckdb.DuckDBPyConnection,
    expr: str,
    threshold: float,
    *,
    materialize: bool = True,
    offset: float = 0.0,
) -> dict[str, Any] | None:
    """Statistics, histogram and outliers of ``expr`` (SQL over ``v`` giving a DOUBLE or NULL).

    ``materialize``: store the values once (right for an expensive ``expr``
    such as the parsed valid values of a text column, evaluated by five queries); else
    read them through a view, which saves memory (a 10M-row key column) when
    ``expr`` is a plain cast.

    ``offset``: ``expr`` gives each value minus ``offset`` (see :func:`shifted`);
    positions (min, max, mean, quantiles, fences, bin edges) are reported with
    it added back, spreads (std, MAD) and counts do not depend on it.

    Returns ``None`` when no value is a finite number, else
    ``{"stats": {...}, "histogram": {...}, "outliers": {...}}`` as written
    into the column profile.
    """
    values = f"SELECT {expr} AS x, n FROM {GROUPS}"
    finite = "FILTER (isfinite(x))"
    non_finite, count, distinct, lo, hi, total = _one(
        con,
        f"SELECT coalesce(sum(n) FILTER (NOT isfinite(x)), 0), coalesce(sum(n) {finite}, 0), "
        f"count(*) {finite}, min(x) {finite}, max(x) {finite}, sum(x * n) {finite} FROM ({values})",
    )
    if not count:
        return None
    kind = "TABLE" if materialize else "VIEW"
    con.execute(f"CREATE OR REPLACE TEMP {kind} {_VALUES} AS SELECT x, n FROM ({values}) WHERE isfinite(x)")
    try:
        found = _numeric_stats(
            con, int(count), int(distinct), float(lo), float(hi), float(total), int(non_finite), threshold
        )
        return _moved(found, offset) if offset else found
    finally:
        con.execute(f"DROP {kind} IF EXISTS {_VALUES}")


def _numeric_stats(
    con: duckdb.DuckDBPyConnection,
    count: int,
    distinct: int,
    lo: float,
    hi: float,
    total: float,
    non_finite: int,
    threshold: float,
) -> dict[str, Any]:
    mean = total / count
    if not math.isfinite(mean):  # sum(x * n) overflowed: average with weights n / count instead
        mean = float(_one(con, f"SELECT sum(x * (n / {count})) FROM {_VALUES}")[0])
    # Squared deviations are summed in units of a power of two near the largest
    # magnitude: exact rescaling, and no overflow for values near the DOUBLE limits.
    top = max(abs(lo), abs(hi))
    unit = math.ldexp(1.0, math.frexp(top)[1] - 1) if top else 1.0  # top / 2 < unit <= top
    quants = weighted_quantiles(con, _VALUES, count, QUANTILES, distinct)
    named = {f"p{round(q * 100)}": v for q, v in zip(QUANTILES, quants, strict=True)}
    q1, med, q3 = named["p25"], named["p50"], named["p75"]
    # 1.5 x IQR, in halves when q3 - q1 overflows; a fence past the DOUBLE range is None
    # (no value lies beyond it), never an infinity (JSON has none) or NaN.
    reach = 1.5 * (q3 - q1) if math.isfinite(q3 - q1) else 3 * (q3 / 2 - q1 / 2)
    fences = [f if math.isfinite(f) else None for f in (q1 - reach, q3 + reach)]
    beyond = [f"x < {_f(fences[0])}"] if fences[0] is not None else []
    beyond += [f"x > {_f(fences[1])}"] if fences[1] is not None else []
    # Bin widths and edges in units of s: 1, or 1/2 when hi - lo overflows (exact scaling),
    # so no edge is lo + inf and no bin number (x - lo) / w overflows.
    s = 1.0 if math.isfinite(hi - lo) else 0.5
    width = (hi * s - lo * s) / HISTOGRAM_BINS
    edges = [(lo * s + width * (i + 1)) / s for i in range(HISTOGRAM_BINS)] if width > 0 else [hi]
    # One grouped pass: per histogram bin (bin i holds (edges[i-1], edges[i]], found by
    # arithmetic), its count, squared deviations from the mean and IQR-fence outliers.
    b = "0"
    if width > 0:
        x = "x" if s == 1 else f"(x * {_f(s)})"
        b = f"CAST(least(greatest(ceil(({x} - {_f(lo * s)}) / {_f(width)}) - 1, 0), {HISTOGRAM_BINS - 1}) AS BIGINT)"
    counts = [0] * len(edges)
    squares, iqr_n = 0.0, 0
    for i, k, sq, out in con.execute(
        f"SELECT {b} AS b, sum(n), sum(n * (x / {_f(unit)} - {_f(mean / unit)}) ** 2), "
        f"coalesce(sum(n) FILTER ({' OR '.join(beyond) or 'false'}), 0) FROM {_VALUES} GROUP BY b"
    ).fetchall():
        counts[int(i)] = int(k)
        squares += float(sq)
        iqr_n += int(out)
    deviations = f"(SELECT abs(x - {_f(med)}) AS x, n FROM {_VALUES})"
    mad = weighted_quantiles(con, deviations, count, (0.5,), distinct)[0]
    robust = None
    if math.isfinite(mad) and mad > 0:  # NaN is truthy, and in DuckDB NaN > threshold is true
        robust = int(
            _one(
                con,
                f"SELECT coalesce(sum(n) FILTER (0.6745 * abs(x - {_f(med)}) / {_f(mad)} > {_f(threshold)}), 0) "
                f"FROM {_VALUES}",
            )[0]
        )
    stats: dict[str, Any] = {
        "count": count,
        "min": lo,
        "max": hi,
        "mean": mean,
        "std": unit * math.sqrt(squares / (count - 1)) if count > 1 else None,
        "quantiles": named,
        "quantiles_approx": False,
    }
    if non_finite:
        stats["non_finite"] = non_finite
    return {
        "stats": stats,
        "histogram": {"min": lo, "edges": edges, "counts": counts},
        "outliers": {"iqr": int(iqr_n), "iqr_fences": fences, "mad": mad, "robust_z": robust},
    }


def _moved(found: dict[str, Any], offset: float) -> dict[str, Any]:
    """``found`` with ``offset`` added to every position (not to spreads or counts)."""
    st, hist, out = found["stats"], found["histogram"], found["outliers"]
    for key in ("min", "max", "mean"):
        st[key] += offset
    st["quantiles"] = {k: v + offset for k, v in st["quantiles"].items()}
    hist["min"] += offset
    hist["edges"] = [e + offset for e in hist["edges"]]
    out["iqr_fences"] = [None if f is None else f + offset for f in out["iqr_fences"]]
    return found


EXACT_DOUBLE = 2**53
"""Integers up to this magnitude are exact in a DOUBLE."""


def shifted(con: duckdb.DuckDBPyConnection, sql_type: str, value: str = "v") -> tuple[str, float]:
    """``(expr, offset)`` for :func:`numeric_stats` of ``value``: SQL over ``v`` in
    ``_profile_g`` giving a ``sql_type``, NULL for a value left out (the typed column
    ``v`` itself, or the valid values of a text column inferred numeric).

    A DOUBLE holds integers exactly only up to 2**53: ``2**63 + i`` all became
    the same number, and their standard deviation 0; and 17 significant digits
    at most: a DECIMAL(38,20) of ``0.1 + i * 1e-18`` had its mean below its
    minimum. When a column's values reach past 2**53, or their spread does not
    survive the conversion, they are taken relative to their (lower) median,
    subtracted exactly in their own type (as HUGEINT for integers), so the
    differences are what becomes DOUBLE. Otherwise ``CAST(value AS DOUBLE)`` and
    no offset. The median, not the minimum: relative to a minimum far below the
    rest (``-2**63`` beside values near ``2**53``) the differences are all near
    ``2**63`` again, and the spread of the bulk (its MAD) was lost as before.
    """
    plain = (f"CAST({value} AS DOUBLE)", 0.0)
    integer = sql_type in INTEGER_TYPES and sql_type != "UHUGEINT"
    if not (integer or sql_type.startswith("DECIMAL")):
        return plain
    try:
        lo, hi = con.execute(f"SELECT min({value}), max({value}) FROM {GROUPS}").fetchall()[0]
        if lo is None:
            return plain
        spread = float(hi - lo)  # exact in Python (int, Decimal), then rounded once
        kept = abs((float(hi) - float(lo)) - spread) <= 1e-9 * spread
        if max(abs(lo), abs(hi)) <= EXACT_DOUBLE and kept:
            return plain
        # The lower weighted median: the smallest value with half the count at or below it.
        centre = con.execute(
            f"""SELECT min(x) FILTER (2 * c >= t) FROM (
                  SELECT x, sum(n) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c,
                         sum(n) OVER () AS t
                  FROM (SELECT {value} AS x, n FROM {GROUPS}) WHERE x IS NOT NULL)"""
        ).fetchall()[0][0]
        base = f"CAST('{centre}' AS {'HUGEINT' if integer else sql_type})"
        own = f"CAST({value} AS HUGEINT)" if integer else value
        expr = f"CAST({own} - {base} AS DOUBLE)"
        # The differences fit their type (a DECIMAL(38, s) from -1e37 to 1e37 would not).
        con.execute(f"SELECT min({expr}), max({expr}) FROM {GROUPS}").fetchall()
    except duckdb.Error:
        return plain
    return expr, float(centre)


def exact_ends(con: duckdb.DuckDBPyConnection, found: dict[str, Any], value: str) -> None:
    """Make the min and max in ``found`` (from :func:`numeric_stats`) exact integers.

    ``value`` is SQL over ``v`` in ``_profile_g`` giving the integer values
    (NULL for the ones left out). A DOUBLE holds every integer below 2**53, so
    such ends are converted as they are; past it (a UBIGINT near 2**64 came out
    2**64, outside the type) they are read again from ``value``, exactly.
    """
    st = found["stats"]
    lo, hi = st["min"], st["max"]
    if max(abs(lo), abs(hi)) < EXACT_DOUBLE:
        lo, hi = int(lo), int(hi)
    else:
        lo, hi = (int(x) for x in _one(con, f"SELECT min({value}), max({value}) FROM {GROUPS}"))
    st["min"], st["max"] = lo, hi
    found["histogram"]["min"] = lo


def temporal_range(con: duckdb.DuckDBPyConnection, expr: str) -> dict[str, Any]:
    """``{"min", "max"}`` (as text) of ``expr``, SQL over ``v`` giving a DATE or TIMESTAMP."""
    lo, hi = _one(con, f"SELECT CAST(min({expr}) AS VARCHAR), CAST(max({expr}) AS VARCHAR) FROM {GROUPS}")
    return {"min": lo, "max": hi}
