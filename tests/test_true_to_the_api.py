"""What the real API does that a first reading missed: pages, unreadable answers, replays, the record of each part
of a run, the views' columns, prices too low for their unit. A real local HTTP server and a real Postgres."""

import copy
import json
from importlib.metadata import version

import pytest
from conftest import check_results, materialization_metadata, run_sync, serve_endpoints
from endpoint_data import derived_endpoints, endpoints_answer
from werkzeug import Response

from catalog_pipeline.resources.openrouter import OpenRouterClient, OpenRouterError

LISTING = "/api/v1/models"


def _serve_pages(httpserver, models: list, size: int, *, with_next: bool, total: int | None = None) -> None:
    """The listing in pages of `size` from any `offset`, as OpenRouter documents it (ModelsListResponse): each page
    says the total and, `with_next`, where the next one is."""

    def answer(request):
        offset = int(request.args.get("offset", 0))
        following = offset + size < len(models)
        link = (
            f"{LISTING}?output_modalities=all&offset={offset + size}&limit={size}" if with_next and following else None
        )
        page = {
            "data": models[offset : offset + size],
            "total_count": len(models) if total is None else total,
            "links": {"next": link},
        }
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request(LISTING).respond_with_handler(answer)
    httpserver.expect_request("/api/v1/embeddings/models").respond_with_json({"data": []})


@pytest.mark.parametrize("with_next", [True, False], ids=["links.next", "total_count and offset"])
def test_every_page_is_fetched_in_order(httpserver, handwritten_catalog, with_next):
    models = handwritten_catalog["data"]
    _serve_pages(httpserver, models, 10, with_next=with_next)
    catalog = OpenRouterClient(base_url=httpserver.url_for("/api/v1")).fetch_catalog()
    assert [m["id"] for m in catalog.models] == [m["id"] for m in models]
    assert len(catalog.bodies) == 1 + 3  # the archive keeps every page, and the embeddings listing
    offsets = [r.args.get("offset") for r, _ in httpserver.log if r.path == LISTING]
    assert offsets == [None, "10", "20"]
    if not with_next:  # pages asked for by offset are as large as the API allows
        assert {r.args.get("limit") for r, _ in httpserver.log if r.args.get("offset")} == {"1000"}


def test_a_paged_catalog_syncs_whole(catalog_db, pg, openrouter, handwritten_catalog):
    openrouter.serve(handwritten_catalog)
    openrouter.server.clear()
    _serve_pages(openrouter.server, handwritten_catalog["data"], 7, with_next=True)
    serve_endpoints(openrouter.server, {m["id"]: m for m in handwritten_catalog["data"]})
    assert run_sync(catalog_db, openrouter.base_url).success
    assert pg.execute("SELECT count(*) FROM ai_models WHERE is_active").fetchone() == (23,)


def test_a_count_that_does_not_add_up_fails_and_stores_no_page(catalog_db, pg, openrouter, handwritten_catalog):
    models = handwritten_catalog["data"]
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success
    before = pg.execute("SELECT * FROM ai_models ORDER BY openrouter_id").fetchall()
    openrouter.server.clear()
    # The answer says 40 but its pages hold 23: the listing broke off, and one page is never the catalog.
    _serve_pages(openrouter.server, models, 10, with_next=False, total=40)
    result = run_sync(catalog_db, openrouter.base_url)
    assert not result.success
    with pytest.raises(OpenRouterError, match=r"is empty at 23 of 40 models"):
        OpenRouterClient(base_url=openrouter.base_url).fetch_catalog()
    assert pg.execute("SELECT * FROM ai_models ORDER BY openrouter_id").fetchall() == before


def test_links_next_to_another_host_is_refused(httpserver, handwritten_catalog):
    page = {"data": handwritten_catalog["data"][:5], "total_count": 23, "links": {"next": "https://evil.example/x"}}
    httpserver.expect_request(LISTING).respond_with_json(page)
    with pytest.raises(OpenRouterError, match="links.next points outside"):
        OpenRouterClient(base_url=httpserver.url_for("/api/v1"), api_key="sk-secret").fetch_catalog()
    assert len(httpserver.log) == 1


def test_the_user_agent_names_the_package_version(httpserver, handwritten_catalog):
    httpserver.expect_request(LISTING).respond_with_json(handwritten_catalog)
    httpserver.expect_request("/api/v1/embeddings/models").respond_with_json({"data": []})
    OpenRouterClient(base_url=httpserver.url_for("/api/v1")).fetch_catalog()
    assert {r.headers["User-Agent"] for r, _ in httpserver.log} == {f"catalog_pipeline/{version('catalog_pipeline')}"}


def test_an_answer_nested_2000_levels_deep_sets_that_one_model_aside(catalog_db, pg, openrouter, handwritten_catalog):
    deep = '{"data": {"id": "openai/gpt-4o", "endpoints": [' + "[" * 2000 + "]" * 2000 + "]}}"
    result = run_sync(
        catalog_db,
        openrouter.serve(
            handwritten_catalog, endpoints={"openai/gpt-4o": Response(deep, content_type="application/json")}
        ),
    )
    assert result.success
    meta = materialization_metadata(result, "ai_model_endpoints_table")
    assert meta["failed_ids"] == {"openai/gpt-4o": "malformed answer: nested too deep to read"}
    assert pg.execute("SELECT count(DISTINCT openrouter_id) FROM ai_model_endpoints").fetchone() == (22,)


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


def test_a_replayed_endpoints_archive_deactivates_nothing_it_cannot_see(
    catalog_db, pg, openrouter, handwritten_catalog
):
    small = copy.deepcopy(handwritten_catalog)
    small["data"] = small["data"][:20]
    first = run_sync(catalog_db, openrouter.serve(small))
    assert first.success
    archive = materialization_metadata(first, "raw_openrouter_endpoints")["raw_archive"]
    # Three models are added the next day, with their endpoints.
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success
    active = "SELECT openrouter_id, tag FROM ai_model_endpoints WHERE is_active ORDER BY 1, 2"
    before = pg.execute(active).fetchall()
    replay = run_sync(
        catalog_db,
        openrouter.serve(handwritten_catalog),
        run_config={"ops": {"raw_openrouter_endpoints": {"config": {"replay_archive": archive}}}},
    )
    assert replay.success
    assert pg.execute(active).fetchall() == before
    assert materialization_metadata(replay, "ai_model_endpoints_table")["deactivated"] == 0


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


def test_every_view_over_ai_models_shows_every_column(catalog_db, pg, openrouter, handwritten_catalog):
    """PostgreSQL fixes a view's columns at CREATE: ai_models_curated (SELECT *) must be recreated with each new
    column, and this says when it was not."""
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success

    def columns(relation):
        return [
            r[0]
            for r in pg.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
                "ORDER BY attnum",
                (relation,),
            )
        ]

    assert columns("ai_models_curated") == columns("ai_models")
    pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = 'openai/gpt-4o'")
    assert pg.execute("SELECT openrouter_id, billing_unit FROM ai_models_curated").fetchall() == [
        ("openai/gpt-4o", "token")
    ]


def test_prices_sane_warns_about_a_price_too_low_for_its_unit(catalog_db, pg, openrouter, handwritten_catalog):
    catalog = copy.deepcopy(handwritten_catalog)
    model = next(m for m in catalog["data"] if m["id"] == "openai/gpt-4o")
    model["pricing"]["request"] = "0.0000001"  # a per-token figure read as a fee per request
    model["pricing"]["input_cache_read"] = "0.00000000001"  # $0.00001 per million tokens
    result = run_sync(catalog_db, openrouter.serve(catalog))
    check = check_results(result)["prices_sane"]
    assert not check.passed
    found = {(o["id"], o["component"], o["why"]) for o in check.metadata["offending"].value}
    assert found == {
        ("openai/gpt-4o", "request", "below $0.0005 per request"),
        ("openai/gpt-4o", "input_cache_read", "below $0.0002 per million tokens"),
    }
