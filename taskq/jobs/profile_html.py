"""Rendering a profile as one self-contained HTML page.

No scripts, fonts or stylesheets are fetched: CSS is inline and the charts
are inline SVG (a histogram per numeric column, horizontal bars for top
values). Every value from the data is HTML-escaped, so a cell holding
``<script>`` shows as text. Numbers are shown without invented digits
(:func:`_num`), all seven quantiles are listed, and a footnote defines them,
the string lengths and how numbers are shown (:data:`_NOTES`).
"""

from __future__ import annotations

import html
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["render_html"]

_CSS = """
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1f2937;background:#f3f4f6}header{background:#111827;color:#f9fafb;padding:24px 32px}
header h1{margin:0 0 4px;font-size:22px}header p{margin:0;color:#9ca3af}main{padding:24px 32px;max-width:1280px;margin:auto}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px;margin-bottom:20px}
.card{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.card .k{color:#6b7280;font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card .v{font-size:24px;font-weight:600}
.badge{display:inline-block;padding:3px 10px;border-radius:999px;font-weight:600;font-size:13px}
.ready{background:#d1fae5;color:#065f46}.needs-review{background:#fef3c7;color:#92400e}.not-ready{background:#fee2e2;color:#991b1b}
section{background:#fff;border-radius:10px;padding:16px 20px;margin-bottom:16px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
h2{font-size:17px;margin:0 0 10px}h3{font-size:15px;margin:0}table{border-collapse:collapse;width:100%}
td,th{padding:4px 8px;border-bottom:1px solid #eef0f3;text-align:left;vertical-align:top}th{color:#6b7280;font-weight:500}
.sev{font-weight:600;text-transform:uppercase;font-size:11px}.critical{color:#b91c1c}.warning{color:#b45309}.info{color:#2563eb}
.col{display:grid;grid-template-columns:260px 1fr 1fr;gap:18px}.muted{color:#6b7280}.mono{font-family:ui-monospace,Menlo,monospace}
.bar{fill:#6366f1}.bar2{fill:#10b981}svg text{font:11px system-ui,sans-serif;fill:#374151}
@media(max-width:900px){.col{grid-template-columns:1fr}}
"""


_NOTES = (
    "Numeric statistics describe the values valid for a column's inferred type (invalid ones "
    "are counted, not measured). Quantiles p1, p5, p25, p50, p75, p95, p99 interpolate linearly "
    "between order statistics (DuckDB quantile_cont: position q × (count − 1) in the sorted "
    "values). String lengths count Unicode code points: é written as e and a combining accent "
    "is 2, a family emoji joined by zero-width joiners 5. Integers are shown with every digit; "
    "other numbers with 4 significant digits below 10,000, rounded to the unit below 1e15, and "
    "in scientific notation with 6 significant digits from 1e15 up and below 1e-4 (1e+308); "
    "halves round away from zero (1,234.5 shows as 1,235) and -0 shows as 0."
)
"""The footnote of every page: how its numbers are defined and shown (as :func:`_num` does)."""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _digits_before(value: float) -> int:
    """How many digits ``value`` (finite, not 0) has before its decimal point; 0.05 has -1."""
    return Decimal(repr(value)).adjusted() + 1


def _half_up(value: float, places: int) -> float:
    """``value`` rounded to ``places`` decimals, halves away from zero (``1234.5`` is 1235,
    where Python's formats round to even: 1,234), and never ``-0``. The value is taken as
    its shortest decimal form (``repr``), the digits a file or a reader shows for it."""
    rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return float(rounded) + 0.0  # -0.0 + 0.0 is 0.0


def _num(value: Any) -> str:
    """A number as shown on the page, with no digit the value does not have.

    Integers exactly, every digit (``18,446,744,073,709,551,615``). Floats: 4
    significant digits below 10,000; rounded to the unit below 1e15, where a
    DOUBLE still holds the unit; beyond, and below 1e-4, scientific notation
    with 6 significant digits (``1e+308``, not 309 digits, most of them the
    conversion's invention). The bounds apply to the value as rounded:
    ``9999.5`` is ``10,000``, never ``1e+04``. Halves round away from zero
    (``1234.5`` is ``1,235``, ``-1234.5`` is ``-1,235``) and ``-0.0`` shows as ``0``
    (:func:`_half_up`). :data:`_NOTES` says the same.
    """
    if value is None:
        return "–"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if 0 < abs(value) < 1e-4:
            return f"{value:.6g}"
        # Which form a value takes goes by the value as rounded: 9999.5 has 4 significant
        # digits as 10,000 (``.4g`` made it ``1e+04``), 999999999999999.9 is 1e15.
        small = f"{_half_up(value, 4 - _digits_before(value)):,.4g}" if value else "0"
        if "e" not in small and abs(value) < 1e4:
            return small
        unit = _half_up(value, 0) if abs(value) < 1e15 else math.inf
        return f"{unit:,.0f}" if abs(unit) < 1e15 else f"{value:.6g}"
    if isinstance(value, int):
        return f"{value:,}"
    return _e(value)


def _histogram(hist: dict[str, Any]) -> str:
    counts = hist["counts"]
    if not counts:
        return ""
    w, h, top = 320, 120, max(counts) or 1
    bw = w / len(counts)
    bars = "".join(
        f'<rect class="bar" x="{i * bw + 1:.1f}" y="{h - 16 - (h - 26) * c / top:.1f}" '
        f'width="{max(bw - 2, 1):.1f}" height="{(h - 26) * c / top:.1f}"><title>{c:,}</title></rect>'
        for i, c in enumerate(counts)
    )
    lo, hi = hist["min"], hist["edges"][-1]
    return (
        f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="histogram">{bars}'
        f'<text x="0" y="{h - 2}">{_num(lo)}</text><text x="{w}" y="{h - 2}" text-anchor="end">{_num(hi)}</text></svg>'
    )


def _visible_edges(text: str) -> str:
    """Leading/trailing whitespace shown as ␣: ' Paris' and 'Paris' must not look the same."""
    core = text.strip()
    if core == text:
        return text
    start = text.index(core[0]) if core else len(text)
    return "␣" * start + core + "␣" * (len(text) - start - len(core))


def _bars(items: list[dict[str, Any]], key: str, total: int, css: str = "bar2") -> str:
    if not items:
        return '<p class="muted">no values</p>'
    w, row = 400, 18  # label 0-165, bar 170-290, count and share after it
    top = max(i["count"] for i in items) or 1
    parts = []
    for n, item in enumerate(items):
        y = n * row
        label = _visible_edges(str(item[key]))
        label = label if len(label) <= 24 else label[:23] + "…"
        length = 120 * item["count"] / top
        share = f" ({100 * item['count'] / total:.1f}%)" if total else ""
        parts.append(
            f'<text x="0" y="{y + 13}" class="mono">{_e(label)}</text>'
            f'<rect class="{css}" x="170" y="{y + 3}" width="{length:.1f}" height="12"/>'
            f'<text x="{176 + length:.1f}" y="{y + 13}">{item["count"]:,}{share}</text>'
        )
    height = row * len(items)
    return (
        f'<svg width="{w}" height="{height}" viewBox="0 0 {w} {height}" style="max-width:100%" role="img">'
        f"{''.join(parts)}</svg>"
    )


def _findings(title: str, items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    rows = "".join(
        f'<tr><td class="sev {_e(f["severity"])}">{_e(f["severity"])}</td><td>{_e(f.get("column") or "")}</td>'
        f'<td>{_e(f["message"])}</td><td class="mono muted">{_e(f["code"])}</td></tr>'
        for f in items
    )
    return f"<section><h2>{_e(title)} ({len(items)})</h2><table>{rows}</table></section>"


def _kv(pairs: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in pairs) + "</table>"


def _column(c: dict[str, Any], rows: int) -> str:
    pairs: list[tuple[str, Any]] = [
        ("type", f"{_e(c['inferred_type'])} <span class='muted'>({_e(c['type'])})</span>"),
        ("missing", f"{c['missing']:,} ({100 * c['missing'] / rows:.1f}%)" if rows else "0"),
        ("nulls / empty / blank", f"{c['nulls']:,} / {c['empty']:,} / {c['whitespace']:,}"),
        ("placeholders", _num(c["placeholders"])),
        ("invalid", _num(c["invalid"])),
        ("distinct", _num(c.get("distinct")) + (" ≈" if c.get("distinct_approx") else "")),
    ]
    st = c.get("stats") or {}
    for key in ("min", "max", "mean", "std"):
        if key in st:
            pairs.append((key, _num(st[key])))
    for key, val in (st.get("quantiles") or {}).items():  # p1, p5, p25, p50, p75, p95, p99
        pairs.append((key + (" ≈" if st.get("quantiles_approx") else ""), _num(val)))
    if c.get("length"):
        ln = c["length"]
        pairs.append(("length min/mean/max (code points)", f"{ln['min']} / {ln['mean']} / {ln['max']}"))
    out = c.get("outliers")
    if out:
        pairs.append(("outliers IQR / robust z", f"{_num(out['iqr'])} / {_num(out.get('robust_z'))}"))
    pii = {k: v for k, v in (c.get("pii") or {}).items() if v}
    if pii:
        pairs.append(("PII hints", ", ".join(f"{_e(k)}: {v:,}" for k, v in pii.items())))
    charts = ""
    if c.get("histogram"):
        charts += "<h3>Distribution</h3>" + _histogram(c["histogram"])
    charts += "<h3>Top values</h3>" + _bars(c.get("top_values", []), "value", rows)
    patterns = ""
    if c.get("patterns"):
        sampled = " <span class='muted'>(sampled)</span>" if c.get("patterns_sampled") else ""
        patterns = f"<h3>Shape patterns{sampled}</h3>" + _bars(c["patterns"], "pattern", c["present"], "bar")
    return (
        f'<section id="col-{_e(c["name"])}"><h2>{_e(c["name"])}</h2>'
        f'<div class="col"><div>{_kv(pairs)}</div><div>{charts}</div><div>{patterns}</div></div></section>'
    )


def _status(d: dict[str, Any]) -> str:
    """A drift result's status; a profile written before there was one has ``drifted`` alone."""
    return str(d.get("status") or ("drifted" if d.get("drifted") else "stable"))


def _drift(items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    rows = "".join(
        f"<tr><td>{_e(d['column'])}</td><td>{_e(d.get('test') or '')}</td><td>{_e(d['summary'])}</td>"
        f"<td class='{'critical' if d.get('drifted') else 'muted'}'>{_e(_status(d))}</td></tr>"
        for d in items
    )
    return f"<section><h2>Drift against the baseline</h2><table><tr><th>column</th><th>test</th><th>result</th><th></th></tr>{rows}</table></section>"


def render_html(profile: dict[str, Any]) -> str:
    """The whole report page for a ``profile.json`` document."""
    info, score, ready = profile["input"], profile["scores"], profile["readiness"]
    rating = ready["rating"]
    cards = "".join(
        f'<div class="card"><div class="k">{_e(k)}</div><div class="v">{v}</div></div>'
        for k, v in (
            ("rows", f"{info['rows']:,}"),
            ("columns", f"{info['columns']:,}"),
            ("duplicate rows", f"{profile['duplicate_rows']:,}"),
            ("overall", score["overall"]),
            ("completeness", score["completeness"]),
            ("validity", score["validity"]),
            ("uniqueness", score["uniqueness"]),
            ("consistency", score["consistency"]),
        )
    )
    reasons = "".join(f"<li>{_e(r)}</li>" for r in ready["reasons"][:12])
    body = "".join(_column(c, info["rows"]) for c in profile["columns"])
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>Profile of {_e(info['name'])}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>Profile of {_e(info['name'])}</h1><p>{_e(info['format'])} · {info['rows']:,} rows × "
        f"{info['columns']:,} columns</p></header><main>"
        f"<section><h2>Readiness <span class='badge {rating.replace(' ', '-')}'>{_e(rating)}</span></h2>"
        f"<ul>{reasons}</ul></section><div class='cards'>{cards}</div>"
        + _findings("Alerts", profile["alerts"])
        + _findings("Issues", profile["issues"])
        + _findings("Recommendations", profile["recommendations"])
        + _drift(profile.get("drift", []))
        + body
        + f"<p class='muted'>{_NOTES}</p>"
        + "</main></body></html>"
    )
