"""Drift between the profiled input and a baseline file, per shared column.

Each shared column gets one of three tests, chosen from both files (the first
that applies):

* Numeric columns (in either file: typed numeric, or text inferred numeric):
  the two-sample Kolmogorov-Smirnov statistic ``D`` (largest gap between the
  empirical CDFs), computed exactly in DuckDB over the distinct values with a
  running sum, and its asymptotic p-value (Kolmogorov distribution with
  Stephens' small-sample correction). Drifted when ``p < 0.01`` and ``D > 0.1``.
* Date and time columns (in either file: typed DATE or TIMESTAMP, or text
  inferred as dates or timestamps): the same KS test on their epoch seconds
  (``epoch()``; a timestamp without a time zone counts as UTC; text with a UTC
  offset is read as its instant, :func:`taskq.jobs.profile_stats.valid_values`). Timestamps are nearly all distinct, so counting values would
  see nothing: a series moved by a year keeps its spread and its top values.
* Other columns: the Population Stability Index over the baseline's 20 most
  common values plus one "other" bucket, with shares floored at 1e-4:
  ``PSI = sum((cur - base) * ln(cur / base))``. Drifted when ``PSI > 0.25``
  (0.1-0.25 is usually read as moderate). ``coverage`` gives the share of each
  file's values that fall in the 20 named buckets. When it is under
  :data:`MIN_COVERAGE` in either file and PSI is not above 0.25, most values
  sit in "other" on both sides, where no change shows (ids, free text):
  the column is ``not testable`` (``drifted`` null, no statistic), not stable.
  A PSI above 0.25 is drift whatever the coverage (new values, say).

When a side has no values to compare there is no statistic. A column whose
values on one side are all missing (NULL, blank or placeholders) and present on
the other has drifted, whether or not the other side's values read as numbers or
dates; one with no values in either file is ``not testable``. A column with
values on both sides is ``not testable`` for KS when, on either side, under
half (:data:`MIN_READ`) of the present values read as a number or a date (text
dates written ``01/31/2024`` against typed dates: the profile reads ISO dates
only; words against numbers; ``$375.15`` amounts with one plain number among
them, where KS on that one value would call it stable), the summary saying which
file and how many of its values read.

PSI compares the values' text; blanks and placeholders (``N/A``, ``-``) are no values on
either side, as NULL is. When one file types a column (``BOOLEAN``,
``TIME``, ``UUID``...) and the other leaves it text, the text is read as that
type first, so ``TRUE`` in one file and ``true`` in the other are one value.

Every result has a ``status``: ``drifted``, ``stable``, ``not testable`` or
``not compared`` (a column only in one file, listed, not tested).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import duckdb

from ._table import quote_ident
from .profile_stats import present_sql, valid_values

__all__ = ["MIN_COVERAGE", "MIN_READ", "Kind", "drift_column", "ks_pvalue", "status"]

_EPS = 1e-4
_TOP = 20
MIN_COVERAGE = 0.5
"""Share of each file's values the baseline's top values must hold for a low PSI to mean stable."""

Kind = Literal["numeric", "temporal", "categorical"]
MIN_READ = 0.5
"""Share of a side's present values that must read as numbers (or dates) for KS to test it."""


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


def _epoch(col: str, dtype: str) -> str:
    """SQL: the epoch seconds of ``col`` (of type ``dtype``), NULL where it is no date or time.
    Text counts by the profile's own rule (:func:`taskq.jobs.profile_stats.valid_values`)."""
    q = quote_ident(col)
    if dtype == "VARCHAR":
        return f"epoch({valid_values('timestamp', q)[0]})"
    if dtype == "DATE" or dtype.startswith("TIMESTAMP"):
        return f"epoch({q})"
    return "CAST(NULL AS DOUBLE)"


def _number(col: str, dtype: str) -> str:
    """SQL: ``col`` (of type ``dtype``) as a DOUBLE, NULL where it is no number: text by the
    profile's rule (``1_000`` and placeholders such as ``nan`` are none, as in its statistics)."""
    q = quote_ident(col)
    return (
        f"CAST({valid_values('float', q)[0]} AS DOUBLE)" if dtype == "VARCHAR" else f"TRY_CAST({q} AS DOUBLE)"
    )


def _ks(con: duckdb.DuckDBPyConnection, cur: str, base: str, ec: str, eb: str) -> dict[str, Any]:
    """KS of the DOUBLE expressions ``ec`` over ``cur`` and ``eb`` over ``base`` (NULLs left out)."""
    rows = con.execute(
        f"""WITH u AS (
              SELECT x, sum(a) AS a, sum(b) AS b FROM (
                SELECT {ec} AS x, 1 AS a, 0 AS b FROM {cur} WHERE {ec} IS NOT NULL
                UNION ALL SELECT {eb}, 0, 1 FROM {base} WHERE {eb} IS NOT NULL) GROUP BY x),
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


_READ_AS = ("BOOLEAN", "TIME", "TIME WITH TIME ZONE", "UUID", "INTERVAL")
"""Types a file may give a column that PSI compares (no numbers, no dates): a text column on
the other side is read as one, so ``TRUE`` and ``true``, ``10:30`` and ``10:30:00`` agree."""


def _label(col: str, dtype: str, other: str) -> str:
    """SQL: the PSI bucket of ``col`` (of type ``dtype``; ``other`` in the other file), NULL for none.

    Its text, as a rule. When this side is text and the other a type of :data:`_READ_AS`, the
    text is read as that type, as the other file's reader did (a boolean by the profile's own
    rule, :func:`taskq.jobs.profile_stats.valid_values`) and written as it writes one: a
    spelling is no drift. A value that does not read so keeps its text. In text a blank or a
    placeholder (``N/A``, ``-``, ``null``) is no value, whatever the other side: it is missing,
    as NULL is, so a column of ``N/A`` in one file and ``-`` in the other has no values to compare.
    """
    q = quote_ident(col)
    if dtype != "VARCHAR":
        return f"CAST({q} AS VARCHAR)"
    if other not in _READ_AS:
        return f"(CASE WHEN {present_sql(q)} THEN {q} END)"
    read = valid_values("boolean", q)[0] if other == "BOOLEAN" else f"TRY_CAST(trim({q}) AS {other})"
    return f"(CASE WHEN {present_sql(q)} THEN coalesce(CAST({read} AS VARCHAR), {q}) END)"


def _psi(
    con: duckdb.DuckDBPyConnection, cur: str, base: str, col: str, dtypes: tuple[str, str]
) -> dict[str, Any]:
    qc, qb = _label(col, dtypes[0], dtypes[1]), _label(col, dtypes[1], dtypes[0])
    rows = con.execute(
        f"""WITH b AS (SELECT {qb} AS v, count(*) AS n FROM {base} WHERE {qb} IS NOT NULL GROUP BY 1),
            top AS (SELECT v FROM b ORDER BY n DESC, v LIMIT {_TOP}),
            c AS (SELECT {qc} AS v, count(*) AS n FROM {cur} WHERE {qc} IS NOT NULL GROUP BY 1),
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
    named_b = sum(b for k, b, _c in rows if k != "\x00other")
    named_c = sum(c for k, _b, c in rows if k != "\x00other")
    cov_b, cov_c = (named_b / nb if nb else 0.0), (named_c / nc if nc else 0.0)
    out = {
        "test": "psi",
        "statistic": round(psi, 4),
        "p_value": None,
        "n": int(nc),
        "n_baseline": int(nb),
        "drifted": psi > 0.25,
        "summary": f"PSI={psi:.3f}",
        "coverage": {"input": round(cov_c, 4), "baseline": round(cov_b, 4)},
    }
    if psi <= 0.25 and min(cov_b, cov_c) < MIN_COVERAGE:
        out.update(
            statistic=None,
            drifted=None,
            summary=f"the baseline's {_TOP} most common values are {cov_b:.1%} of it and {cov_c:.1%} "
            "of the input; the rest, too many distinct values to count, share one bucket",
        )
    return out


def status(result: dict[str, Any]) -> str:
    """``drifted``, ``stable``, ``not testable`` (``drifted`` None) or ``not compared`` (no test)."""
    if result.get("test") is None:
        return "not compared"
    if result.get("drifted") is None:
        return "not testable"
    return "drifted" if result["drifted"] else "stable"


def _present(con: duckdb.DuckDBPyConnection, rel: str, col: str, dtype: str) -> int:
    """How many values of ``col`` (of type ``dtype``) in ``rel`` are present: not NULL and,
    in text, not blank or a placeholder (:func:`taskq.jobs.profile_stats.present_sql`)."""
    q = quote_ident(col)
    test = present_sql(q) if dtype == "VARCHAR" else f"{q} IS NOT NULL"
    return int(con.execute(f"SELECT count(*) FILTER ({test}) FROM {rel}").fetchall()[0][0])


_READS = {
    "numeric": ("numeric values", "reads as a number"),
    "temporal": (
        "date or time values",
        "reads as a date or time by the profile's rule (ISO 8601, such as 2024-01-31 or 2024-01-31 10:00)",
    ),
}


def drift_column(
    con: duckdb.DuckDBPyConnection,
    cur: str,
    base: str,
    col: str,
    kind: Kind,
    dtypes: tuple[str, str] = ("VARCHAR", "VARCHAR"),
) -> dict[str, Any]:
    """The drift result for ``col`` (present in both relations, of ``dtypes`` in ``cur``
    and ``base``), by the test for its ``kind`` (see the module docstring).

    When a side has no values to compare there is no statistic. It has drifted
    when that side has no values at all (all NULL, blank or placeholders) and the
    other has some, read or not. It is ``not testable`` when neither side has
    values, or when both do and on a side under :data:`MIN_READ` of them read as
    a number (``numeric``) or a date or time (``temporal``): text dates in another
    format (``01/31/2024``) against typed dates are a reading the profile does not
    make, not a change in the data, and one readable value among 300 ``$375.15``
    is no sample of the column.
    """
    if kind == "numeric":
        result = _ks(con, cur, base, _number(col, dtypes[0]), _number(col, dtypes[1]))
    elif kind == "temporal":
        result = _ks(con, cur, base, _epoch(col, dtypes[0]), _epoch(col, dtypes[1]))
    else:
        result = _psi(con, cur, base, col, dtypes)
    n, m = result["n"], result["n_baseline"]
    if kind == "categorical":  # PSI counts the present values themselves
        present = (n, m)
    else:
        present = (_present(con, cur, col, dtypes[0]), _present(con, base, col, dtypes[1]))
    values, reads = _READS.get(kind, ("values", ""))
    if not present[0] or not present[1]:
        result.pop("coverage", None)
        result.update(statistic=None, p_value=None, drifted=None)
        if not present[0] and not present[1]:
            result["summary"] = "no values in either file to compare"
        else:
            empty = "the input" if not present[0] else "the baseline"
            result.update(drifted=True, summary=f"no values in {empty} to compare")
        return {"column": col, **result, "status": status(result)}
    unread = [
        (side, k, p)
        for side, k, p in (("the input", n, present[0]), ("the baseline", m, present[1]))
        if k < MIN_READ * p
    ]
    if unread:
        result.pop("coverage", None)
        result.update(statistic=None, p_value=None, drifted=None)
        said = [
            f"none of the {p:,} values in {side} {reads}"
            if not k
            else f"only {k:,} of the {p:,} values in {side} {reads}"
            for side, k, p in unread
        ]
        result["summary"] = f"{' and '.join(said)}, so there are too few {values} to compare"
        if all(not k for _, k, _ in unread):
            result["summary"] = f"{' and '.join(said)}, so there are no {values} to compare"
    return {"column": col, **result, "status": status(result)}
