"""`dagster job execute` of the real sync job vs a bare-Python sync and a trivial three-asset job."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def serve_catalog(fixture: Path) -> tuple[ThreadingHTTPServer, str]:
    catalog = json.loads(fixture.read_text())
    embeddings = {
        "data": [
            m for m in catalog["data"] if "embeddings" in (m.get("architecture") or {}).get("output_modalities", [])
        ]
    }
    bodies = {
        "/api/v1/models": json.dumps(catalog).encode(),
        "/api/v1/embeddings/models": json.dumps(embeddings).encode(),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = bodies.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/api/v1"


REPEATS = 5


def _timed(command: list[str], env: dict[str, str], repeats: int = 1) -> float:
    """Median wall time of `repeats` runs of a command (each a fresh process, as a user runs it)."""
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-2000:] + done.stderr[-4000:])
            raise SystemExit(f"{' '.join(command)} failed")
    return statistics.median(walls)


def latest_run_events(dagster_home: Path, job_name: str) -> list[Any]:
    """The event log entries of the job's latest run in the instance at dagster_home."""
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    from dagster import DagsterInstance, RunsFilter

    with DagsterInstance.get() as instance:
        run = instance.get_runs(filters=RunsFilter(job_name=job_name), limit=1)[0]
        return list(instance.all_logs(run.run_id))


def step_compute_seconds(entries: list[Any]) -> dict[str, float]:
    """Each step's own time (STEP_START to STEP_SUCCESS), read from a run's events."""
    starts, durations = {}, {}
    for entry in entries:
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS" and event.step_key in starts:
            durations[event.step_key] = round(entry.timestamp - starts[event.step_key], 4)
    return durations


def code_location_load_seconds(env: dict[str, str]) -> float:
    """What loading the code location adds to a process that imports Dagster: imports, their garbage
    collections, and the interpreter's teardown of the larger heap at exit (a process each, as a run has)."""
    bare = [sys.executable, "-c", "import dagster"]
    location = [sys.executable, "-c", "import dagster, catalog_pipeline.definitions"]
    pairs = [(_timed(location, env), _timed(bare, env)) for _ in range(REPEATS)]
    return statistics.median(loaded - alone for loaded, alone in pairs)


def run_end_to_end(fixture: Path) -> dict[str, Any]:
    from run_bench import database_url, reset

    url = database_url()
    server, base = serve_catalog(fixture)
    bindir = Path(sys.executable).parent
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "dagster_home"
            home.mkdir()
            env = {
                **os.environ,
                "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
                "DAGSTER_HOME": str(home),
                "DATABASE_URL": url,
                "OPENROUTER_BASE_URL": base,
                "CATALOG_STATE_DIR": str(Path(tmp) / "state"),
            }
            job = ["dagster", "job", "execute", "-m", "catalog_pipeline.definitions", "-j", "sync_openrouter_models"]
            trivial = ["dagster", "job", "execute", "-f", "bench/trivial_job.py", "-j", "trivial"]
            trivial_mp = ["dagster", "job", "execute", "-f", "bench/trivial_job.py", "-j", "trivial_multiprocess"]
            bare = [sys.executable, "bench/bare_sync.py"]

            reset(url)
            job_first = _timed(job, env)
            # Re-syncs and trivial jobs alternate, so a slow spell of the machine weighs on both alike; the
            # ratio is the median of each pair's own ratio.
            pairs = [(_timed(job, env), _timed(trivial, env)) for _ in range(REPEATS)]
            job_events = latest_run_events(home, "sync_openrouter_models")
            steps = step_compute_seconds(job_events)
            # Each event is a write to the instance's event log.
            events = {"job": len(job_events), "trivial": len(latest_run_events(home, "trivial"))}
            load_s = code_location_load_seconds(env)
            trivial_mp_s = _timed(trivial_mp, env)
            reset(url)
            bare_first = _timed(bare, env)
            bare_steady = _timed(bare, env, REPEATS)
    finally:
        server.shutdown()
    return {
        "fixture": fixture.name,
        "repeats (median of)": REPEATS,
        "dagster_job_first_sync_s": round(job_first, 3),
        "dagster_job_resync_s": round(statistics.median(j for j, _ in pairs), 3),
        "bare_python_first_sync_s": round(bare_first, 3),
        "bare_python_resync_s": round(bare_steady, 3),
        "trivial_3_asset_job_in_process_s": round(statistics.median(t for _, t in pairs), 3),
        "trivial_3_asset_job_multiprocess_s": round(trivial_mp_s, 3),
        "ratio_job_resync_to_trivial_job": round(statistics.median(j / t for j, t in pairs), 2),
        "ratio_job_resync_to_trivial_job_by_pair": [round(j / t, 2) for j, t in pairs],
        "ratio_job_resync_to_bare_python": round(statistics.median(j for j, _ in pairs) / bare_steady, 2),
        "step_compute_s (resync)": steps,
        "step_compute_total_s (resync)": round(sum(steps.values()), 4),
        # Where the job's time over the trivial job goes: loading the code location (pandas, psycopg, requests
        # and the teardown of what they allocate) and the run's extra events (checks, the check step, logs).
        "job_minus_trivial_s": round(statistics.median(j - t for j, t in pairs), 3),
        "code_location_load_s": round(load_s, 3),
        "run_events": events,
    }
