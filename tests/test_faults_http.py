"""HTTP faults from OpenRouter: each ends in a clear error (or a retry that works) and an unchanged table."""

import copy
import json
import socket
import threading
import time

import pytest
from conftest import check_results, failure_text, materialization_metadata, run_sync, serve_endpoints, table_snapshot
from werkzeug import Response

from catalog_pipeline.resources.openrouter import OpenRouterClient, OpenRouterError

CURATED = ["openai/gpt-4o", "anthropic/claude-3.5-sonnet"]


@pytest.fixture
def seeded(catalog_db, pg, openrouter, handwritten_catalog):
    """A synced table with curated flags; returns its full snapshot."""
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success
    pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = ANY(%s)", (CURATED,))
    return table_snapshot(pg)


def _serve_models(httpserver, handler):
    httpserver.clear()
    httpserver.expect_request("/api/v1/models").respond_with_handler(handler)
    httpserver.expect_request("/api/v1/embeddings/models").respond_with_json({"data": []})
    serve_endpoints(httpserver, {})


def test_500_on_every_try_retries_then_fails_clearly(seeded, catalog_db, pg, httpserver):
    calls = []

    def always_500(request):
        calls.append(time.monotonic())
        return Response("upstream exploded", status=500)

    _serve_models(httpserver, always_500)
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), max_retries=2, backoff_seconds=0.01)
    result = run_sync(catalog_db, "", client=client)
    assert not result.success
    # One retry policy: the client's 3 attempts, and no step retries on top of them.
    assert len(calls) == 3
    assert "failed after 3 attempts: HTTP 500" in failure_text(result)
    assert table_snapshot(pg) == seeded


def test_429_with_retry_after_is_honoured(seeded, catalog_db, pg, httpserver, handwritten_catalog):
    calls = []

    def limited_once(request):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return Response(json.dumps(handwritten_catalog), content_type="application/json")

    _serve_models(httpserver, limited_once)
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), max_retries=2, backoff_seconds=0.01)
    result = run_sync(catalog_db, "", client=client)
    assert result.success
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.95  # waited Retry-After, not the 0.01 s backoff
    assert table_snapshot(pg) == seeded  # same catalog: nothing to change


def test_response_slower_than_the_timeout(seeded, catalog_db, pg, httpserver, handwritten_catalog):
    def slow(request):
        time.sleep(0.6)
        return Response(json.dumps(handwritten_catalog), content_type="application/json")

    _serve_models(httpserver, slow)
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), timeout_seconds=0.2, max_retries=0)
    with pytest.raises(OpenRouterError, match=r"failed after 1 attempts: no answer within 0.2s"):
        client.fetch_catalog()
    result = run_sync(catalog_db, "", client=client)
    assert not result.success
    assert "no answer within 0.2s" in failure_text(result)
    assert table_snapshot(pg) == seeded


@pytest.fixture
def dropping_server():
    """A raw socket server that promises 100 kB, sends 100 bytes of JSON and hangs up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                body = b'{"data": [{"id": "openai/gpt-4o", "name": "GPT-4o", "pricing": {"prompt": "0.0000'
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n" + body
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1"
    stop.set()
    thread.join()
    listener.close()


def test_connection_dropped_mid_body(seeded, catalog_db, pg, dropping_server):
    client = OpenRouterClient(base_url=dropping_server, max_retries=1, backoff_seconds=0.01)
    with pytest.raises(OpenRouterError, match="failed mid-answer: .*(IncompleteRead|ChunkedEncodingError)"):
        client.fetch_catalog()
    result = run_sync(catalog_db, "", client=client)
    assert not result.success
    assert table_snapshot(pg) == seeded


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            "<!doctype html><html><body>Cloudflare</body></html>",
            "text/html",
            "returned HTML (status 200), expected JSON",
        ),
        ('{"data": [{"id": "a/b"', "application/json", "returned invalid JSON"),
        ('{"data": null}', "application/json", "'data': null, expected a list of models"),
        (
            '{"error": {"message": "Unauthorized", "code": 401}}',
            "application/json",
            "returned an error instead of models: 'Unauthorized'",
        ),
        ('{"data": {"id": "a/b"}}', "application/json", "'data' as a dict, expected a list"),
        ('{"data": "models"}', "application/json", "'data' as a str, expected a list"),
        ('{"data": ["a/b", "c/d"]}', "application/json", "none of them a model object with a string id"),
        ('[{"id": "a/b"}]', "application/json", "returned a JSON list, expected an object"),
        ('{"models": []}', "application/json", "without a 'data' key"),
    ],
)
def test_bad_bodies_fail_clearly(seeded, catalog_db, pg, httpserver, body, content_type, message):
    _serve_models(httpserver, lambda request: Response(body, content_type=content_type))
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), max_retries=0)
    result = run_sync(catalog_db, "", client=client)
    assert not result.success
    assert message in failure_text(result)
    assert "/api/v1/models?output_modalities=all" in failure_text(result)
    # A malformed answer is not retried at the step level (HTTP retries are for transient statuses).
    assert sum(1 for request, _ in httpserver.log if request.path == "/api/v1/models") == 1
    assert table_snapshot(pg) == seeded


def test_truncated_catalog_is_blocked_then_allowed_by_override(seeded, catalog_db, pg, openrouter, handwritten_catalog):
    quarter = copy.deepcopy(handwritten_catalog)
    quarter["data"] = quarter["data"][: len(quarter["data"]) // 4]
    result = run_sync(catalog_db, openrouter.serve(quarter))
    assert not result.success
    guard = check_results(result)["catalog_not_truncated"]
    assert not guard.passed
    assert guard.metadata["fetched_total"].value == 5
    assert guard.metadata["active_total"].value == 23
    assert "| rows fetched | 5 of 23 active | below 50% |" in guard.metadata["failures"].value
    # ai_models_table never ran: the blocking check stopped it.
    assert not [e for e in result.get_asset_materialization_events() if e.asset_key.path == ["ai_models_table"]]
    assert table_snapshot(pg) == seeded

    override = {"ops": {"classified_models_catalog_not_truncated": {"config": {"allow_mass_removal": True}}}}
    result = run_sync(catalog_db, openrouter.serve(quarter), run_config=override)
    assert result.success
    assert check_results(result)["catalog_not_truncated"].metadata["overridden"].value is True
    assert materialization_metadata(result, "ai_models_table")["deactivated"] == 18
    curated = dict(pg.execute("SELECT openrouter_id, is_active FROM ai_models WHERE is_curated").fetchall())
    assert set(curated) == set(CURATED)


@pytest.mark.real_data
def test_vanished_modality_is_blocked(catalog_db, pg, openrouter, real_catalog):
    full = real_catalog("2026-06-24")
    assert run_sync(catalog_db, openrouter.serve(full)).success
    before = table_snapshot(pg)
    no_video = copy.deepcopy(full)
    no_video["data"] = [m for m in no_video["data"] if m["architecture"]["output_modalities"] != ["video"]]
    result = run_sync(catalog_db, openrouter.serve(no_video))
    assert not result.success
    guard = check_results(result)["catalog_not_truncated"]
    assert guard.metadata["vanished_modalities"].value == ["video"]
    assert table_snapshot(pg) == before


def test_duplicate_ids_are_stored_once(catalog_db, pg, openrouter, handwritten_catalog):
    doubled = copy.deepcopy(handwritten_catalog)
    doubled["data"] = doubled["data"] + copy.deepcopy(doubled["data"][:5])
    result = run_sync(catalog_db, openrouter.serve(doubled))
    assert result.success
    assert materialization_metadata(result, "classified_models")["duplicate_ids_dropped"] == 5
    assert pg.execute("SELECT count(*), count(DISTINCT openrouter_id) FROM ai_models").fetchone() == (23, 23)
