"""Drift between the profiled input and a baseline file, per shared column.

* Numeric columns (in either file: typed numeric, or text inferred numeric):
  the two-sample Kolmogorov-Smirnov statistic ``D`` (largest gap between the
  empirical CDFs), computed exactly in DuckDB over the distinct values with a
  running sum, and its asymptotic p-value (Kolmogorov distribution with
  Stephens' small-sample correction). Drifted when ``p < 0.01`` and ``D > 0.1``.
* Other columns: the Population Stability Index over the baseline's 20 most
  common values plus one "other" bucket, with shares floored at 1e-4:
  ``PSI = sum((cur - base) * ln(cur / base))``. Drifted when ``PSI > 0.25``
  (0.1-0.25 is usually read as moderate).

Columns only in one file are listed, not tested. A column with no values to
compare on one side (all NULL, or text where the input has numbers) has drifted.
"""

from __future__ import annotations

import math
from typing import Any

import duckdb

from ._table import quote_ident

__all__ = ["drift_column", "ks_pvalue"]

_EPS = 1e-4
_TOP = 20


def ks_pvalue(d: float, n: int, m: int) -> float:
    """Asymptotic p-value of the two-sample KS statistic ``d`` for sample sizes ``n`` and ``m``."""
    if n == 0 or m == 0:
        return 1.0
    en = math.sqrt(n * m / (n + m))
    lam = (en + 0.12 + 0.11 / en) * d
    if lam < 1e-3:
        return 1.0
    total = 0.0
    for k in range(1, 101):
        term = 2 * (-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam)
        total += term
        if abs(term) < 1e-12:
            break
    return min(max(total, 0.0), 1.0)


def _ks(con: duckdb.DuckDBPyConnection, cur: str, base: str, col: str) -> dict[str, Any]:
    e = f"TRY_CAST({quote_ident(col)} AS DOUBLE)"
    rows = con.execute(
        f"""WITH u AS (
              SELECT x, sum(a) AS a, sum(b) AS b FROM (
                SELECT {e} AS x, 1 AS a, 0 AS b FROM {cur} WHERE {e} IS NOT NULL
                UNION ALL SELECT {e}, 0, 1 FROM {base} WHERE {e} IS NOT NULL) GROUP BY x),
            t AS (SELECT sum(a) AS na, sum(b) AS nb FROM u),
            c AS (SELECT sum(a) OVER w AS ca, sum(b) OVER w AS cb FROM u WINDOW w AS (ORDER BY x))
            SELECT max(abs(ca / na - cb / nb)), any_value(na), any_value(nb) FROM c, t"""
    ).fetchall()
    d, n, m = rows[0]
    d = float(d or 0.0)
    n, m = int(n or 0), int(m or 0)
    p = ks_pvalue(d, n, m)
    return {
        "test": "ks",
        "statistic": round(d, 4),
        "p_value": p,
        "n": n,
        "n_baseline": m,
        "drifted": p < 0.01 and d > 0.1,
        "summary": f"D={d:.3f}, p={p:.3g}",
    }


def _psi(con: duckdb.DuckDBPyConnection, cur: str, base: str, col: str) -> dict[str, Any]:
    q = f"CAST({quote_ident(col)} AS VARCHAR)"
    rows = con.execute(
        f"""WITH b AS (SELECT {q} AS v, count(*) AS n FROM {base} WHERE {q} IS NOT NULL GROUP BY 1),
            top AS (SELECT v FROM b ORDER BY n DESC, v LIMIT {_TOP}),
            c AS (SELECT {q} AS v, count(*) AS n FROM {cur} WHERE {q} IS NOT NULL GROUP BY 1),
            bb AS (SELECT CASE WHEN v IN (SELECT v FROM top) THEN v ELSE '\x00other' END AS k, sum(n) AS n FROM b GROUP BY 1),
            cc AS (SELECT CASE WHEN v IN (SELECT v FROM top) THEN v ELSE '\x00other' END AS k, sum(n) AS n FROM c GROUP BY 1)
            SELECT coalesce(bb.k, cc.k), coalesce(bb.n, 0), coalesce(cc.n, 0)
            FROM bb FULL OUTER JOIN cc ON bb.k = cc.k"""
    ).fetchall()
    nb = sum(r[1] for r in rows)
    nc = sum(r[2] for r in rows)
    psi = 0.0
    if nb and nc:
        for _k, b, c in rows:
            pb = max(b / nb, _EPS)
            pc = max(c / nc, _EPS)
            psi += (pc - pb) * math.log(pc / pb)
    return {
        "test": "psi",
        "statistic": round(psi, 4),
        "p_value": None,
        "n": int(nc),
        "n_baseline": int(nb),
        "drifted": psi > 0.25,
        "summary": f"PSI={psi:.3f}",
    }


def drift_column(
    con: duckdb.DuckDBPyConnection, cur: str, base: str, col: str, numeric: bool
) -> dict[str, Any]:
    """The drift result for ``col`` (present in both relations).

    When one side has no values to compare (all NULL, or text where the other
    side has numbers) there is no statistic: that column drifted, unless
    neither side has values.
    """
    result = _ks(con, cur, base, col) if numeric else _psi(con, cur, base, col)
    n, m = result["n"], result["n_baseline"]
    if not n or not m:
        values = "numeric values" if numeric else "values"
        empty = "the input" if not n else "the baseline"
        if not n and not m:
            empty = "either file"
        result.update(
            statistic=None, p_value=None, drifted=bool(n or m), summary=f"no {values} in {empty} to compare"
        )
    return {"column": col, **result}
