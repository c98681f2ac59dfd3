"""Benchmark the sync: classification and set-based upsert at 1k/10k/100k models, and the job end to end.

It prints figures and writes them to a JSON file; it asserts nothing about time.

    python3 bench/run_bench.py                       # full: 1k, 10k, 100k + end to end
    python3 bench/run_bench.py --quick               # CI: 1k and 10k + end to end
    BENCH_DATABASE_URL=postgresql://... python3 bench/run_bench.py

Each size runs in a child process, so its peak RSS is its own. Classification runs `--repeats` times, each
from empty memos (cold); the write phases run `--repeats` times on a fresh schema, each run followed by its
COPY baseline (3 by default, 1 with --quick). The median is reported beside every run's own figure. The
database is BENCH_DATABASE_URL, else the `catalog_bench` database on 127.0.0.1:5432 (created if missing);
its public schema is dropped and rebuilt.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from synthetic import fixture_path, synthetic_catalog  # noqa: E402

from catalog_pipeline.catalog_db import CatalogDatabase  # noqa: E402
from catalog_pipeline.catalog_store import write_catalog  # noqa: E402
from catalog_pipeline.classification import SYNCED_COLUMNS, classify_catalog, forget_memos  # noqa: E402
from catalog_pipeline.copy_format import copy_chunks  # noqa: E402


def database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'catalog_bench'").fetchone():
            conn.execute("CREATE DATABASE catalog_bench")
    return "postgresql://postgres@127.0.0.1:5432/catalog_bench"


def table_stats(conn: psycopg.Connection) -> dict[str, int]:
    conn.execute("SELECT pg_stat_clear_snapshot()")
    row = conn.execute(
        "SELECT coalesce(sum(n_tup_ins), 0), coalesce(sum(n_tup_upd), 0) FROM pg_stat_user_tables "
        "WHERE relname = 'ai_models'"
    ).fetchone()
    return {"ins": int(row[0]), "upd": int(row[1])}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def settle(conn: psycopg.Connection) -> None:
    """Start a timed phase from a fresh checkpoint, so no phase pays for flushing an earlier one's writes."""
    try:
        conn.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:  # needs superuser or pg_checkpoint; timings are noisier
        pass


def timed_write(url: str, rows: list[dict[str, Any]], observer: psycopg.Connection) -> dict[str, Any]:
    before = table_stats(observer)
    settle(observer)
    start = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        outcome = write_catalog(conn, rows)
        conn.execute("SELECT pg_stat_force_next_flush()")  # report this backend's counters now
    wall = time.perf_counter() - start
    time.sleep(0.2)
    after = table_stats(observer)
    return {
        "wall_s": round(wall, 4),
        "rows_per_s": round(len(rows) / wall) if wall else None,
        "n_tup_ins": after["ins"] - before["ins"],
        "n_tup_upd": after["upd"] - before["upd"],
        "inserted": outcome.inserted,
        "updated": outcome.updated,
        "deactivated": outcome.deactivated,
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def copy_baseline(url: str, rows: list[dict[str, Any]]) -> float:
    """Seconds to COPY the same rows into an empty copy of ai_models: what Postgres can do at best."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS ai_models_copy_baseline")
        conn.execute("CREATE TABLE ai_models_copy_baseline (LIKE ai_models INCLUDING ALL)")
        settle(conn)
        start = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in SYNCED_COLUMNS)
            with cur.copy(sql.SQL("COPY ai_models_copy_baseline ({}) FROM STDIN").format(columns)) as copy_:
                for text, _count in copy_chunks(rows):
                    copy_.write(text)
        wall = time.perf_counter() - start
        conn.execute("DROP TABLE ai_models_copy_baseline")
    return wall


def reset(url: str) -> None:
    """An empty public schema in the benchmark database."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


WRITE_PHASES = ("first_load", "noop_resync", "changed_10pct_resync", "removed_10pct_resync")


def write_phases(url: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The four write phases, in order, on a freshly migrated schema, then the COPY baseline."""
    reset(url)
    CatalogDatabase(url=url).ensure_schema()
    size = len(rows)
    phases: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as observer:
        phases["first_load"] = timed_write(url, rows, observer)
        phases["noop_resync"] = timed_write(url, rows, observer)
        rng = random.Random(11)
        changed = [dict(r) for r in rows]
        for row in rng.sample(changed, size // 10):
            cost = row["input_cost_per_million"]
            row["input_cost_per_million"] = (cost or Decimal(0)) + Decimal("0.125")
            row["pricing"] = {**(row["pricing"] or {}), "prompt": "changed"}
        phases["changed_10pct_resync"] = timed_write(url, changed, observer)
        # The last 10% leave the catalog; the rest is exactly what the previous phase wrote.
        phases["removed_10pct_resync"] = timed_write(url, changed[: size - size // 10], observer)
        del changed
    baseline = copy_baseline(url, rows)
    phases["copy_baseline"] = {"wall_s": round(baseline, 4), "rows_per_s": round(size / baseline)}
    return phases


def run_size(size: int, repeats: int) -> dict[str, Any]:
    """All phases for one catalog size, in this process; write phases are the median of `repeats` runs."""
    url = database_url()
    models = synthetic_catalog(size)

    # Cold runs: the classifier's memos start empty each time, as in a fresh Dagster step.
    walls = []
    rows: list[dict[str, Any]] = []
    for _ in range(repeats):
        rows = []  # drop the previous run's rows first, so the peak RSS holds one set of rows
        forget_memos()
        start = time.perf_counter()
        rows = classify_catalog(models).rows
        # The rows' first garbage collection is classification's cost too: they are built with the collector
        # paused, and whatever allocates next pays for it (in the job, the DataFrame). Counted here, wherever
        # it would land.
        gc.collect(0)
        walls.append(round(time.perf_counter() - start, 4))
    del models
    classify_s = statistics.median(walls)
    phases: dict[str, Any] = {
        "classify": {
            "wall_s": round(classify_s, 4),
            "rows_per_s": round(size / classify_s),
            "walls_s": walls,
            "peak_rss_mib": round(peak_rss_mib(), 1),
        }
    }
    runs = [write_phases(url, rows) for _ in range(repeats)]
    for name in (*WRITE_PHASES, "copy_baseline"):
        walls = [run[name]["wall_s"] for run in runs]
        median = statistics.median(walls)
        phases[name] = {
            **runs[-1][name],
            "wall_s": round(median, 4),
            "rows_per_s": round(size / median),
            "walls_s": walls,
        }
    baseline = phases["copy_baseline"]["wall_s"]
    for name in WRITE_PHASES:
        phases[name]["ratio_to_copy"] = round(phases[name]["wall_s"] / baseline, 2)
        # Ratio within each run too: the baseline drifts with the machine as much as the phases do.
        phases[name]["ratios_by_run"] = [round(run[name]["wall_s"] / run["copy_baseline"]["wall_s"], 2) for run in runs]
    return {
        "size": size,
        "repeats": repeats,
        "phases": phases,
        "per_model_us": {
            name: round(phase["wall_s"] / size * 1e6, 2) for name, phase in phases.items() if "wall_s" in phase
        },
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1k and 10k only (CI)")
    parser.add_argument("--sizes", default=None, help="comma-separated catalog sizes")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end Dagster comparison")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "latest.json"))
    parser.add_argument("--repeats", type=int, default=None, help="runs of each phase per size (3; --quick: 1)")
    parser.add_argument("--child-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    repeats = args.repeats or (1 if args.quick else 3)
    if args.child_size:
        print(json.dumps(run_size(args.child_size, repeats)))
        return

    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([1000, 10000] if args.quick else [1000, 10000, 100000])
    )
    results: dict[str, Any] = {"fixture": fixture_path().name, "sizes": [], "quick": args.quick}
    for size in sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--child-size", str(size), "--repeats", str(repeats)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            raise SystemExit(f"benchmark of size {size} failed")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results["sizes"].append(result)
        print_size(result)
    if not args.no_e2e:
        from end_to_end import run_end_to_end

        results["end_to_end"] = run_end_to_end(fixture_path())
        print_e2e(results["end_to_end"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults written to {out}")


def print_size(result: dict[str, Any]) -> None:
    print(f"\n== {result['size']:,} models (peak RSS {result['peak_rss_mib']} MiB, median of {result['repeats']}) ==")
    print(
        f"{'phase':24} {'wall s':>9} {'rows/s':>10} {'ins':>8} {'upd':>8} {'xCOPY':>6} {'us/model':>9} {'RSS MiB':>8}"
        "  xCOPY by run"
    )
    for name, phase in result["phases"].items():
        print(
            f"{name:24} {phase['wall_s']:>9.3f} {phase.get('rows_per_s') or 0:>10,} "
            f"{phase.get('n_tup_ins', ''):>8} {phase.get('n_tup_upd', ''):>8} {phase.get('ratio_to_copy', ''):>6} "
            f"{result['per_model_us'][name]:>9} {phase.get('peak_rss_mib', ''):>8}  {phase.get('ratios_by_run', '')}"
        )


def print_e2e(e2e: dict[str, Any]) -> None:
    print("\n== end to end on the real catalog ==")
    for key, value in e2e.items():
        print(f"{key:40} {value}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
