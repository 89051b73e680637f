"""Golden records: one surviving value per column and cluster, with lineage.

Survivorship rules, chosen per column (``survivorship = {"default": rule,
column: rule}``). Only non-blank values compete; a cluster whose rows are all
blank in a column gets an empty value. A placeholder (``N/A``, ``unknown``...)
loses to any real value whatever the rule, and wins only where the cluster has
nothing else. Ties that remain after a rule's own tie-breaks fall to the earliest
row (the lowest input row number).

* ``most_frequent``: the value most rows of the cluster carry.
* ``most_complete``: the longest value (most information: "Jonathan" over
  "Jon"); ties go to the most frequent.
* ``most_recent``: the value of the row with the latest ``recency_column``
  (parsed as a timestamp, an ISO/YYYYMMDD/day-first date, else a number). Any
  date ranks above a plain number; rows whose recency is blank, does not parse,
  or is infinite or NaN come last, whatever the other rows hold. Equal
  recencies (``20230601`` and ``2023-06-01``) tie.
* ``source_priority``: the value from the row whose ``source_column`` comes
  first in ``source_priority``; sources not listed come last; ties (one source)
  go to the most frequent.

Values are the raw input values (not the normalised ones). ``source_rows``
lists the 0-based input rows of the cluster, ``;``-separated, ascending.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from ._placeholders import placeholder_sql
from .io import quote_ident, sql_literal
from .master_normalize import _DATE_FORMATS

__all__ = ["RULES", "golden_query"]

logger = logging.getLogger(__name__)

RULES = ("most_frequent", "most_complete", "most_recent", "source_priority")


def _recency_sql(column: str) -> str:
    """SQL: ``column`` parsed as a date or timestamp (``rec_t``) and as a number (``rec_n``)."""
    col = quote_ident(column)
    fmts = "[" + ", ".join(sql_literal(f) for f in _DATE_FORMATS) + "]"
    return (
        f"coalesce(try_cast(trim({col}) AS TIMESTAMP), try_strptime(trim({col}), {fmts})) AS rec_t, "
        f"try_cast(trim({col}) AS DOUBLE) AS rec_n"
    )


_REC_KIND = (
    "(CASE WHEN coalesce(isfinite(rec_t), false) THEN 2 "
    "WHEN coalesce(isfinite(rec_n), false) THEN 1 ELSE 0 END)"
)
_REC_KEY = (
    f"{{'k': {_REC_KIND}, 't': CASE WHEN {_REC_KIND} = 2 THEN rec_t ELSE TIMESTAMP '1970-01-01' END, "
    f"'n': CASE WHEN {_REC_KIND} = 1 THEN rec_n ELSE 0.0 END}}"
)
"""Sort key of a row's recency, greater is more recent. DuckDB ranks a NULL field
of a struct above any value (``{'t': NULL} > {'t': TIMESTAMP '2023-06-01'}``), so
no field is ever NULL: ``k`` says what parsed (2 a date or timestamp, 1 only a
number, 0 nothing, nor an infinite date or a NaN) and only that kind's field
carries the value. A blank or unreadable recency comes last; any date ranks above
a plain number; equal recencies tie (and go to the earliest row)."""


def golden_query(
    view: str,
    assign_table: str,
    columns: Sequence[str],
    rules: Mapping[str, str],
    *,
    recency_column: str | None = None,
    source_column: str | None = None,
    source_priority: Sequence[str] = (),
) -> str:
    """SQL selecting one golden row per cluster, ordered by ``cluster_id``.

    Args:
        view: the input view (VARCHAR columns plus ``__row``).
        assign_table: ``(rid, cluster_id)`` for every row.
        columns: the columns to carry into the golden record, in order.
        rules: column -> rule; every column in ``columns`` must be present.
        recency_column, source_column, source_priority: inputs of the rules that need them.
    """
    windows = []
    aggs = []
    for i, column in enumerate(columns):
        col = quote_ident(column)
        value = f"nullif(trim(CAST(j.{col} AS VARCHAR)), '')"
        windows.append(f"{value} AS v{i}")
        windows.append(f"count(*) OVER (PARTITION BY j.cluster_id, {value}) AS f{i}")
        windows.append(f"NOT {placeholder_sql(value)} AS k{i}")
        rule = rules[column]
        if rule == "most_frequent":
            key = f"{{'real': k{i}, 'f': f{i}, 'r': -__row}}"
        elif rule == "most_complete":
            key = f"{{'real': k{i}, 'len': length(v{i}), 'f': f{i}, 'r': -__row}}"
        elif rule == "most_recent":
            key = f"{{'real': k{i}, 'rec': {_REC_KEY}, 'r': -__row}}"
        elif rule == "source_priority":
            key = f"{{'real': k{i}, 'p': -coalesce(prio, 1000000), 'f': f{i}, 'r': -__row}}"
        else:  # pragma: no cover - validated earlier
            raise ValueError(rule)
        aggs.append(f"coalesce(arg_max(v{i}, {key}) FILTER (WHERE v{i} IS NOT NULL), '') AS {col}")
    extra = []
    if recency_column is not None:
        extra.append(_recency_sql(recency_column))
    if source_column is not None:
        plist = "[" + ", ".join(sql_literal(str(s)) for s in source_priority) + "]"
        extra.append(f"list_position({plist}, trim(CAST(j.{quote_ident(source_column)} AS VARCHAR))) AS prio")
    inner = ", ".join(["j.__row", "j.cluster_id", *windows, *extra])
    # Singletons (most clusters) need no survivorship: their golden record is the
    # row itself, so only multi-row clusters go through the windows and aggregates.
    sizes = f"(SELECT cluster_id, count(*) AS n FROM {assign_table} GROUP BY cluster_id)"
    rows = (
        f"FROM {view} AS s JOIN {assign_table} AS a ON a.rid = s.__row "
        f"JOIN {sizes} AS z ON z.cluster_id = a.cluster_id"
    )
    single = ", ".join(
        f"coalesce(nullif(trim(CAST(s.{quote_ident(c)} AS VARCHAR)), ''), '')" for c in columns
    )
    return (
        f"SELECT * FROM (SELECT cluster_id, count(*) AS cluster_size, "
        f"string_agg(CAST(__row AS VARCHAR), ';' ORDER BY __row) AS source_rows, {', '.join(aggs)} "
        f"FROM (SELECT {inner} FROM (SELECT s.*, a.cluster_id {rows} WHERE z.n > 1) AS j) "
        f"GROUP BY cluster_id UNION ALL SELECT a.cluster_id, CAST(1 AS BIGINT), CAST(s.__row AS VARCHAR)"
        f"{', ' + single if single else ''} {rows} WHERE z.n = 1) ORDER BY cluster_id"
    )
