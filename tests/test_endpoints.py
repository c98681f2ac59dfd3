"""Per-provider endpoints through a real local HTTP server and a real Postgres."""

import copy
import json
import threading
import time
from decimal import Decimal

import pytest
from conftest import (
    DATA_DIR,
    check_results,
    failure_text,
    load_json,
    materialization_metadata,
    run_log_lines,
    run_sync,
)
from dagster import AssetKey, DagsterInstance
from endpoint_data import derived_endpoints, endpoints_answer
from pytest_httpserver import HTTPServer
from tcp_proxy import FaultyProxy
from werkzeug import Response

from catalog_pipeline.definitions import build_defs
from catalog_pipeline.resources.openrouter import OpenRouterClient, fetch_endpoints
from catalog_pipeline.resources.postgres import CatalogDatabase

GPT4O = "openai/gpt-4o"
SNAPSHOT = "SELECT * FROM ai_model_endpoints ORDER BY openrouter_id, tag"


@pytest.fixture
def handwritten_endpoints():
    return load_json(DATA_DIR / "handwritten_endpoints.json")


def _endpoint(pg, model_id, tag, *cols):
    return pg.execute(
        f"SELECT {', '.join(cols)} FROM ai_model_endpoints WHERE openrouter_id = %s AND tag = %s",  # noqa: S608
        (model_id, tag),
    ).fetchone()


def test_a_sync_writes_every_endpoint_with_exact_values(
    catalog_db, pg, openrouter, handwritten_catalog, handwritten_endpoints
):
    with DagsterInstance.ephemeral() as instance:
        result = run_sync(
            catalog_db, openrouter.serve(handwritten_catalog, endpoints=handwritten_endpoints), instance=instance
        )
        assert result.success
        lines = run_log_lines(instance, result)["raw_openrouter_endpoints"]
    expected = sum(
        len(derived_endpoints(m["id"], m)) for m in handwritten_catalog["data"] if m["id"] not in handwritten_endpoints
    )
    expected += 4
    assert pg.execute("SELECT count(*) FROM ai_model_endpoints WHERE is_active").fetchone() == (expected,)
    assert lines[-1].startswith("endpoints: 23/23 requests done, 0 failed, ")

    assert _endpoint(pg, GPT4O, "openai", "provider_name", "quantization", "context_length", "max_prompt_tokens",
                     "input_cost_per_million", "output_cost_per_million", "cache_read_cost_per_million",
                     "supports_implicit_caching", "supported_parameters") == (
        "OpenAI", "unknown", 128000, 111616, Decimal("2.5"), Decimal("10"), Decimal("1.25"), True,
        ["tools", "temperature", "response_format"],
    )  # fmt: skip
    assert _endpoint(pg, GPT4O, "azure/eu", "quantization", "input_cost_per_million", "pricing->>'discount'") == (
        None,
        Decimal("2.2"),
        "0.1",
    )
    # No tag: the provider's name stands in.
    assert _endpoint(pg, GPT4O, "Bargain Cloud", "provider_name", "input_cost_per_million") == (
        "Bargain Cloud",
        Decimal(2),
    )
    summary = pg.execute(
        "SELECT endpoint_count, cheapest_input_cost_per_million, cheapest_input_provider, "
        "cheapest_output_cost_per_million, max_context_length, providers FROM ai_model_endpoint_summary "
        "WHERE openrouter_id = %s",
        (GPT4O,),
    ).fetchone()
    assert summary == (3, Decimal(2), "Bargain Cloud", Decimal("10"), 128000, ["Azure", "Bargain Cloud", "OpenAI"])
    observed = pg.execute(
        "SELECT status, uptime_last_5m, latency_last_30m->>'p50', throughput_last_30m "
        "FROM ai_model_endpoint_observations WHERE openrouter_id = %s ORDER BY tag",
        (GPT4O,),
    ).fetchall()
    assert observed == [
        (-2, 80.0, None, None),
        (0, 100.0, None, None),
        (0, 100.0, "410.5", {"p50": 88.2, "p75": 70, "p90": 55, "p99": 30}),
    ]
    cache = pg.execute(
        "SELECT price_per_million FROM ai_model_endpoint_prices WHERE openrouter_id = %s AND tag = 'openai' "
        "AND component = 'input_cache_read' AND valid_to IS NULL",
        (GPT4O,),
    ).fetchone()
    assert cache == (Decimal("1.25"),)
    checks = check_results(result)
    assert checks["endpoints_cover_catalog"].passed and checks["endpoint_prices_sane"].passed
    table = materialization_metadata(result, "ai_model_endpoints_table")
    assert (table["inserted"], table["updated"], table["failed_count"]) == (expected, 0, 0)
    assert all(c.description for c in table["dagster/column_schema"].columns)


def test_a_no_op_resync_writes_no_endpoint_row_and_one_observation_each(
    catalog_db, pg, openrouter, handwritten_catalog
):
    base = openrouter.serve(handwritten_catalog)
    assert run_sync(catalog_db, base).success
    before = pg.execute(SNAPSHOT).fetchall()
    versions = pg.execute("SELECT id, xmin::text FROM ai_model_endpoints ORDER BY id").fetchall()
    prices = pg.execute("SELECT count(*) FROM ai_model_endpoint_prices").fetchone()
    again = run_sync(catalog_db, base)
    meta = materialization_metadata(again, "ai_model_endpoints_table")
    assert (meta["inserted"], meta["updated"], meta["deactivated"]) == (0, 0, 0)
    assert meta["observations"] == len(before)
    assert pg.execute(SNAPSHOT).fetchall() == before
    assert pg.execute("SELECT id, xmin::text FROM ai_model_endpoints ORDER BY id").fetchall() == versions
    assert pg.execute("SELECT count(*) FROM ai_model_endpoint_prices").fetchone() == prices
    assert pg.execute(
        "SELECT count(DISTINCT observed_at), count(*) FROM ai_model_endpoint_observations"
    ).fetchone() == (2, 2 * len(before))


def test_an_endpoint_leaves_and_returns_with_its_price_history(
    catalog_db, pg, openrouter, handwritten_catalog, handwritten_endpoints
):
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog, endpoints=handwritten_endpoints)).success
    fewer = copy.deepcopy(handwritten_endpoints)
    fewer[GPT4O]["data"]["endpoints"] = fewer[GPT4O]["data"]["endpoints"][:2]
    fewer[GPT4O]["data"]["endpoints"][1]["pricing"]["prompt"] = "0.0000021"
    result = run_sync(catalog_db, openrouter.serve(handwritten_catalog, endpoints=fewer))
    meta = materialization_metadata(result, "ai_model_endpoints_table")
    assert (meta["deactivated"], meta["updated"]) == (1, 1)
    assert "Bargain Cloud" in meta["change_report"] and "$2.2 → $2.1" in meta["change_report"]
    assert _endpoint(pg, GPT4O, "Bargain Cloud", "is_active", "removed_at IS NOT NULL") == (False, True)
    assert pg.execute(
        "SELECT count(*) FROM ai_model_endpoint_prices WHERE tag = 'Bargain Cloud' AND valid_to IS NULL"
    ).fetchone() == (0,)
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog, endpoints=handwritten_endpoints)).success
    assert _endpoint(pg, GPT4O, "Bargain Cloud", "is_active", "removed_at") == (True, None)
    history = pg.execute(
        "SELECT price, valid_to IS NULL FROM ai_model_endpoint_prices WHERE openrouter_id = %s AND tag = 'azure/eu' "
        "AND component = 'prompt' ORDER BY valid_from",
        (GPT4O,),
    ).fetchall()
    assert history == [(Decimal("0.0000022"), False), (Decimal("0.0000021"), False), (Decimal("0.0000022"), True)]
    periods = pg.execute(
        "SELECT count(*) FROM ai_model_endpoint_prices WHERE tag = 'Bargain Cloud' AND component = 'prompt'"
    ).fetchone()
    assert periods == (2,)  # before it left, and since it came back


def test_failed_models_keep_yesterdays_rows_and_are_listed(
    catalog_db, pg, openrouter, handwritten_catalog, handwritten_endpoints
):
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog, endpoints=handwritten_endpoints)).success
    before = {r[0]: r for r in pg.execute("SELECT openrouter_id, tag, input_cost_per_million FROM ai_model_endpoints")}
    kept = pg.execute(
        "SELECT * FROM ai_model_endpoints WHERE openrouter_id IN ('openai/gpt-4o', 'x-ai/grok-4:online', "
        "'acme/acme-1', 'foolabs/bar-1') ORDER BY openrouter_id, tag"
    ).fetchall()
    faults = {
        GPT4O: Response("upstream exploded", status=502),
        "x-ai/grok-4:online": Response("not json", content_type="application/json"),
        "acme/acme-1": endpoints_answer("acme/acme-1", []),  # it had endpoints yesterday
        "foolabs/bar-1": Response("gone", status=404),
    }
    result = run_sync(catalog_db, openrouter.serve(handwritten_catalog, endpoints={**handwritten_endpoints, **faults}))
    assert result.success
    meta = materialization_metadata(result, "ai_model_endpoints_table")
    assert meta["failed_count"] == 4
    reasons = meta["failed_ids"]
    assert "HTTP 502" in reasons[GPT4O] and "HTTP 404" in reasons["foolabs/bar-1"]
    assert reasons["x-ai/grok-4:online"].startswith("malformed answer: invalid JSON")
    assert reasons["acme/acme-1"].startswith("no endpoints listed; it had ")
    assert (
        pg.execute(
            "SELECT * FROM ai_model_endpoints WHERE openrouter_id IN ('openai/gpt-4o', 'x-ai/grok-4:online', "
            "'acme/acme-1', 'foolabs/bar-1') ORDER BY openrouter_id, tag"
        ).fetchall()
        == kept
    )
    coverage = check_results(result)["endpoints_cover_catalog"]
    assert coverage.passed and set(coverage.metadata["excused"].value) == set(faults)
    assert before  # the others were written as usual
    assert meta["deactivated"] == 0


def test_too_many_malformed_answers_write_nothing_and_say_why(catalog_db, pg, openrouter, handwritten_catalog):
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success
    before = pg.execute(SNAPSHOT).fetchall()
    observations = pg.execute("SELECT count(*) FROM ai_model_endpoint_observations").fetchone()
    broken = {m["id"]: Response("not json", content_type="application/json") for m in handwritten_catalog["data"][:6]}
    result = run_sync(catalog_db, openrouter.serve(handwritten_catalog, endpoints=broken))
    assert not result.success
    assert "6 of 23 models' endpoints failed (26%, more than 20%); nothing was written" in failure_text(result)
    assert pg.execute(SNAPSHOT).fetchall() == before
    assert pg.execute("SELECT count(*) FROM ai_model_endpoint_observations").fetchone() == observations


def test_an_endpoints_outage_stops_the_fetch_once_the_guard_has_decided(
    catalog_db, pg, openrouter, handwritten_catalog
):
    """Every endpoints request answers 500 after a good day: once more models have failed than the guard allows
    (4 of 23), nothing more is asked, yesterday's rows stay, and the step fails with the guard's message."""
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success
    before = pg.execute(SNAPSHOT).fetchall()
    openrouter.serve(
        handwritten_catalog, endpoints={m["id"]: Response("", status=500) for m in handwritten_catalog["data"]}
    )
    client = OpenRouterClient(
        base_url=openrouter.base_url, backoff_seconds=0.01, max_retries=4, endpoints_per_second=1000, endpoints_pool=2
    )
    result = run_sync(catalog_db, "", client=client)
    assert not result.success
    asked = [r for r, _ in openrouter.server.log if r.path.endswith("/endpoints")]
    # Two models in a row failing after five tries each trip the breaker; the rest are tried once, until the
    # guard's 4 allowed failures are exceeded: far fewer than 23 models × 5 tries.
    assert len(asked) <= 2 * 5 + 2 * 5, len(asked)
    assert "more than the 4 allowed" in failure_text(result) and "yesterday's endpoints are kept" in failure_text(
        result
    )
    assert pg.execute(SNAPSHOT).fetchall() == before


def test_429_with_retry_after_slows_all_and_everything_is_fetched(httpserver, handwritten_catalog):
    limited = {"count": 0}
    calls = []

    def answer(request):
        calls.append(time.monotonic())
        model_id = request.path.removeprefix("/api/v1/models/").removesuffix("/endpoints")
        if limited["count"] < 3 and model_id.startswith("openai/"):
            limited["count"] += 1
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return Response(
            json.dumps(endpoints_answer(model_id, derived_endpoints(model_id))), content_type="application/json"
        )

    import re

    httpserver.expect_request(re.compile(r"^/api/v1/models/.+/endpoints$")).respond_with_handler(answer)
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), backoff_seconds=0.01)
    ids = [m["id"] for m in handwritten_catalog["data"]]
    started = time.monotonic()
    fetched = fetch_endpoints(
        client, {i: f"/models/{i}/endpoints" for i in ids}, pool=4, per_second=200, deadline_seconds=60
    )
    assert fetched.failed == {} and set(fetched.bodies) == {f"/models/{i}/endpoints" for i in ids}
    assert time.monotonic() - started >= 1.0  # the pool waited out the Retry-After


@pytest.mark.slow
def test_the_pool_and_the_rate_limit_hold(handwritten_catalog):
    """450 models against a server that answers after 100 ms: never more than the pool at once, nor more than the
    rate started in any second; the total near the pool's bound."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    active, peak, starts, lock = [0], [0], [], threading.Lock()

    def slow(request):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            starts.append(time.monotonic())
        time.sleep(0.1)
        with lock:
            active[0] -= 1
        model_id = request.path.removeprefix("/api/v1/models/").removesuffix("/endpoints")
        return Response(json.dumps(endpoints_answer(model_id, [])), content_type="application/json")

    import re

    server.expect_request(re.compile(r"^/api/v1/models/.+/endpoints$")).respond_with_handler(slow)
    server.start()
    try:
        client = OpenRouterClient(base_url=server.url_for("/api/v1"))
        paths = {f"m/{i}": f"/models/m/{i}/endpoints" for i in range(450)}
        fetched = fetch_endpoints(client, paths, pool=8, per_second=60, deadline_seconds=120)
    finally:
        server.stop()
    assert len(fetched.bodies) == 450 and not fetched.failed
    assert peak[0] <= 8
    starts.sort()
    # The client starts requests 1/60 s apart; arrivals at the server add a few ms of scheduling jitter, so a
    # window may catch a couple more. Over the whole run the rate cannot be beaten.
    assert starts[-1] - starts[0] >= (450 - 1) / 60 * 0.99
    busiest = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    assert busiest <= 63


def test_a_write_killed_mid_transaction_leaves_the_endpoints_unchanged(
    catalog_db, pg, openrouter, handwritten_catalog, handwritten_endpoints
):
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success
    before = pg.execute(SNAPSHOT).fetchall()
    with FaultyProxy(catalog_db.url, "swallow_commit", b"ai_model_endpoint_observations") as proxy:
        result = run_sync(
            CatalogDatabase(url=proxy.url), openrouter.serve(handwritten_catalog, endpoints=handwritten_endpoints)
        )
        assert proxy.fired.is_set()
    assert not result.success
    assert pg.execute(SNAPSHOT).fetchall() == before


def test_the_endpoints_assets_materialize_alone_from_a_fresh_instance(catalog_db, pg, openrouter, handwritten_catalog):
    base = openrouter.serve(handwritten_catalog)
    defs = build_defs(OpenRouterClient(base_url=base, endpoints_per_second=1000), catalog_db)
    with DagsterInstance.ephemeral() as instance:
        job = defs.resolve_implicit_global_asset_job_def()
        catalog_only = [AssetKey(k) for k in ("raw_openrouter_models", "classified_models", "ai_models_table")]
        assert job.execute_in_process(instance=instance, asset_selection=catalog_only).success
    assert pg.execute("SELECT count(*) FROM ai_model_endpoints").fetchone() == (0,)
    with DagsterInstance.ephemeral() as fresh:
        endpoints_only = [
            AssetKey(k) for k in ("raw_openrouter_endpoints", "raw_openrouter_providers", "ai_model_endpoints_table")
        ]
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=fresh, asset_selection=endpoints_only
        )
        assert result.success
    assert pg.execute("SELECT count(DISTINCT openrouter_id) FROM ai_model_endpoints WHERE is_active").fetchone() == (
        23,
    )


@pytest.mark.real_data
def test_a_real_catalogs_endpoints(real_catalog, catalog_db, pg, openrouter):
    """The 2026-06-24 catalog, each model given endpoints derived from its own data; the summary view checked
    against the same figures worked out here from what was served."""
    catalog = real_catalog("2026-06-24")
    result = run_sync(catalog_db, openrouter.serve(catalog))
    assert result.success
    served = {m["id"]: derived_endpoints(m["id"], m) for m in catalog["data"]}
    assert pg.execute("SELECT count(*) FROM ai_model_endpoints WHERE is_active").fetchone() == (
        sum(len(e) for e in served.values()),
    )
    assert check_results(result)["endpoint_prices_sane"].passed
    sonar = served["perplexity/sonar"]
    second = sonar[1] if len(sonar) > 1 else sonar[0]
    stored = _endpoint(pg, "perplexity/sonar", second["tag"], "input_cost_per_million", "provider_name")
    assert stored == (Decimal(second["pricing"]["prompt"]) * 10**6, second["provider_name"])
    # Hand-derived: the cheapest per-token input of each model with token prices, and who offers it.
    for model_id in ("openai/gpt-4o", "perplexity/sonar", "google/gemini-3-pro-image"):
        endpoints = served[model_id]
        cheapest = min(endpoints, key=lambda e: (Decimal(e["pricing"]["prompt"]), e["tag"]))
        row = pg.execute(
            "SELECT endpoint_count, cheapest_input_cost_per_million, cheapest_input_provider, providers "
            "FROM ai_model_endpoint_summary WHERE openrouter_id = %s",
            (model_id,),
        ).fetchone()
        assert row == (
            len(endpoints),
            Decimal(cheapest["pricing"]["prompt"]) * 10**6,
            cheapest["provider_name"],
            sorted({e["provider_name"] for e in endpoints}),
        )
    # A unit-billed model's endpoints have no token prices.
    assert pg.execute(
        "SELECT count(*) FROM ai_model_endpoints WHERE openrouter_id = 'openai/whisper-large-v3-turbo' "
        "AND input_cost_per_million IS NULL AND billing_unit = 'hour'"
    ).fetchone()[0] == len(served["openai/whisper-large-v3-turbo"])


def test_a_deep_endpoint_entry_is_set_aside_and_the_rest_of_its_answer_kept(
    catalog_db, pg, openrouter, handwritten_catalog
):
    model = next(m for m in handwritten_catalog["data"] if m["id"] == "openai/gpt-4o")
    endpoints = derived_endpoints(model["id"], model)
    odd = copy.deepcopy(endpoints[0])
    node = odd["pricing"]
    for _ in range(100):
        node["x"] = {}
        node = node["x"]
    odd["tag"] = "deep/one"
    answer = endpoints_answer(model["id"], [*endpoints, odd])
    result = run_sync(catalog_db, openrouter.serve(handwritten_catalog, endpoints={model["id"]: answer}))
    assert result.success
    meta = materialization_metadata(result, "ai_model_endpoints_table")
    assert meta["endpoints_set_aside"] == [f"openai/gpt-4o: entry {len(endpoints) + 1} is nested deeper than 32 levels"]
    tags = {r[0] for r in pg.execute("SELECT tag FROM ai_model_endpoints WHERE openrouter_id = 'openai/gpt-4o'")}
    assert tags == {e["tag"] for e in endpoints}
