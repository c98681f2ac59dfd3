"""Benchmark the sync at the sizes users have and beyond: prints figures, asserts nothing about time.

    python3 bench/run_bench.py                  # the real catalog, then 1k, 3k, 10k and 100k synthetic models
    python3 bench/run_bench.py --sizes 1000 3000
    BENCH_DATABASE_URL=postgresql://... python3 bench/run_bench.py

Each size runs in its own process, so its peak RSS is its own. The database is BENCH_DATABASE_URL, else the
`catalog_bench` database on 127.0.0.1:5432 (created if missing); its public schema is dropped and rebuilt.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql
from synthetic import fixture_path, synthetic_catalog

from catalog_pipeline.assets.models import frame_rows, to_frame
from catalog_pipeline.db.models import write_catalog
from catalog_pipeline.resources.postgres import CatalogDatabase
from catalog_pipeline.rules.models import SYNCED_COLUMNS, classify_catalog


def database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'catalog_bench'").fetchone():
            conn.execute("CREATE DATABASE catalog_bench")
    return "postgresql://postgres@127.0.0.1:5432/catalog_bench"


def reset(url: str) -> CatalogDatabase:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    database = CatalogDatabase(url=url)
    database.ensure_schema()
    return database


def written(conn: psycopg.Connection) -> tuple[int, int, int]:
    """(rows inserted, rows updated, WAL position): what Postgres actually wrote so far."""
    conn.execute("SELECT pg_stat_clear_snapshot()")
    ins, upd = conn.execute(
        "SELECT coalesce(sum(n_tup_ins), 0), coalesce(sum(n_tup_upd), 0) FROM pg_stat_user_tables "
        "WHERE relname = 'ai_models'"
    ).fetchone()
    wal = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0]
    return int(ins), int(upd), int(wal)


def timed_write(database: CatalogDatabase, frame: pd.DataFrame, observer: psycopg.Connection) -> dict:
    """One write of the frame as the job's write step does it: rows streamed from the DataFrame."""
    before = written(observer)
    start = time.perf_counter()
    with database.connect() as conn:
        write_catalog(conn, frame_rows(frame))
    seconds = time.perf_counter() - start
    time.sleep(0.6)  # the statistics collector reports with a short delay
    after = written(observer)
    return {
        "seconds": round(seconds, 4),
        "rows_inserted": after[0] - before[0],
        "rows_updated": after[1] - before[1],
        "wal_mib": round((after[2] - before[2]) / 2**20, 3),
    }


def plain_copy(database: CatalogDatabase, frame: pd.DataFrame) -> float:
    """A plain binary COPY of the same rows into an empty copy of ai_models (indexes included): the baseline."""
    with database.connect() as conn, conn.transaction(force_rollback=True):
        conn.execute("CREATE TEMP TABLE baseline (LIKE ai_models INCLUDING ALL)")
        columns = sql.SQL(", ").join(map(sql.Identifier, SYNCED_COLUMNS))
        types = [
            r[0]
            for r in conn.execute(
                "SELECT atttypid FROM pg_attribute WHERE attrelid = 'ai_models'::regclass AND attname = ANY(%s) "
                "ORDER BY array_position(%s, attname::text)",
                (list(SYNCED_COLUMNS), list(SYNCED_COLUMNS)),
            )
        ]
        start = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(sql.SQL("COPY baseline ({}) FROM STDIN (FORMAT BINARY)").format(columns)) as copy,
        ):
            copy.set_types(types)
            for row in frame_rows(frame):
                copy.write_row([row[c] for c in SYNCED_COLUMNS])
        return time.perf_counter() - start


def repriced(frame: pd.DataFrame, share: float, seed: int = 3) -> pd.DataFrame:
    """A copy of the frame with `share` of its priced models re-priced."""
    rng = random.Random(seed)
    changed = frame.copy()
    changed["input_cost_per_million"] = [
        price + Decimal("0.01") if price is not None and rng.random() < share else price
        for price in changed["input_cost_per_million"]
    ]
    return changed


def measure(size: int | None, url: str) -> dict[str, Any]:
    """One size, in this process: classify, then first load, no-op re-sync and 10 %-changed re-sync."""
    if size is None:
        models = json.loads(fixture_path().read_text())["data"]
        label = f"real catalog ({fixture_path().name})"
    else:
        models = synthetic_catalog(size)
        label = f"{size} synthetic models"
    start = time.perf_counter()
    result = classify_catalog(models)
    classify_s = time.perf_counter() - start
    frame = to_frame(result.rows)
    count = len(result.rows)
    del result  # the write step holds the raw models (an input) and the frame, as here
    database = reset(url)
    with psycopg.connect(url, autocommit=True) as observer:
        first = timed_write(database, frame, observer)
        noop = timed_write(database, frame, observer)
        changed = timed_write(database, repriced(frame, 0.10), observer)
    baseline = plain_copy(database, frame)
    return {
        "catalog": label,
        "models": count,
        "classify_s": round(classify_s, 4),
        "classify_models_per_s": round(count / classify_s),
        "plain_copy_s": round(baseline, 4),
        "first_load": first,
        "noop_resync": noop,
        "changed_10pct_resync": changed,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def report(figures: dict[str, Any]) -> None:
    copy_s = figures["plain_copy_s"]
    print(
        f"\n{figures['catalog']}: {figures['models']} rows; classify {figures['classify_s']:.3f} s "
        f"({figures['classify_models_per_s']:,} models/s); "
        f"plain COPY {copy_s:.3f} s; peak RSS {figures['peak_rss_mib']} MiB"
    )
    for phase in ("first_load", "noop_resync", "changed_10pct_resync"):
        f = figures[phase]
        print(
            f"  {phase:22} {f['seconds']:8.3f} s  {f['seconds'] / copy_s:5.2f}× COPY  "
            f"inserted {f['rows_inserted']:>7}  updated {f['rows_updated']:>7}  WAL {f['wal_mib']:8.3f} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=[1000, 3000, 10000, 100000])
    parser.add_argument("--no-real", action="store_true", help="skip the real catalog")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: one size
    parser.add_argument("--out", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()
    url = database_url()
    if args.one is not None:
        print(json.dumps(measure(None if args.one == "real" else int(args.one), url)))
        return
    results = []
    for size in (["real"] if not args.no_real else []) + [str(s) for s in args.sizes]:
        done = subprocess.run([sys.executable, __file__, "--one", size], capture_output=True, text=True, check=True)
        figures = json.loads(done.stdout.splitlines()[-1])
        report(figures)
        results.append(figures)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
