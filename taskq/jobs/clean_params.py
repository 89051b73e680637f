"""Parameters of clean-my-data: the step pipeline, its defaults and validation.

The pipeline is a fixed sequence of steps (:data:`STEP_ORDER`); each step can
be switched off or given parameters. Params look like::

    {"steps": ["whitespace", {"step": "types", "threshold": 0.9}, {"step": "dedupe", "enabled": false}],
     "columns": {"city": {"case": "title", "nulls": "mode"}},
     "threshold": 0.95, "default_region": "US", "remove_outliers": false,
     "read_options": {"delimiter": ";"}, "threads": 2, "memory_limit": "768MB", "max_columns": 2000}

``steps`` entries override the defaults of the steps they name, and turn them
on unless they say ``"enabled": false`` (a bare name is enough); unnamed steps
keep theirs. Entries must follow the pipeline order (later steps depend on
earlier ones: type fixing needs placeholders nulled first), so an out-of-order
list is refused rather than silently re-ordered. The top-level shortcuts
(``threshold``, ``default_region``, ``remove_outliers``, ``columns``) are
folded into the steps they belong to.

A null strategy named for a column (``columns.<col>.nulls`` or the nulls step's
``columns``) must fit the column as the types step leaves it: ``mean`` and
``median`` a number column, ``constant`` a value of the column's type (exactly:
``1.5`` is no integer). One that does not fails the run with ``INVALID_PARAMS``
naming the column, before any row work; the step's ``default`` strategy instead
skips the columns it does not fit (a ``skipped`` note and a recommendation).

``threads`` and ``memory_limit`` size DuckDB (:data:`ENGINE` gives the
defaults); more memory keeps a large input (10M rows) in RAM instead of
spilling it to disk. They do not change the output. ``max_columns``
(default :data:`MAX_COLUMNS`) refuses wider inputs with ``INPUT_TOO_LARGE``.

:func:`validate_params` returns ``{"steps": [...all nine steps, fully
specified...], "read_options": {...}, "threads": ..., "memory_limit": ..., "max_columns": ...}``. That list is written to
``changes.json``; passing ``{"steps": <that list>}`` back reproduces the run.
"""

from __future__ import annotations

import copy
import logging
import math
from typing import Any

from ..errors import InvalidParams
from .io import check_engine, check_options

__all__ = ["CASES", "NULL_STRATEGIES", "STEP_ORDER", "TOP_LEVEL", "TYPE_NAMES", "step_map", "validate_params"]

logger = logging.getLogger(__name__)

STEP_ORDER = (
    "whitespace",
    "placeholders",
    "rename_columns",
    "types",
    "standardise",
    "dedupe",
    "quarantine",
    "nulls",
    "outliers",
)
"""Every step, in the order the pipeline runs them."""

DEFAULT_PLACEHOLDERS = [
    "", "N/A", "n/a", "NA", "#N/A", "#NA", "<NA>", "null", "NULL", "None", "NaN", "nan", "-NaN", "-nan", "-", "?",
]  # fmt: skip
"""Exact, case-sensitive tokens the placeholders step nulls by default: the missing-value
markers pandas reads as NaN (and writes: ``NaN``, ``<NA>``), spreadsheets' ``#N/A``, and
``-``/``?``. A pandas export with ``NaN`` for missing numbers keeps those rows, as nulls."""
TYPE_NAMES = ("auto", "text", "integer", "number", "date", "boolean")
CASES = ("upper", "lower", "title")
NULL_STRATEGIES = ("leave", "drop", "mean", "median", "mode", "constant")

DEFAULTS: dict[str, dict[str, Any]] = {
    "whitespace": {"enabled": True, "collapse": True, "nfc": True},
    "placeholders": {"enabled": True, "tokens": DEFAULT_PLACEHOLDERS},
    "rename_columns": {"enabled": False},
    "types": {"enabled": True, "threshold": 0.95, "columns": {}, "dayfirst": {}, "decimal": {}},
    "standardise": {
        "enabled": True,
        "default_region": "US",
        "email_columns": "auto",
        "phone_columns": "auto",
        "case": {},
    },
    "dedupe": {"enabled": True, "ignore_case": True},
    "quarantine": {"enabled": True},
    "nulls": {"enabled": True, "default": "leave", "columns": {}},
    "outliers": {"enabled": True, "k": 1.5, "remove": False, "columns": "auto"},
}

ENGINE: dict[str, Any] = {"threads": 2, "memory_limit": "768MB"}
"""DuckDB's worker threads and buffer-pool limit (past it, tables spill to disk), as profile and master take them."""

TOP_LEVEL = {
    "steps",
    "columns",
    "threshold",
    "default_region",
    "remove_outliers",
    "read_options",
    "input_options",
    "threads",
    "memory_limit",
    "max_columns",
}
"""``input_options`` is the old name of ``read_options`` (the name profile and master use), still accepted."""
MAX_COLUMNS = 2000
"""Default ``max_columns``: wider inputs are refused (each column costs a few queries,
about 18 ms; 2,000 columns take under a minute), as profile-my-data does."""
_COLUMN_KEYS = {"type", "case", "nulls", "fill_value", "dayfirst", "decimal"}


def _fail(key: str, message: str) -> InvalidParams:
    return InvalidParams(f"{key}: {message}", key=key)


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, f"must be true or false, not {value!r}")
    return value


def _ratio(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise _fail(key, f"must be a number in (0, 1], not {value!r}")
    return float(value)


def _choice(value: Any, choices: tuple[str, ...], key: str) -> str:
    if value not in choices:
        raise _fail(key, f"must be one of {', '.join(choices)}; got {value!r}")
    return str(value)


def _column_dict(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise _fail(key, "must be an object keyed by column name")
    return dict(value)


def _column_list(value: Any, key: str) -> list[str] | str:
    if value == "auto":
        return "auto"
    if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
        raise _fail(key, f'must be "auto" or a list of column names, not {value!r}')
    return list(value)


def _null_rule(value: Any, key: str) -> dict[str, Any]:
    """A null strategy as ``{"strategy": s}`` (plus ``"value"`` for constant)."""
    if isinstance(value, str):
        value = {"strategy": value}
    if not isinstance(value, dict) or set(value) - {"strategy", "value"}:
        raise _fail(key, 'must be a strategy name or {"strategy": ..., "value": ...}')
    strategy = _choice(value.get("strategy"), NULL_STRATEGIES, key)
    if strategy == "constant":
        const = value.get("value")
        if const is None or isinstance(const, dict | list):
            raise _fail(key, "the constant strategy needs a scalar 'value'")
        if isinstance(const, float) and not math.isfinite(const):
            raise _fail(key, "the constant value must be finite")
        return {"strategy": strategy, "value": const}
    return {"strategy": strategy}


def _check_step(name: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """Validate one step's full parameter dict (defaults already merged)."""
    key = f"steps.{name}"
    unknown = sorted(set(cfg) - set(DEFAULTS[name]))
    if unknown:
        raise _fail(f"{key}.{unknown[0]}", f"unknown parameter; known: {', '.join(sorted(DEFAULTS[name]))}")
    out: dict[str, Any] = {"enabled": _bool(cfg["enabled"], f"{key}.enabled")}
    if name == "whitespace":
        out["collapse"] = _bool(cfg["collapse"], f"{key}.collapse")
        out["nfc"] = _bool(cfg["nfc"], f"{key}.nfc")
    elif name == "placeholders":
        tokens = cfg["tokens"]
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise _fail(f"{key}.tokens", "must be a list of strings")
        out["tokens"] = list(dict.fromkeys(tokens))
    elif name == "types":
        out["threshold"] = _ratio(cfg["threshold"], f"{key}.threshold")
        cols = _column_dict(cfg["columns"], f"{key}.columns")
        out["columns"] = {c: _choice(t, TYPE_NAMES, f"{key}.columns.{c}") for c, t in cols.items()}
        dayfirst = _column_dict(cfg["dayfirst"], f"{key}.dayfirst")
        out["dayfirst"] = {c: _bool(v, f"{key}.dayfirst.{c}") for c, v in dayfirst.items()}
        decimal = _column_dict(cfg["decimal"], f"{key}.decimal")
        out["decimal"] = {c: _choice(v, (".", ","), f"{key}.decimal.{c}") for c, v in decimal.items()}
    elif name == "standardise":
        region = cfg["default_region"]
        if not isinstance(region, str) or len(region) != 2 or not region.isalpha():
            raise _fail(
                f"{key}.default_region", f"must be a two-letter region code like 'US', not {region!r}"
            )
        from phonenumbers import SUPPORTED_REGIONS

        if region.upper() not in SUPPORTED_REGIONS:
            hint = " (the United Kingdom is 'GB')" if region.upper() == "UK" else ""
            raise _fail(
                f"{key}.default_region",
                f"{region!r} is not a region phone numbers know{hint}; use an ISO 3166 code like 'US'",
            )
        out["default_region"] = region.upper()
        out["email_columns"] = _column_list(cfg["email_columns"], f"{key}.email_columns")
        out["phone_columns"] = _column_list(cfg["phone_columns"], f"{key}.phone_columns")
        case = _column_dict(cfg["case"], f"{key}.case")
        out["case"] = {c: _choice(v, CASES, f"{key}.case.{c}") for c, v in case.items()}
    elif name == "dedupe":
        out["ignore_case"] = _bool(cfg["ignore_case"], f"{key}.ignore_case")
    elif name == "nulls":
        out["default"] = _null_rule(cfg["default"], f"{key}.default")["strategy"]
        if out["default"] == "constant":
            raise _fail(f"{key}.default", "constant needs a value: set it per column")
        cols = _column_dict(cfg["columns"], f"{key}.columns")
        out["columns"] = {c: _null_rule(v, f"{key}.columns.{c}") for c, v in cols.items()}
    elif name == "outliers":
        k = cfg["k"]
        if isinstance(k, bool) or not isinstance(k, int | float) or not 0 < k < 100:
            raise _fail(f"{key}.k", f"must be a positive number (IQR multiplier), not {k!r}")
        out["k"] = float(k)
        out["remove"] = _bool(cfg["remove"], f"{key}.remove")
        out["columns"] = _column_list(cfg["columns"], f"{key}.columns")
    return out


def _fold_columns(columns: Any, steps: dict[str, dict[str, Any]]) -> None:
    """Spread the per-column shortcut ``columns`` into the steps' parameters."""
    columns = _column_dict(columns, "columns")
    for col, opts in columns.items():
        if not isinstance(opts, dict):
            raise _fail(f"columns.{col}", "must be an object of column options")
        unknown = sorted(set(opts) - _COLUMN_KEYS)
        if unknown:
            raise _fail(
                f"columns.{col}.{unknown[0]}", f"unknown option; known: {', '.join(sorted(_COLUMN_KEYS))}"
            )
        if "type" in opts:
            steps["types"]["columns"][col] = opts["type"]
        if "dayfirst" in opts:
            steps["types"]["dayfirst"][col] = opts["dayfirst"]
        if "decimal" in opts:
            steps["types"]["decimal"][col] = opts["decimal"]
        if "case" in opts:
            steps["standardise"]["case"][col] = opts["case"]
        if "nulls" in opts:
            rule = opts["nulls"]
            if isinstance(rule, str) and "fill_value" in opts:
                rule = {"strategy": rule, "value": opts["fill_value"]}
            steps["nulls"]["columns"][col] = rule
        elif "fill_value" in opts:
            raise _fail(f"columns.{col}.fill_value", "only valid together with nulls: constant")


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    """Check clean-my-data params and return the fully specified pipeline.

    Column names are not checked against the input here (the input is not
    read at submit time); :func:`taskq.jobs.clean.run` does that.

    Returns:
        ``{"steps": [nine step dicts in pipeline order, each with "step",
        "enabled" and every parameter], "read_options": {...}, "threads": int,
        "memory_limit": str, "max_columns": int}``.

    Raises:
        InvalidParams: naming the offending key (``steps.types.threshold``...).
    """
    unknown = sorted(set(params) - TOP_LEVEL)
    if unknown:
        raise _fail(unknown[0], f"unknown parameter; known: {', '.join(sorted(TOP_LEVEL))}")
    steps = {name: copy.deepcopy(cfg) for name, cfg in DEFAULTS.items()}
    entries = params.get("steps", [])
    if not isinstance(entries, list):
        raise _fail("steps", "must be a list of step names or step objects")
    last = -1
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            entry = {"step": entry}
        if isinstance(entry, dict) and "enabled" not in entry:
            entry = {**entry, "enabled": True}  # naming a step turns it on (rename_columns is off by default)
        if not isinstance(entry, dict) or not isinstance(entry.get("step"), str):
            raise _fail(f"steps[{i}]", 'must be a step name or an object with a "step" key')
        name = entry["step"]
        if name not in STEP_ORDER:
            raise _fail(f"steps[{i}].step", f"unknown step {name!r}; steps: {', '.join(STEP_ORDER)}")
        pos = STEP_ORDER.index(name)
        if pos <= last:
            raise _fail(
                f"steps[{i}]",
                f"step {name!r} is out of order or repeated; the pipeline order is {', '.join(STEP_ORDER)}",
            )
        last = pos
        overrides = {k: v for k, v in entry.items() if k != "step"}
        unknown_keys = sorted(set(overrides) - set(DEFAULTS[name]))
        if unknown_keys:
            raise _fail(
                f"steps.{name}.{unknown_keys[0]}",
                f"unknown parameter; known: {', '.join(sorted(DEFAULTS[name]))}",
            )
        steps[name].update(copy.deepcopy(overrides))
    if "threshold" in params:
        steps["types"]["threshold"] = params["threshold"]
    if "default_region" in params:
        steps["standardise"]["default_region"] = params["default_region"]
    if "remove_outliers" in params:
        steps["outliers"]["remove"] = _bool(params["remove_outliers"], "remove_outliers")
    for name in ("types", "standardise", "nulls"):
        for sub in ("columns", "dayfirst", "decimal", "case"):
            if sub in steps[name]:
                steps[name][sub] = dict(_column_dict(steps[name][sub], f"steps.{name}.{sub}"))
    if "columns" in params:
        _fold_columns(params["columns"], steps)
    if "read_options" in params and "input_options" in params:
        raise _fail("input_options", "is the old name of read_options: give one of them")
    read_options = check_options(params.get("read_options", params.get("input_options")))
    threads, memory = check_engine(
        params.get("threads", ENGINE["threads"]), params.get("memory_limit", ENGINE["memory_limit"])
    )
    max_columns = params.get("max_columns", MAX_COLUMNS)
    if isinstance(max_columns, bool) or not isinstance(max_columns, int) or not 1 <= max_columns <= 100_000:
        raise InvalidParams(
            f"parameter 'max_columns' must be an integer from 1 to 100000, not {max_columns!r}"
        )
    checked = [{"step": name, **_check_step(name, steps[name])} for name in STEP_ORDER]
    return {
        "steps": checked,
        "read_options": read_options,
        "threads": threads,
        "memory_limit": memory,
        "max_columns": max_columns,
    }


def step_map(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Validated params as ``{step name: its parameters}``."""
    return {s["step"]: s for s in params["steps"]}


def named_columns(steps: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Every column the params name, mapped to the parameter key that names it."""
    named: dict[str, str] = {}
    for name, sub in (
        ("types", "columns"),
        ("types", "dayfirst"),
        ("types", "decimal"),
        ("standardise", "case"),
        ("nulls", "columns"),
    ):
        for col in steps[name][sub]:
            named.setdefault(col, f"steps.{name}.{sub}")
    for name, sub in (
        ("standardise", "email_columns"),
        ("standardise", "phone_columns"),
        ("outliers", "columns"),
    ):
        if isinstance(steps[name][sub], list):
            for col in steps[name][sub]:
                named.setdefault(col, f"steps.{name}.{sub}")
    return named
