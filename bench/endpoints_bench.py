"""Benchmark the endpoints sync at the real size: the fetch against a local server that answers after 100 ms, and
the write of about 3,000 endpoint rows. Prints figures; asserts nothing about time.

    python3 bench/endpoints_bench.py                 # 450 models, pool 8, 100 ms an answer
    python3 bench/endpoints_bench.py --models 450 --pool 8 --latency 0.1 --rate 100
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import resource
import sys
import threading
import time
from pathlib import Path

import psycopg
from pytest_httpserver import HTTPServer
from run_bench import database_url, reset
from werkzeug import Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from endpoint_data import derived_endpoints, endpoints_answer  # noqa: E402

from catalog_pipeline.db.endpoints import write_endpoints  # noqa: E402
from catalog_pipeline.resources.openrouter import OpenRouterClient, fetch_endpoints  # noqa: E402
from catalog_pipeline.rules.endpoints import assign_answers, prepare_endpoints  # noqa: E402


def bench_fetch(models: int, pool: int, latency: float, rate: float) -> dict:
    server = HTTPServer(host="127.0.0.1", threaded=True)
    starts, active, peak, lock = [], [0], [0], threading.Lock()

    def answer(request):
        with lock:
            starts.append(time.monotonic())
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(latency)
        with lock:
            active[0] -= 1
        model_id = request.path.removeprefix("/api/v1/models/").removesuffix("/endpoints")
        return Response(
            json.dumps(endpoints_answer(model_id, derived_endpoints(model_id))), content_type="application/json"
        )

    import re

    server.expect_request(re.compile(r"^/api/v1/models/.+/endpoints$")).respond_with_handler(answer)
    server.start()
    try:
        client = OpenRouterClient(base_url=server.url_for("/api/v1"))
        paths = {f"bench/model-{i}": f"/models/bench/model-{i}/endpoints" for i in range(models)}
        started = time.perf_counter()
        fetched = fetch_endpoints(client, paths, pool=pool, per_second=rate, deadline_seconds=600)
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    starts.sort()
    busiest = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    bound = math.ceil(models / pool) * latency
    return {
        "models": models,
        "seconds": round(seconds, 3),
        "bound_s": round(bound, 3),
        "ratio_to_bound": round(seconds / bound, 3),
        "peak_concurrency": peak[0],
        "busiest_second": busiest,
        "failed": len(fetched.failed),
        "bodies": fetched.bodies,
    }


def bench_write(models: int) -> dict:
    """About two endpoints a model, so 1,500 models give the ~3,000 rows per-provider endpoints bring."""
    bodies = {
        f"bench/model-{i}": json.dumps(
            endpoints_answer(f"bench/model-{i}", derived_endpoints(f"bench/model-{i}"))
        ).encode()
        for i in range(models)
    }
    prepared = prepare_endpoints(assign_answers({m: m for m in bodies}, bodies, {}), {})
    rows, observations = prepared.rows, prepared.observations
    url = database_url()
    database = reset(url)
    catalog = list(bodies)
    figures = {"endpoint_rows": len(rows)}
    with psycopg.connect(url, autocommit=True) as observer:
        for phase in ("first_write", "noop_rewrite", "noop_rewrite_again"):
            before = written_endpoints(observer)
            start = time.perf_counter()
            with database.connect() as conn:
                write_endpoints(conn, rows, observations, answered=catalog, catalog=catalog, keep_observation_days=90)
            seconds = time.perf_counter() - start
            time.sleep(0.6)
            after = written_endpoints(observer)
            figures[phase] = {
                "seconds": round(seconds, 4),
                "rows_inserted": after[0] - before[0],
                "rows_updated": after[1] - before[1],
            }
    return figures


def written_endpoints(conn: psycopg.Connection) -> tuple[int, int]:
    conn.execute("SELECT pg_stat_clear_snapshot()")
    row = conn.execute(
        "SELECT coalesce(sum(n_tup_ins), 0), coalesce(sum(n_tup_upd), 0) FROM pg_stat_user_tables "
        "WHERE relname = 'ai_model_endpoints'"
    ).fetchone()
    return int(row[0]), int(row[1])


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=450)
    parser.add_argument("--pool", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rate", type=float, default=100.0, help="requests started per second, at most")
    parser.add_argument("--write-models", type=int, default=1500, help="models whose endpoints the write bench writes")
    args = parser.parse_args()
    fetch = bench_fetch(args.models, args.pool, args.latency, args.rate)
    fetch.pop("bodies")
    print(
        f"endpoints fetch: {fetch['models']} models, pool {args.pool}, {args.latency * 1000:g} ms an answer, at most "
        f"{args.rate:g}/s: {fetch['seconds']:.2f} s = {fetch['ratio_to_bound']:.2f} × ceil(N/pool) × latency "
        f"({fetch['bound_s']:.2f} s); peak {fetch['peak_concurrency']} in flight, busiest second "
        f"{fetch['busiest_second']} requests, {fetch['failed']} failed"
    )
    write = bench_write(args.write_models)
    print(
        f"endpoints write: {write['endpoint_rows']} rows; first {write['first_write']['seconds']:.3f} s "
        f"({write['first_write']['rows_inserted']} inserted); no-op {write['noop_rewrite']['seconds']:.3f} s, "
        f"again {write['noop_rewrite_again']['seconds']:.3f} s "
        f"({write['noop_rewrite']['rows_inserted']} inserted, {write['noop_rewrite']['rows_updated']} updated); "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
