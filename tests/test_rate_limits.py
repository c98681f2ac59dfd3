"""A rate limit is the API pacing us, not an outage; a dead or rate-limiting API costs a run one fetch deadline."""

import socket
import threading
import time

import pytest
from conftest import ENDPOINTS_PATH, FakeOpenRouter, failure_text, materialization_metadata, run_sync, serve_real_day
from pytest_httpserver import HTTPServer
from werkzeug import Response

from catalog_pipeline.resources.openrouter import OpenRouterClient


@pytest.fixture
def threaded_openrouter():
    """A local OpenRouter that answers requests concurrently, so the pool's concurrency can be seen."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    yield FakeOpenRouter(server)
    server.clear()
    server.stop()


class Burst:
    """Wraps a server's dispatch: every endpoints request answers 429 with `Retry-After` for `seconds` from the first
    one, then as served. Records each endpoints request's start and the most in flight at once."""

    def __init__(self, server: HTTPServer, seconds: float, retry_after: int) -> None:
        self.seconds, self.retry_after, self.dispatch = seconds, retry_after, server.dispatch
        self.starts: list[float] = []
        self.limited = self.active = self.peak = 0
        self.lock = threading.Lock()
        server.dispatch = self

    def __call__(self, request):
        if not ENDPOINTS_PATH.match(request.path):
            return self.dispatch(request)
        with self.lock:
            now = time.monotonic()
            self.starts.append(now)
            self.active += 1
            self.peak = max(self.peak, self.active)
            limited = now - self.starts[0] < self.seconds
            self.limited += limited
        try:
            if limited:
                return Response("slow down", status=429, headers={"Retry-After": str(self.retry_after)})
            time.sleep(0.02)  # an answer takes a moment, so requests overlap
            return self.dispatch(request)
        finally:
            with self.lock:
                self.active -= 1

    def busiest_second(self) -> int:
        return max(sum(1 for t in self.starts if s <= t < s + 1.0) for s in self.starts)


def _burst_client(base_url: str) -> OpenRouterClient:
    # One retry only: before 429s cost no retry, every model asked in the first seconds of the burst was lost.
    return OpenRouterClient(
        base_url=base_url, max_retries=1, backoff_seconds=0.01, endpoints_pool=4, endpoints_per_second=40
    )


def _assert_paced(burst: Burst) -> None:
    assert burst.limited > 4, "the burst must have met the pool"
    assert burst.peak <= 4
    # The client starts requests 1/40 s apart; arrival jitter at the server may put one or two more in a window.
    assert burst.busiest_second() <= 42


def test_a_burst_of_429s_loses_no_endpoints_and_keeps_the_pool_and_rate(
    catalog_db, pg, threaded_openrouter, handwritten_catalog
):
    threaded_openrouter.serve(handwritten_catalog)
    burst = Burst(threaded_openrouter.server, seconds=2.5, retry_after=1)
    result = run_sync(catalog_db, "", client=_burst_client(threaded_openrouter.base_url))
    assert result.success, failure_text(result)
    _assert_paced(burst)
    without = pg.execute(
        "SELECT count(*) FROM ai_models m WHERE is_active AND NOT EXISTS "
        "(SELECT 1 FROM ai_model_endpoints e WHERE e.openrouter_id = m.openrouter_id AND e.is_active)"
    ).fetchone()[0]
    assert without == 0


@pytest.mark.real_data
def test_a_burst_of_429s_on_the_real_day_writes_every_models_endpoints(catalog_db, pg, threaded_openrouter, real_file):
    """The real 2026-05-16 answers: every model that answers for itself has its endpoint rows after the burst."""
    catalog, saved = (
        real_file("2026-05-16_mddb_openrouter-models.json"),
        real_file("2026-05-16_mddb_openrouter-endpoints.json")["data"],
    )
    slugs = {ep["tag"].split("/")[0] for e in saved for ep in e["response"]["data"]["endpoints"]}
    providers = {"data": [{"slug": s, "name": s, "headquarters": "US", "datacenters": ["US"]} for s in sorted(slugs)]}
    serve_real_day(threaded_openrouter.server, catalog, saved, providers, {"data": []})
    burst = Burst(threaded_openrouter.server, seconds=3, retry_after=1)
    result = run_sync(catalog_db, "", client=_burst_client(threaded_openrouter.base_url))
    assert result.success, failure_text(result)
    _assert_paced(burst)
    owners = {e["response"]["data"]["id"] for e in saved if e["response"]["data"]["endpoints"]}
    stored = {r[0] for r in pg.execute("SELECT DISTINCT openrouter_id FROM ai_model_endpoints WHERE is_active")}
    assert len(owners) > 300 and stored == owners


def test_a_far_retry_after_fails_the_run_at_once_naming_the_rate_limit(catalog_db, pg, openrouter):
    """Every request answers 429 asking for an hour: the first fetch gives up at once and says why; the run's other
    fetches of the API do not start a wait of their own."""
    openrouter.server.expect_request("/api/v1/models").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "3600"})
    )
    openrouter.server.expect_request("/api/v1/providers").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "3600"})
    )
    openrouter.server.expect_request("/api/v1/endpoints/zdr").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "3600"})
    )
    client = OpenRouterClient(base_url=openrouter.base_url, fetch_deadline_seconds=5)
    started = time.monotonic()
    result = run_sync(catalog_db, "", client=client)
    assert not result.success
    assert time.monotonic() - started < 5 + 10 + 30  # one fetch deadline plus a connect and a read timeout
    assert len(openrouter.server.log) == 1  # one request; the other fetches were not started
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert len(failures) == 1
    assert "rate limited (HTTP 429): the API asked to wait 3600s (Retry-After)" in failure_text(result)
    providers = materialization_metadata(result, "raw_openrouter_providers")
    for error in (providers["providers_error"], providers["zero_data_retention_error"]):
        assert error.startswith("not asked: earlier in this run, GET") and "rate limited (HTTP 429)" in error


@pytest.fixture
def silent_api():
    """A server that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held, stop = [], threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1", held
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_silent_api_costs_the_run_one_fetch_deadline(catalog_db, pg, silent_api):
    base_url, held = silent_api
    client = OpenRouterClient(base_url=base_url, timeout_seconds=1, max_retries=10, fetch_deadline_seconds=3)
    started = time.monotonic()
    result = run_sync(catalog_db, "", client=client)
    elapsed = time.monotonic() - started
    assert not result.success
    assert elapsed < 3 + 1 + 1 + 5, elapsed  # the deadline, a connect and a read timeout, the run's own overhead
    assert "no answer within 1s" in failure_text(result) or "deadline" in failure_text(result)
    assert len([e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]) == 1
