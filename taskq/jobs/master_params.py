"""Parameters of master-my-data: checking them and filling defaults.

Checked without reading the input (this runs in the API at submit time);
column names are checked against the input later, in :func:`check_columns`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..errors import InvalidParams, UnknownColumn
from .io import check_engine, check_options
from .master_golden import RULES
from .master_roles import ROLES

__all__ = ["DEFAULTS", "check_columns", "validate_params"]

DEFAULTS: dict[str, Any] = {
    "threshold": 0.9,
    "roles": {},
    "ignore_columns": [],
    "nicknames": True,
    "split_names": True,
    "block_window": 10,
    "max_cluster_size": 100,
    "cluster_support": 0.5,
    "survivorship": {"default": "most_frequent"},
    "recency_column": None,
    "source_column": None,
    "source_priority": [],
    "review_band": 3.0,
    "max_review_rows": 10_000,
    "max_columns": 500,
    "memory_limit": "2GB",
    "threads": 2,
    "read_options": {},
}


def _number(
    params: dict[str, Any],
    key: str,
    lo: float,
    hi: float,
    *,
    open_lo: bool = True,
    open_hi: bool = True,
    integer: bool = False,
) -> None:
    value = params[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        raise InvalidParams(f"{key} must be {'an integer' if integer else 'a number'}, not {value!r}")
    bad = (
        not math.isfinite(value)  # NaN passes every comparison below
        or value < lo
        or value > hi
        or (open_lo and value == lo)
        or (open_hi and value == hi)
    )
    if bad:
        lb, hb = "(" if open_lo else "[", ")" if open_hi else "]"
        raise InvalidParams(f"{key} must be in {lb}{lo}, {hi}{hb}, not {value!r}")


def _column_list(params: dict[str, Any], key: str, what: str = "column names") -> None:
    value = params[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParams(f"{key} must be a list of {what}, not {value!r}")


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    """Check ``params`` and return them with defaults filled in.

    Raises:
        InvalidParams: an unknown key, a wrong type, ``threshold`` outside (0, 1),
            an unknown role or survivorship rule, or a rule without the column it needs.
    """
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise InvalidParams(
            f"unknown parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(DEFAULTS))}"
        )
    out = {k: (v.copy() if isinstance(v, dict | list) else v) for k, v in DEFAULTS.items()}
    out.update(params)
    _number(out, "threshold", 0.0, 1.0)
    _number(out, "cluster_support", 0.0, 1.0, open_hi=False)
    _number(out, "review_band", 0.0, 50.0, open_hi=False)
    _number(out, "block_window", 1, 1000, open_lo=False, open_hi=False, integer=True)
    _number(out, "max_cluster_size", 3, 10_000, open_lo=False, open_hi=False, integer=True)
    _number(out, "max_review_rows", 0, 10_000_000, open_lo=False, open_hi=False, integer=True)
    _number(out, "max_columns", 1, 100_000, open_lo=False, open_hi=False, integer=True)
    for key in ("nicknames", "split_names"):
        if not isinstance(out[key], bool):
            raise InvalidParams(f"{key} must be true or false")
    out["threads"], out["memory_limit"] = check_engine(out["threads"], out["memory_limit"])
    roles = out["roles"]
    if not isinstance(roles, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in roles.items()
    ):
        raise InvalidParams("roles must map column names to role names")
    bad = sorted({v for v in roles.values() if v not in ROLES})
    if bad:
        raise InvalidParams(f"unknown role(s) {', '.join(map(repr, bad))}; known: {', '.join(ROLES)}")
    _column_list(out, "ignore_columns")
    _column_list(out, "source_priority", "source_column values, most trusted first")
    out["read_options"] = check_options(out["read_options"])
    surv = out["survivorship"]
    if isinstance(surv, str):
        surv = {"default": surv}
    if not isinstance(surv, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in surv.items()
    ):
        raise InvalidParams("survivorship must be a rule name or an object {column: rule, 'default': rule}")
    surv = {"default": "most_frequent", **surv}
    bad = sorted({v for v in surv.values() if v not in RULES})
    if bad:
        raise InvalidParams(
            f"unknown survivorship rule(s) {', '.join(map(repr, bad))}; known: {', '.join(RULES)}"
        )
    out["survivorship"] = surv
    for key in ("recency_column", "source_column"):
        if out[key] is not None and not isinstance(out[key], str):
            raise InvalidParams(f"{key} must be a column name")
    used = set(surv.values())
    if "most_recent" in used and out["recency_column"] is None:
        raise InvalidParams("survivorship rule 'most_recent' needs recency_column")
    if "source_priority" in used and (out["source_column"] is None or not out["source_priority"]):
        raise InvalidParams(
            "survivorship rule 'source_priority' needs source_column and a source_priority list"
        )
    return out


def check_columns(params: dict[str, Any], columns: Sequence[str], file_name: str) -> None:
    """Raise :class:`UnknownColumn` for any parameter naming a column the input lacks."""
    have = set(columns)
    named: list[tuple[str, str]] = [(c, "roles") for c in params["roles"]]
    named += [(c, "ignore_columns") for c in params["ignore_columns"]]
    named += [(c, "survivorship") for c in params["survivorship"] if c != "default"]
    named += [(params[k], k) for k in ("recency_column", "source_column") if params[k] is not None]
    for column, key in named:
        if column not in have:
            raise UnknownColumn(
                f"{file_name}: parameter {key} names column {column!r}, which is not in the input "
                f"(columns: {', '.join(columns)})",
                column=column,
            )
