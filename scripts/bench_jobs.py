"""Benchmark the jobs against plain DuckDB baselines and print PASS/FAIL per target.

    python scripts/bench_jobs.py [--data-dir .bench] [--rows 1000000] [--rss-rows 10000000]
                                 [--only profile,clean,master] [--quick] [--repeat 2]

| row                        | measured                         | baseline                       | target  |
|----------------------------|----------------------------------|--------------------------------|---------|
| profile_seconds            | profile-my-data on N x 10 CSV    | DuckDB SUMMARIZE, same file    | <= 2.0x |
| clean_seconds              | clean-my-data on the same file   | DuckDB read + CSV write        | <= 3.0x |
| clean_lowcard_seconds      | clean-my-data, no near-unique    | DuckDB read + CSV write        | <= 3.0x |
|                            | column (a second generated file) |                                |         |
| clean_floor_seconds        | clean-my-data with every step    | DuckDB read + CSV write        | info    |
|                            | off: its fixed cost (read into a |                                |         |
|                            | table, build, write), no target  |                                |         |
| profile_peak_rss           | profile-my-data on --rss-rows    | 1 GiB                          | <= 1.0x |
| master_* (scripts/bench_master.py, when present)                                               |

Every measurement runs in a fresh child process (this script with ``--child``);
its time is measured inside the child, its peak RSS read from ``os.wait4`` for
that child alone. Timings take the best of ``--repeat`` runs, since the machine
may be shared. Data is generated with DuckDB into ``--data-dir`` and reused.
``--quick`` uses 100k rows and 1M rows for the RSS run.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GiB = 1024**3
THREADS = 2
MEMORY = "768MB"
"""The DuckDB baselines' memory limit (the tools run with their own defaults)."""


def _write_once(path: Path, select: str) -> Path:
    """Write ``select`` (over ``range(rows) t(i)``) to the CSV ``path`` unless it is there already."""
    if path.exists():
        return path
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    con = duckdb.connect(config={"threads": THREADS})
    con.execute(f"COPY ({select}) TO '{tmp}' (FORMAT csv, HEADER true)")
    con.close()
    os.replace(tmp, path)
    return path


def generate(path: Path, rows: int) -> Path:
    """A 10-column CSV with ids, names, emails (some missing/placeholder), text ages, numbers, dates, phones.

    The file name carries a version (``jobs_v2_*``): change it when the data changes so cached files
    from an older generator are not reused.
    """
    return _write_once(
        path,
        f"""SELECT i AS id,
          (['Ann','Bob','Carla','Dmitri','Eve','Farah','Gus','Hana'])[1 + (hash(i) % 8)::INT] || ' ' ||
          (['Smith','Ng','Okafor','Rossi','Kim'])[1 + (hash(i * 7) % 5)::INT] AS name,
          CASE WHEN i % 50 = 0 THEN NULL WHEN i % 97 = 0 THEN 'N/A' ELSE 'user' || i || '@example.com' END AS email,
          CASE WHEN i % 1000 = 0 THEN 'unknown' ELSE CAST(18 + hash(i * 3) % 70 AS VARCHAR) END AS age,
          round((hash(i * 5) % 100000) / 100.0, 2) AS amount,
          DATE '2020-01-01' + CAST(hash(i * 11) % 1500 AS INT) AS signup,
          (['Berlin','Paris','Lagos','Lima','Osaka',' Paris','paris'])[1 + (hash(i * 13) % 7)::INT] AS city,
          -- Real-looking US numbers in mixed formats (1 in 200 malformed): what uploads contain.
          CASE WHEN i % 200 = 0 THEN 'call me'
               ELSE (['+1 ', '(', '', '1-'])[1 + (hash(i * 29) % 4)::INT]
                    || (['212','312','415','646','718','202','617','305'])[1 + (hash(i * 17) % 8)::INT]
                    || (['', ') ', '.', '-'])[1 + (hash(i * 29) % 4)::INT]
                    || CAST(200 + hash(i * 31) % 800 AS VARCHAR) || '-'
                    || lpad(CAST(hash(i * 37) % 10000 AS VARCHAR), 4, '0') END AS phone,
          (['A','B','C'])[1 + (hash(i * 19) % 3)::INT] AS category,
          CASE WHEN i % 5000 = 0 THEN 1e6 ELSE (hash(i * 23) % 1000) / 10.0 END AS score
        FROM range({rows}) t(i)""",
    )


def generate_lowcard(path: Path, rows: int) -> Path:
    """A 10-column CSV of repeating values only (names, ages, cities, dates, flags...), with some
    whitespace, case and placeholder noise: what clean costs without ids, e-mails or phones,
    whose million distinct values (phones checked and rewritten to E.164) dominate the main file."""
    return _write_once(
        path,
        f"""SELECT
          (['Ann','Bob','Carla','Dmitri','Eve','Farah','Gus','Hana'])[1 + (hash(i) % 8)::INT] AS name,
          CASE WHEN i % 1000 = 0 THEN 'unknown' ELSE CAST(18 + hash(i * 3) % 70 AS VARCHAR) END AS age,
          (['Berlin','Paris','Lagos','Lima','Osaka',' Paris','paris','N/A'])[1 + (hash(i * 13) % 8)::INT] AS city,
          (['A','B','C'])[1 + (hash(i * 19) % 3)::INT] AS category,
          (hash(i * 23) % 1000) / 10.0 AS score,
          DATE '2020-01-01' + CAST(hash(i * 11) % 1500 AS INT) AS signup,
          (['active','inactive','Active','pending'])[1 + (hash(i * 7) % 4)::INT] AS status,
          (['DE','FR','NG','PE','JP'])[1 + (hash(i * 5) % 5)::INT] AS country,
          1 + hash(i * 17) % 5 AS rating,
          (['yes','no','Y','N'])[1 + (hash(i * 29) % 4)::INT] AS newsletter
        FROM range({rows}) t(i)""",
    )


# --- child side -----------------------------------------------------------------------------------


def _child(kind: str, path: str, out: str) -> None:
    t0 = time.perf_counter()
    if kind in ("profile", "clean", "clean-off"):
        from taskq.jobs import execute

        params: dict[str, Any] = {"threads": THREADS} if kind == "profile" else {}  # own memory defaults
        if kind == "clean-off":
            from taskq.jobs.clean_params import STEP_ORDER

            params = {"steps": [{"step": s, "enabled": False} for s in STEP_ORDER]}
        execute(kind.removesuffix("-off"), path, out, params)
    else:
        import duckdb

        con = duckdb.connect(config={"threads": THREADS, "memory_limit": MEMORY})
        if kind == "summarize":
            con.execute(f"SUMMARIZE SELECT * FROM read_csv('{path}')").fetchall()
        elif kind == "copy":
            Path(out).mkdir(parents=True, exist_ok=True)
            con.execute(
                f"COPY (SELECT * FROM read_csv('{path}')) TO '{out}/copy.csv' (FORMAT csv, HEADER true)"
            )
        else:
            raise SystemExit(f"unknown child kind {kind!r}")
    print(json.dumps({"seconds": time.perf_counter() - t0}))


# --- parent side ----------------------------------------------------------------------------------


def measure(kind: str, path: Path, work: Path) -> tuple[float, int]:
    """(seconds inside the child, peak RSS bytes of that child alone) for one run of ``kind``."""
    out = work / f"{kind}-{time.monotonic_ns()}"
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(path), str(out)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, unlike RUSAGE_CHILDREN
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{kind} child failed ({proc.returncode}): {err.read().strip()[-800:]}")
    return json.loads(stdout.strip().splitlines()[-1])["seconds"], usage.ru_maxrss * 1024  # KiB on Linux


def best(kind: str, path: Path, work: Path, repeat: int) -> tuple[float, int]:
    runs = [measure(kind, path, work) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def row(analysis: str, measured: float, baseline: float, target: float, unit: str) -> dict[str, Any]:
    ratio = measured / baseline if baseline else float("inf")
    return {
        "analysis": analysis,
        "measured": f"{measured:.2f} {unit}",
        "baseline": f"{baseline:.2f} {unit}",
        "ratio": round(ratio, 2),
        "target": f"<= {target:g}x",
        "ok": ratio <= target,
    }


def _clean_row(label: str, src: Path, work: Path, repeat: int, kind: str = "clean") -> dict[str, Any]:
    """clean-my-data on ``src`` against a plain read + write of it (``clean-off``: every step
    off, an information row without a target)."""
    failed = {
        "analysis": label,
        "measured": "-",
        "baseline": "-",
        "ratio": None,
        "target": "<= 3x",
        "ok": False,
    }
    if importlib.util.find_spec("taskq.jobs.clean") is None:
        return {**failed, "note": "clean-my-data is not there yet"}
    base, _ = best("copy", src, work, repeat)
    try:
        took, _ = best(kind, src, work, repeat)
    except RuntimeError as exc:
        return {**failed, "measured": "error", "baseline": f"{base:.2f} s", "note": str(exc)[:200]}
    if kind == "clean-off":
        info = row(label, took, base, 3.0, "s")
        return {**info, "target": "info", "ok": True, "note": "fixed cost: read into a table, build, write"}
    return row(label, took, base, 3.0, "s")


def _fmt_bytes(n: int) -> str:
    return f"{n / 1024**2:.0f} MiB"


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    rows_n = 100_000 if args.quick else args.rows
    rss_n = 1_000_000 if args.quick else args.rss_rows
    data = Path(args.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    if "master" in only:
        sys.path.insert(0, str(HERE))
        try:
            bench_master = importlib.import_module("bench_master")
        except ImportError:
            results.append(
                {
                    "analysis": "master",
                    "measured": "-",
                    "baseline": "-",
                    "ratio": None,
                    "target": "-",
                    "ok": False,
                    "note": "scripts/bench_master.py not found",
                }
            )
        else:
            results.extend(bench_master.run(args))  # first: it reads RUSAGE_CHILDREN itself
    src = generate(data / f"jobs_v2_{rows_n}x10.csv", rows_n)
    with tempfile.TemporaryDirectory(dir=data) as tmp:
        work = Path(tmp)
        if "profile" in only:
            base, _ = best("summarize", src, work, args.repeat)
            took, _ = best("profile", src, work, args.repeat)
            results.append(row(f"profile {rows_n:,}x10 CSV vs SUMMARIZE", took, base, 2.0, "s"))
        if "clean" in only:
            results.append(_clean_row(f"clean {rows_n:,}x10 CSV vs read+write", src, work, args.repeat))
            low = generate_lowcard(data / f"jobs_lowcard_v1_{rows_n}x10.csv", rows_n)
            results.append(
                _clean_row(f"clean {rows_n:,}x10 CSV, no near-unique column", low, work, args.repeat)
            )
            results.append(
                _clean_row(f"clean {rows_n:,}x10 CSV, every step off", src, work, args.repeat, "clean-off")
            )
        if "profile" in only:
            big = generate(data / f"jobs_v2_{rss_n}x10.csv", rss_n)
            took, rss = measure("profile", big, work)
            r = row(f"profile {rss_n:,} rows peak RSS", rss / GiB, 1.0, 1.0, "GiB")
            r["measured"], r["baseline"] = _fmt_bytes(rss), "1024 MiB"
            r["note"] = f"{took:.1f} s"
            results.append(r)
    return results


def render(results: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="taskq jobs benchmark")
    for col in ("analysis", "measured", "baseline", "ratio", "target", "result", "note"):
        table.add_column(col, justify="right" if col in ("measured", "baseline", "ratio") else "left")
    for r in results:
        measured = r["measured"] if isinstance(r["measured"], str) else f"{r['measured']:.4g}"
        baseline = r["baseline"] if isinstance(r["baseline"], str) else f"{r['baseline']:.4g}"
        ratio = "-" if r.get("ratio") is None else f"{r['ratio']:.2f}"
        verdict = "-" if r["target"] == "info" else "[green]PASS[/green]" if r["ok"] else "[red]FAIL[/red]"
        table.add_row(
            str(r["analysis"]), measured, baseline, ratio, str(r["target"]), verdict, str(r.get("note", ""))
        )
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2], argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=".bench")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rss-rows", type=int, default=10_000_000)
    parser.add_argument("--only", default="profile,clean,master")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    results = run(parser.parse_args(argv))
    render(results)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
