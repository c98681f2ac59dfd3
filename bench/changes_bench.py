"""The change feed on a year of daily syncs: prints how long ai_catalog_changes takes to answer; asserts nothing.

    python3 bench/changes_bench.py              # 365 daily syncs of the real catalog (~1 minute)
    python3 bench/changes_bench.py --days 30

Each day re-prices about 2 % of the models, shrinks one context window, drops one model and brings back the one
dropped the week before, written by the sync's own write (write_catalog) dated that day. Beside them, 3,000
endpoints' dated rows are generated in SQL (prompt and completion re-priced every 60 to 120 days, a zero-retention
flag each), the size the real catalog's endpoints reach in a year. The database is
BENCH_DATABASE_URL, else `catalog_bench` on 127.0.0.1:5432 (its public schema is dropped and rebuilt).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from run_bench import database_url, reset
from synthetic import fixture_path

from catalog_pipeline.db.models import write_catalog
from catalog_pipeline.rules.models import classify_catalog

QUERIES = {
    "this week's changes": "SELECT * FROM ai_catalog_changes WHERE changed_at > %(now)s - interval '7 days'",
    "one run's changes (the digest)": "SELECT * FROM ai_catalog_changes WHERE dagster_run_id = %(run)s",
    "a year of price cuts": "SELECT count(*) FROM ai_catalog_changes WHERE kind = 'price_changed' "
    "AND CASE WHEN kind = 'price_changed' THEN new_value::numeric < old_value::numeric END",
    "every change": "SELECT count(*) FROM ai_catalog_changes",
}


def year_of_syncs(url: str, days: int) -> datetime:
    """Write `days` daily syncs; the last day's time."""
    models = json.loads(fixture_path().read_text())["data"]
    rng = random.Random(7)
    start = datetime(2026, 1, 1, 3, tzinfo=UTC)
    dropped: list[dict] = []
    with psycopg.connect(url, autocommit=True) as conn:
        for day in range(days):
            for model in rng.sample(models, max(1, len(models) // 50)):
                prompt = model.get("pricing", {}).get("prompt")
                if isinstance(prompt, str) and prompt not in ("0", "-1"):
                    factor = Decimal(rng.choice([80, 90, 110, 125])) / 100
                    model["pricing"] = {**model["pricing"], "prompt": format(Decimal(prompt) * factor, "f")}
            shrunk = rng.choice(models)
            if isinstance(shrunk.get("context_length"), int) and shrunk["context_length"] > 2048:
                shrunk["context_length"] //= 2
            dropped.append(models.pop(rng.randrange(len(models))))
            if len(dropped) > 7:
                models.append(dropped.pop(0))
            rows = classify_catalog(copy.deepcopy(models)).rows
            write_catalog(conn, rows, synced_at=start + timedelta(days=day), run_id=f"day-{day}")
        conn.execute(ENDPOINTS_YEAR, {"start": start, "days": days})
    return start + timedelta(days=days - 1)


ENDPOINTS_YEAR = """
WITH endpoints AS (
    SELECT 'm/' || (e %% 450) AS model, 'p' || e AS tag, 60 + e %% 61 AS every FROM generate_series(1, 3000) e),
periods AS (
    SELECT model, tag, c.component, %(start)s::timestamptz + make_interval(days => k * every) AS valid_from,
           CASE WHEN (k + 1) * every < %(days)s THEN %(start)s::timestamptz + make_interval(days => (k + 1) * every) END
               AS valid_to, (1 + k %% 3) * 0.1 AS price
      FROM endpoints CROSS JOIN (VALUES ('prompt'), ('completion')) AS c (component)
     CROSS JOIN LATERAL generate_series(0, (%(days)s - 1) / every) AS k),
priced AS (
    INSERT INTO ai_model_endpoint_prices
           (openrouter_id, tag, component, unit, condition, price, price_per_million, valid_from, valid_to,
            dagster_run_id)
    SELECT model, tag, component, 'token', '', price / 1000000, price, valid_from, valid_to, 'generated' FROM periods)
INSERT INTO ai_model_endpoint_listings (openrouter_id, tag, valid_from)
SELECT model, tag, %(start)s FROM endpoints"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    url = database_url()
    reset(url)
    started = time.perf_counter()
    last = year_of_syncs(url, args.days)
    print(f"{args.days} daily syncs written in {time.perf_counter() - started:.1f} s")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
        sizes = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - names from this list
            for t in ("ai_model_prices", "ai_model_listings", "ai_model_context_lengths", "ai_model_endpoint_prices")
        }
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in sizes.items()))
        params = {"now": last, "run": f"day-{args.days - 1}"}
        for name, query in QUERIES.items():
            timings = []
            for _ in range(5):
                began = time.perf_counter()
                found = conn.execute(query, params).fetchall()
                timings.append(time.perf_counter() - began)
            print(f"{name}: median {sorted(timings)[2] * 1000:.0f} ms ({len(found)} rows)")


if __name__ == "__main__":
    main()
