"""The sync attacked from outside: a hostile network and upstream, a failing database, concurrent runs."""

import copy
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from conftest import (
    check_results,
    failure_text,
    materialization_metadata,
    reset_schema,
    run_sync,
    serve_endpoints,
    table_snapshot,
    wait_for,
)
from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter
from pytest_httpserver import HTTPServer
from tcp_proxy import FaultyProxy
from werkzeug import Response

from catalog_pipeline.db import CatalogDatabaseError
from catalog_pipeline.resources.openrouter import ApiUnavailable, OpenRouterClient, OpenRouterError
from catalog_pipeline.resources.postgres import CatalogDatabase

REPO = Path(__file__).resolve().parent.parent
KEY = "sk-or-v1-secret-key-0123456789"


def sync_runs(pg, run_id):
    return pg.execute(
        "SELECT outcome, stage, error, source_url, fetched FROM ai_model_sync_runs "
        "WHERE dagster_run_id = %s ORDER BY id",
        (run_id,),
    ).fetchall()


@pytest.fixture
def seeded(catalog_db, pg, openrouter, handwritten_catalog):
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success
    pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id IN ('openai/gpt-4o', 'x-ai/grok-4:online')")
    return table_snapshot(pg)


# --- silent wrong data --------------------------------------------------------------------------------


def test_ids_with_control_characters_do_not_flap(catalog_db, pg, openrouter, handwritten_catalog):
    catalog = copy.deepcopy(handwritten_catalog)
    template = catalog["data"][0]
    for name in ("back\bspace", "vertical\vtab", "form\ffeed"):
        catalog["data"].append({**copy.deepcopy(template), "id": f"ctrl/{name}"})
    base = openrouter.serve(catalog)
    assert run_sync(catalog_db, base).success
    for _ in range(2):
        meta = materialization_metadata(run_sync(catalog_db, base), "ai_models_table")
        assert (meta["deactivated"], meta["reactivated"], meta["inserted"], meta["updated"]) == (0, 0, 0, 0)
    assert pg.execute("SELECT count(*) FROM ai_models WHERE openrouter_id LIKE 'ctrl/%' AND is_active").fetchone() == (
        3,
    )


def _serve_slowly(server: HTTPServer, catalog: dict, delay: float) -> None:
    def slow(request):
        time.sleep(delay)
        return Response(json.dumps(catalog), content_type="application/json")

    server.expect_request("/api/v1/models").respond_with_handler(slow)
    server.expect_request("/api/v1/embeddings/models").respond_with_json({"data": []})
    serve_endpoints(server, {m["id"]: m for m in catalog["data"]})


@pytest.mark.slow
def test_two_runs_on_one_instance_read_only_their_own_values(tmp_path, pg_url, pg, handwritten_catalog):
    """Two `dagster job execute` at once on one DAGSTER_HOME, each against its own API: each writes its own."""
    reset_schema(pg_url)
    small = copy.deepcopy(handwritten_catalog)
    small["data"] = small["data"][:20]
    home = tmp_path / "dagster_home"
    home.mkdir()
    # An instance that already exists, as it does under a schedule: two processes creating Dagster's SQLite
    # storage at the same moment race inside Dagster itself.
    with DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)
        instance.get_event_records(EventRecordsFilter(DagsterEventType.RUN_SUCCESS), limit=1)
    servers = [HTTPServer(), HTTPServer()]
    try:
        for server, catalog in zip(servers, (handwritten_catalog, small), strict=True):
            server.start()
            _serve_slowly(server, catalog, 1.0)
        env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_KEY",)}
        env.update({"DAGSTER_HOME": str(home), "DATABASE_URL": pg_url, "CATALOG_STATE_DIR": str(tmp_path / "state")})
        command = [sys.executable, "-m", "dagster", "job", "execute", "-m", "catalog_pipeline.definitions"]
        command += ["-j", "sync_openrouter_models"]
        runs = [
            subprocess.Popen(
                command,
                env={**env, "OPENROUTER_BASE_URL": server.url_for("/api/v1")},
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for server in servers
        ]
        outputs = [run.communicate(timeout=300)[0] for run in runs]
    finally:
        for server in servers:
            server.stop()
    assert [run.returncode for run in runs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    rows = pg.execute("SELECT source_url, fetched FROM ai_model_sync_runs WHERE outcome = 'success'").fetchall()
    expected = {
        (f"http://localhost:{s.port}/api/v1/models?output_modalities=all", n)
        for s, n in zip(servers, (23, 20), strict=True)
    }
    assert {(url.split(",")[0], fetched) for url, fetched in rows} == expected
    # Each run's values live under its own run id.
    assert len(list((home / "storage" / "runs").iterdir())) == 2


def test_a_commit_that_went_through_is_reported_as_such(catalog_db, pg, openrouter, handwritten_catalog, seeded):
    changed = copy.deepcopy(handwritten_catalog)
    changed["data"] = changed["data"][1:]
    with FaultyProxy(catalog_db.url, "drop_after_commit", b"INSERT INTO ai_model_sync_runs") as proxy:
        result = run_sync(CatalogDatabase(url=proxy.url), openrouter.serve(changed))
        assert proxy.fired.is_set()
    assert not result.success
    assert "the commit went through" in failure_text(result)
    # One row: the catalog written, the run failed in the step whose report was lost.
    assert pg.execute(
        "SELECT outcome, catalog_outcome, stage FROM ai_model_sync_runs WHERE dagster_run_id = %s", (result.run_id,)
    ).fetchall() == [("failed", "written", "ai_models_table")]
    assert pg.execute("SELECT count(*) FROM ai_models WHERE is_active").fetchone() == (22,)


def test_a_commit_that_never_arrived_is_reported_rolled_back(catalog_db, pg, openrouter, handwritten_catalog, seeded):
    changed = copy.deepcopy(handwritten_catalog)
    changed["data"] = changed["data"][1:]
    with FaultyProxy(catalog_db.url, "swallow_commit", b"INSERT INTO ai_model_sync_runs") as proxy:
        result = run_sync(CatalogDatabase(url=proxy.url), openrouter.serve(changed))
    assert not result.success
    assert "rolled back; the table is unchanged" in failure_text(result)
    wait_for(pg, "SELECT count(*) = 0 FROM pg_stat_activity WHERE state = 'idle in transaction'")
    assert table_snapshot(pg) == seeded
    [(outcome, stage, *_)] = sync_runs(pg, result.run_id)
    assert (outcome, stage) == ("failed", "ai_models_table")


def test_prices_keep_all_their_digits(catalog_db, pg, openrouter, handwritten_catalog):
    catalog = copy.deepcopy(handwritten_catalog)
    long_price = "0.0000012345678901234567890123456789012345678901"
    catalog["data"][0]["pricing"]["prompt"] = long_price
    assert run_sync(catalog_db, openrouter.serve(catalog)).success
    stored = pg.execute(
        "SELECT input_cost_per_million::text FROM ai_models WHERE openrouter_id = %s", (catalog["data"][0]["id"],)
    ).fetchone()[0]
    assert stored == "1.2345678901234567890123456789012345678901"


def test_a_catalog_whose_ids_all_change_is_blocked(catalog_db, pg, openrouter, handwritten_catalog, seeded):
    recased = copy.deepcopy(handwritten_catalog)
    for model in recased["data"]:
        model["id"] = model["id"].upper()
    result = run_sync(catalog_db, openrouter.serve(recased))
    assert not result.success
    guard = check_results(result)["catalog_not_truncated"]
    assert not guard.passed and guard.metadata["active_ids_vanishing"].value == 23
    assert table_snapshot(pg) == seeded
    override = {"ops": {"classified_models_catalog_not_truncated": {"config": {"allow_mass_removal": True}}}}
    assert run_sync(catalog_db, openrouter.serve(recased), run_config=override).success
    assert pg.execute(
        "SELECT count(*) FROM ai_models WHERE is_active AND openrouter_id = upper(openrouter_id)"
    ).fetchone() == (23,)


# --- hangs without end --------------------------------------------------------------------------------


@pytest.fixture
def raw_server():
    """A socket server whose behaviour each test sets: `handler(conn)` serves one accepted connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    state = {"handler": None, "stop": threading.Event()}

    def serve():
        while not state["stop"].is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=state["handler"], args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1"
    yield state
    state["stop"].set()
    thread.join()
    listener.close()


def _trickle(conn):
    with conn:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        try:
            for _ in range(200):
                conn.sendall(b" ")
                time.sleep(0.1)
        except OSError:
            pass


def _silent_after_headers(conn):
    with conn:
        conn.recv(65536)
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"data"')
        time.sleep(20)


def test_an_upstream_that_trickles_meets_the_deadline(raw_server):
    raw_server["handler"] = _trickle
    client = OpenRouterClient(base_url=raw_server["url"], timeout_seconds=1, request_deadline_seconds=1.5)
    started = time.monotonic()
    with pytest.raises(OpenRouterError, match="took longer than its deadline"):
        client.fetch_catalog()
    assert time.monotonic() - started < 3.5


def test_a_body_shorter_than_announced_then_silence_fails_after_one_read_timeout(raw_server):
    raw_server["handler"] = _silent_after_headers
    client = OpenRouterClient(base_url=raw_server["url"], timeout_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(OpenRouterError, match="failed mid-answer: no answer within 0.5s"):
        client.fetch_catalog()
    assert time.monotonic() - started < 3


def test_endless_429s_are_followed_until_the_fetch_deadline_whatever_the_retries(httpserver):
    """A 429 costs no retry (max_retries=0 here): the API is paced as it asks until the fetch's deadline, which
    alone ends it, with an error naming the rate limit."""
    calls = []

    def limited(request):
        calls.append(time.monotonic())
        return Response("slow down", status=429, headers={"Retry-After": "1"})

    httpserver.expect_request("/api/v1/models").respond_with_handler(limited)
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), max_retries=0, fetch_deadline_seconds=3)
    started = time.monotonic()
    with pytest.raises(ApiUnavailable, match=r"gave up: rate limited \(HTTP 429\) until the fetch's deadline"):
        client.fetch_catalog()
    assert time.monotonic() - started < 3.5
    assert 3 <= len(calls) <= 4


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_answer_over_the_size_cap_is_refused(httpserver, handwritten_catalog, chunked):
    body = json.dumps(handwritten_catalog).encode()

    def big(request):
        if chunked:
            return Response(iter([body[:5000], body[5000:]]), content_type="application/json")
        return Response(body, content_type="application/json")

    httpserver.expect_request("/api/v1/models").respond_with_handler(big)
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), max_response_bytes=10_000)
    with pytest.raises(OpenRouterError, match="over the cap|more than the cap"):
        client.fetch_catalog()


def test_a_silent_database_is_rolled_back_by_the_server_and_fails_clearly(
    catalog_db, pg, openrouter, seeded, handwritten_catalog
):
    """Packets dropped mid-write: the server rolls back the silent transaction, and the client fails clearly
    once the network reports the connection dead (keepalives do that on a real network; here the proxy resets)."""
    changed = copy.deepcopy(handwritten_catalog)
    changed["data"] = changed["data"][1:]
    silent_db = None
    with FaultyProxy(catalog_db.url, "silence", b'INSERT INTO "ai_models" AS m') as proxy:
        silent_db = CatalogDatabase(url=proxy.url, idle_timeout_seconds=1)
        result = {}
        runner = threading.Thread(target=lambda: result.update(r=run_sync(silent_db, openrouter.serve(changed))))
        runner.start()
        assert proxy.fired.wait(30)
        # The server side gives the silent transaction up and rolls it back.
        silent_sessions = (
            "SELECT count(*) = 0 FROM pg_stat_activity "
            "WHERE application_name = 'catalog_pipeline' AND state LIKE 'idle in transaction%%'"
        )
        wait_for(pg, silent_sessions, timeout=10)
        assert table_snapshot(pg) == seeded
        proxy.close_all()
        runner.join(30)
    assert not result["r"].success
    assert "writing ai_models lost its connection" in failure_text(result["r"])
    assert table_snapshot(pg) == seeded


def test_sync_connections_use_tcp_keepalives(catalog_db):
    with catalog_db.connect() as conn:
        options = {o.keyword.decode(): o.val for o in conn.pgconn.info}
    assert (options["keepalives"], options["keepalives_idle"], options["keepalives_count"]) == (b"1", b"30", b"3")


def test_a_lock_held_elsewhere_ends_the_guard_with_a_clear_error(
    catalog_db, pg, openrouter, seeded, handwritten_catalog
):
    impatient = CatalogDatabase(url=catalog_db.url, lock_timeout_seconds=1)
    with psycopg.connect(catalog_db.url, application_name="someone-else") as holder:
        holder.execute("LOCK TABLE ai_models IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        result = run_sync(impatient, openrouter.serve(handwritten_catalog))
        elapsed = time.monotonic() - started
    assert not result.success
    text = failure_text(result)
    assert "the truncation guard gave up after waiting 1s for a lock" in text
    assert "application someone-else, idle in transaction" in text
    assert elapsed < 15
    assert table_snapshot(pg) == seeded


# --- secrets ------------------------------------------------------------------------------------------


def test_an_upstream_that_echoes_the_key_does_not_get_it_written(catalog_db, pg, httpserver, capfd):
    def echo(request):
        return Response(f"forbidden for {dict(request.headers)}", status=403)

    httpserver.expect_request("/api/v1/models").respond_with_handler(echo)
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), api_key=KEY, backoff_seconds=0.01)
    result = run_sync(catalog_db, "", client=client)
    assert not result.success
    text = failure_text(result)
    assert "HTTP 403" in text
    everything = text + "".join(str(e) for e in result.all_events) + "".join(capfd.readouterr())
    everything += str(pg.execute("SELECT * FROM ai_model_sync_runs").fetchall())
    assert KEY[:12] not in everything


@pytest.mark.parametrize("password", ["pa#ss-word-1", "pa/ss-word-1", "pa?ss-word-1", "pa@ss-word-1"])
def test_an_unencoded_password_gets_advice_and_stays_secret(openrouter, handwritten_catalog, capfd, password):
    database = CatalogDatabase(url=f"postgresql://catalog:{password}@127.0.0.1:5432/catalog")
    with pytest.raises(CatalogDatabaseError, match="percent-encode") as caught:
        with database.connect():
            pass
    fragments = {password, password[3:], "ss-word-1"}
    assert not any(f in str(caught.value) for f in fragments)
    result = run_sync(database, openrouter.serve(handwritten_catalog))
    assert not result.success
    everything = failure_text(result) + "".join(str(e) for e in result.all_events) + "".join(capfd.readouterr())
    assert "percent-encode" in everything
    assert not any(f in everything for f in fragments)


# --- on record ----------------------------------------------------------------------------------------


def test_every_failed_run_is_on_record_with_its_stage(
    catalog_db, pg, httpserver, openrouter, handwritten_catalog, seeded
):
    httpserver.clear()
    httpserver.expect_request("/api/v1/models").respond_with_json({"error": "no"}, status=401)
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), api_key=KEY, backoff_seconds=0.01)
    unauthorised = run_sync(catalog_db, "", client=client)
    assert not unauthorised.success
    [(outcome, stage, error, source, _)] = sync_runs(pg, unauthorised.run_id)
    assert (outcome, stage) == ("failed", "raw_openrouter_models")
    assert "HTTP 401" in error and KEY not in error and source.endswith("/models?output_modalities=all")

    quarter = copy.deepcopy(handwritten_catalog)
    quarter["data"] = quarter["data"][:5]
    blocked = run_sync(catalog_db, openrouter.serve(quarter))
    assert not blocked.success
    [(outcome, stage, error, _, _)] = sync_runs(pg, blocked.run_id)
    assert (outcome, stage) == ("failed", "classified_models_catalog_not_truncated")
    assert table_snapshot(pg) == seeded


def test_deeply_nested_and_nul_keyed_models_are_handled_one_by_one(catalog_db, pg, openrouter, handwritten_catalog):
    catalog = copy.deepcopy(handwritten_catalog)
    template = catalog["data"][0]
    deep: dict = {}
    node = deep
    for _ in range(700):
        node["x"] = {}
        node = node["x"]
    catalog["data"] += [
        {**copy.deepcopy(template), "id": "odd/deep", "architecture": deep},
        {
            **copy.deepcopy(template),
            "id": "odd/nul-key",
            "pricing": {"prompt": "0.000001", "completion": "0", "we\u0000ird": "0"},
        },
        {
            **copy.deepcopy(template),
            "id": "odd/numerals",
            "pricing": {"prompt": "1_000", "completion": "\u0661\u0662\u0663"},
        },
    ]
    result = run_sync(catalog_db, openrouter.serve(catalog))
    assert result.success
    classified = materialization_metadata(result, "classified_models")
    assert classified["set_aside_count"] == 1 and "nested deeper than 32 levels" in classified["set_aside"]
    assert pg.execute("SELECT pricing ? 'weird' FROM ai_models WHERE openrouter_id = 'odd/nul-key'").fetchone() == (
        True,
    )
    numerals = pg.execute(
        "SELECT input_cost_per_million, output_cost_per_million, pricing_kind FROM ai_models "
        "WHERE openrouter_id = 'odd/numerals'"
    ).fetchone()
    assert numerals == (None, None, None)
    assert pg.execute("SELECT count(*) FROM ai_models").fetchone() == (25,)


def test_a_run_whose_endpoints_fail_after_the_catalog_write_says_so(catalog_db, pg, openrouter, handwritten_catalog):
    broken = {m["id"]: Response("", status=404) for m in handwritten_catalog["data"]}
    result = run_sync(catalog_db, openrouter.serve(handwritten_catalog, endpoints=broken))
    assert not result.success
    row = pg.execute(
        "SELECT outcome, catalog_outcome, endpoints_outcome, stage, error, inserted FROM ai_model_sync_runs "
        "WHERE dagster_run_id = %s",
        (result.run_id,),
    ).fetchall()
    [(outcome, catalog, endpoints, stage, error, inserted)] = row
    assert (outcome, catalog, endpoints, stage, inserted) == (
        "failed",
        "written",
        "failed",
        "raw_openrouter_endpoints",
        23,
    )
    assert "models failed, more than the 4 allowed" in error

    good = run_sync(catalog_db, openrouter.serve(handwritten_catalog))
    assert good.success
    assert pg.execute(
        "SELECT outcome, catalog_outcome, endpoints_outcome, stage FROM ai_model_sync_runs WHERE dagster_run_id = %s",
        (good.run_id,),
    ).fetchall() == [("success", "written", "written", None)]
