"""Benchmark master-my-data on generated person records: time, peak RSS and F1.

Each measurement runs the tool in a fresh child process (``--child``), so the
peak RSS (``resource.getrusage(RUSAGE_CHILDREN)``) is that run's own. Sizes are
measured smallest first, as RUSAGE_CHILDREN keeps the maximum over children.

    python scripts/bench_master.py [--data-dir DIR] [--quick] [--repeat N] [--households SHARE]

``--households 0.2`` measures a different data set: a fifth of the people live
with another one (shared address, landline and mostly surname; see
:func:`taskq.jobs.synth.generate`), and its rows are labelled ``..._households``.
Without it the records are those of every earlier run.

``run(args)`` returns rows ``{analysis, measured, baseline, ratio, target, ok}``
where ``baseline`` is the budget and ``ratio = measured / baseline``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

TARGETS = {100_000: (15.0, None), 1_000_000: (120.0, 4 * 1024**3)}
F1_TARGET = 0.99


def _dataset(data_dir: Path, n: int, seed: int, households: float = 0.0) -> tuple[Path, Path]:
    from taskq.jobs import synth

    stem = f"master_synth_{n}_{seed}" + (f"_hh{households:g}" if households else "")
    path = data_dir / f"{stem}.csv"
    truth = data_dir / f"{stem}.truth.npy"
    if not (path.exists() and truth.exists()):
        data = synth.generate(n, seed=seed, households=households)
        synth.write_csv(data, path)
        np.save(truth, data.entity)
    return path, truth


def _child(input_path: str, out_dir: str) -> None:
    from taskq.jobs import execute

    t0 = time.perf_counter()
    report = execute("master", input_path, out_dir, {"memory_limit": "2GB"})
    print(json.dumps({"seconds": time.perf_counter() - t0, "clusters": report["summary"]["clusters"]}))


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measure(path: Path, out: Path) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (bytes, max over children so far) and CPU seconds of one run."""
    cpu = _cpu_children()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(path), str(out)], capture_output=True, text=True, check=True
    )
    seconds = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return seconds, peak, _cpu_children() - cpu


def _f1(out: Path, truth: Path) -> dict[str, float]:
    import duckdb

    from taskq.jobs import synth

    labels = duckdb.sql(
        f"SELECT cluster_id FROM read_csv('{out / 'clusters.csv'}') ORDER BY row"
    ).fetchnumpy()
    return synth.pairwise_scores(np.asarray(labels["cluster_id"]), np.load(truth))


def _row(analysis: str, measured: float, baseline: float, target: str, ok: bool) -> dict[str, Any]:
    return {
        "analysis": analysis,
        "measured": round(measured, 4),
        "baseline": baseline,
        "ratio": round(measured / baseline, 3) if baseline else None,
        "target": target,
        "ok": ok,
    }


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Measure master on 100k (and, unless ``args.quick``, 1M) generated records."""
    data_dir = Path(getattr(args, "data_dir", None) or tempfile.gettempdir())
    data_dir.mkdir(parents=True, exist_ok=True)
    repeat = max(1, int(getattr(args, "repeat", 1) or 1))
    sizes = [100_000] if getattr(args, "quick", False) else [100_000, 1_000_000]
    households = float(getattr(args, "households", 0.0) or 0.0)
    rows: list[dict[str, Any]] = []
    for n in sizes:
        path, truth = _dataset(data_dir, n, seed=n % 97, households=households)
        budget, rss_budget = TARGETS[n]
        with tempfile.TemporaryDirectory(dir=data_dir) as tmp:
            out = Path(tmp) / "out"
            times, cpus, peak = [], [], 0
            for _ in range(repeat):
                seconds, peak, cpu = _measure(path, out)
                times.append(seconds)
                cpus.append(cpu)
            best = min(times)
            label = f"master_{n // 1000}k" if n < 1_000_000 else f"master_{n // 1_000_000}M"
            label += "_households" if households else ""
            scores = _f1(out, truth)
            print(
                f"{label}: {', '.join(f'{t:.1f}' for t in times)} s wall "
                f"({', '.join(f'{c:.1f}' for c in cpus)} s CPU), peak RSS {peak / 1024**3:.2f} GiB, "
                f"F1 {scores['f1']:.4f} (precision {scores['precision']:.4f}, recall {scores['recall']:.4f})",
                flush=True,
            )
            rows.append(_row(f"{label}_seconds", best, budget, f"<= {budget:g} s", best <= budget))
            if rss_budget:
                rows.append(_row(f"{label}_peak_rss_bytes", peak, rss_budget, "<= 4 GiB", peak <= rss_budget))
            for key in ("f1", "precision", "recall"):
                rows.append(
                    _row(
                        f"{label}_{key}", scores[key], F1_TARGET, f">= {F1_TARGET}", scores[key] >= F1_TARGET
                    )
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--households", type=float, default=0.0, help="share of people living with another (0 to 0.5)"
    )
    rows = run(parser.parse_args(argv))
    for row in rows:
        print(
            f"{row['analysis']:<32} {row['measured']:>14} target {row['target']:<10} {'ok' if row['ok'] else 'MISS'}"
        )
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
