"""Providers and zero data retention through a real local HTTP server and a real Postgres: /providers and
/endpoints/zdr built from the spec's examples (openrouter-openapi-*-excerpt.yaml) and the real 2026-05-16 tags."""

import copy
from decimal import Decimal

import pytest
from conftest import check_results, materialization_metadata, providers_of, run_sync, serve_real_day
from endpoint_data import derived_endpoints
from werkzeug import Response

from catalog_pipeline.rules.endpoints import assign_answers, prepare_endpoints

# The spec's example of a provider (GET /providers) and of a zero-retention endpoint (GET /endpoints/zdr).
SPEC_PROVIDER = {
    "datacenters": ["US", "IE"],
    "headquarters": "US",
    "name": "OpenAI",
    "privacy_policy_url": "https://openai.com/privacy",
    "slug": "openai",
    "status_page_url": "https://status.openai.com",
    "terms_of_service_url": "https://openai.com/terms",
}
FORBIDDEN = Response(
    '{"error": {"code": 403, "message": "Only management keys can perform this operation"}}',
    status=403,
    content_type="application/json",
)
EU = ["DE", "FR"]


def _zdr(*pairs: tuple[str, str]) -> dict:
    return {"data": [{"model_id": m, "tag": t, "provider_name": t.split("/")[0].title()} for m, t in pairs]}


def _flags(pg, model_id: str) -> dict[str, bool | None]:
    rows = pg.execute(
        "SELECT tag, zero_data_retention FROM ai_model_endpoints WHERE openrouter_id = %s AND is_active", (model_id,)
    )
    return dict(rows.fetchall())


def _cheapest(pg, model_id: str, *args) -> list[tuple]:
    params = ", ".join(["%s"] * (1 + len(args)))
    return pg.execute(f"SELECT * FROM ai_model_cheapest_endpoint({params})", (model_id, *args)).fetchall()  # noqa: S608


@pytest.mark.real_data
def test_real_tags_get_their_provider_their_flag_and_the_cheapest_endpoint_under_each_filter(
    real_file, catalog_db, pg, openrouter
):
    catalog = real_file("2026-05-16_mddb_openrouter-models.json")
    saved = real_file("2026-05-16_mddb_openrouter-endpoints.json")["data"]
    endpoints = [
        ep for e in saved if e["modelId"] == e["response"]["data"]["id"] for ep in e["response"]["data"]["endpoints"]
    ]
    slugs = sorted({ep["tag"].split("/")[0] for ep in endpoints})
    # Every real provider, in the spec's shape; every third keeps its datacenters in the EU.
    providers = [
        {**SPEC_PROVIDER, "slug": slug, "name": slug, "datacenters": EU if i % 3 == 0 else ["US"]}
        for i, slug in enumerate(slugs)
    ]
    providers = [SPEC_PROVIDER if p["slug"] == "openai" else p for p in providers]
    listed = {(ep["model_id"], ep["tag"]) for ep in endpoints if ep["tag"].startswith(("deepinfra", "openai"))}
    serve_real_day(openrouter.server, catalog, saved, {"data": providers}, _zdr(*sorted(listed)))
    result = run_sync(catalog_db, openrouter.base_url)
    assert result.success

    assert pg.execute("SELECT count(*) FROM ai_providers WHERE is_active").fetchone() == (len(slugs),)
    assert pg.execute("SELECT datacenters FROM ai_providers WHERE slug = 'openai'").fetchone() == (["US", "IE"],)
    assert pg.execute(
        "SELECT count(*) FROM ai_model_endpoints WHERE provider_slug <> split_part(tag, '/', 1)"
    ).fetchone() == (0,)
    stored = {
        (m, t): z for m, t, z in pg.execute("SELECT openrouter_id, tag, zero_data_retention FROM ai_model_endpoints")
    }
    assert {k for k, z in stored.items() if z} == listed & set(stored) and listed
    assert all(z is False for k, z in stored.items() if k not in listed)
    checks = check_results(result)
    assert checks["endpoint_providers_known"].passed and checks["zero_data_retention_fresh"].passed

    # The function against the same answer worked out here, for a model served by many providers.
    model = "meta-llama/llama-3.3-70b-instruct"
    offered = [
        (Decimal(ep["pricing"]["prompt"]).scaleb(6), Decimal(ep["pricing"]["completion"]).scaleb(6), ep["tag"])
        for ep in next(e for e in saved if e["modelId"] == model)["response"]["data"]["endpoints"]
    ]
    eu = {p["slug"] for p in providers if set(p["datacenters"]) & {"DE"}}
    for args, keep in (
        ((), lambda tag: True),
        ((True,), lambda tag: (model, tag) in listed),
        ((False, ["DE"]), lambda tag: tag.split("/")[0] in eu),
    ):
        best = min((o for o in offered if keep(o[2])), default=None)
        got = _cheapest(pg, model, *args)
        assert [(r[2], r[3], r[0]) for r in got] == ([best] if best else []), args
    assert _cheapest(pg, model, True, ["AQ"]) == []  # nobody keeps no data in Antarctica


def test_a_403_on_the_zero_retention_list_keeps_every_flag_and_warns(catalog_db, pg, openrouter, handwritten_catalog):
    gpt4o = next(m for m in handwritten_catalog["data"] if m["id"] == "openai/gpt-4o")
    tags = [e["tag"] for e in derived_endpoints("openai/gpt-4o", gpt4o)]
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog, zdr=_zdr(("openai/gpt-4o", tags[0])))).success
    before = _flags(pg, "openai/gpt-4o")
    assert before[tags[0]] is True and not any(before[t] for t in tags[1:])

    result = run_sync(catalog_db, openrouter.serve(handwritten_catalog, zdr=FORBIDDEN))
    assert result.success  # a failed list never fails the run
    assert _flags(pg, "openai/gpt-4o") == before
    fresh = check_results(result)["zero_data_retention_fresh"]
    assert not fresh.passed and "HTTP 403" in fresh.metadata["why"].value and "management key" in fresh.description
    meta = materialization_metadata(result, "ai_model_endpoints_table")
    assert meta["zero_data_retention"].startswith("kept as it was: ")


def test_an_endpoint_gains_and_loses_zero_retention_and_each_change_is_dated(
    catalog_db, pg, openrouter, handwritten_catalog
):
    tag = derived_endpoints(
        "openai/gpt-4o", next(m for m in handwritten_catalog["data"] if m["id"] == "openai/gpt-4o")
    )[0]["tag"]
    for listed in (False, True, False):
        zdr = _zdr(("openai/gpt-4o", tag)) if listed else {"data": []}
        assert run_sync(catalog_db, openrouter.serve(handwritten_catalog, zdr=zdr)).success
    periods = pg.execute(
        "SELECT zero_data_retention, valid_from, valid_to FROM ai_model_endpoint_zero_data_retention "
        "WHERE openrouter_id = 'openai/gpt-4o' AND tag = %s ORDER BY valid_from",
        (tag,),
    ).fetchall()
    assert [p[0] for p in periods] == [False, True, False]
    assert periods[0][2] == periods[1][1] and periods[1][2] == periods[2][1] and periods[2][2] is None
    on_the_day = pg.execute(
        "SELECT zero_data_retention FROM ai_model_endpoint_zero_data_retention WHERE openrouter_id = 'openai/gpt-4o' "
        "AND tag = %s AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)",
        (tag, periods[1][1], periods[1][1]),
    ).fetchall()
    assert on_the_day == [(True,)]


def test_a_provider_leaves_and_returns_and_its_lost_datacenters_are_reported(
    catalog_db, pg, openrouter, handwritten_catalog
):
    models = {m["id"]: m for m in handwritten_catalog["data"]}
    everyone = providers_of(models)
    first = everyone["data"][0]["slug"]
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog, providers=everyone)).success
    row_id, seen = pg.execute("SELECT id, first_seen_at FROM ai_providers WHERE slug = %s", (first,)).fetchone()

    without = {"data": everyone["data"][1:]}
    left = run_sync(catalog_db, openrouter.serve(handwritten_catalog, providers=without))
    assert left.success
    assert pg.execute(
        "SELECT is_active, removed_at IS NOT NULL FROM ai_providers WHERE slug = %s", (first,)
    ).fetchone() == (False, True)
    assert not check_results(left)["endpoint_providers_known"].passed  # its endpoints name a provider no longer listed
    assert first in check_results(left)["endpoint_providers_known"].metadata["unknown"].value

    emptied = copy.deepcopy(everyone)
    emptied["data"][0]["datacenters"] = []
    back = run_sync(catalog_db, openrouter.serve(handwritten_catalog, providers=emptied))
    assert back.success
    returned = pg.execute(
        "SELECT id, first_seen_at, is_active, datacenters FROM ai_providers WHERE slug = %s", (first,)
    ).fetchone()
    assert returned == (row_id, seen, True, [])
    report = materialization_metadata(back, "ai_providers_table")["change_report"]
    assert "Reactivated (1)" in report and f"`{first}`" in report

    moved = copy.deepcopy(emptied)
    moved["data"][0]["headquarters"] = "FR"
    report = materialization_metadata(
        run_sync(catalog_db, openrouter.serve(handwritten_catalog, providers=moved)), "ai_providers_table"
    )["change_report"]
    assert "### Changed (1)" in report and "headquarters: US → FR" in report


def test_malformed_items_are_set_aside_and_unknown_countries_listed(catalog_db, pg, openrouter, handwritten_catalog):
    models = {m["id"]: m for m in handwritten_catalog["data"]}
    providers = providers_of(models)
    providers["data"][0]["datacenters"] = ["US", "XX", "EU"]  # not ISO 3166-1 alpha-2: stored as sent, listed
    providers["data"] += ["not an object", {"name": "No Slug"}]
    zdr = _zdr(("openai/gpt-4o", "openai"))
    zdr["data"] += [{"tag": "openai"}, 7]
    result = run_sync(catalog_db, openrouter.serve(handwritten_catalog, providers=providers, zdr=zdr))
    assert result.success
    meta = materialization_metadata(result, "ai_providers_table")
    assert meta["set_aside_count"] == 2
    slug = providers["data"][0]["slug"]
    assert meta["unknown_country_codes"] == {slug: ["XX", "EU"]}
    assert pg.execute("SELECT datacenters FROM ai_providers WHERE slug = %s", (slug,)).fetchone() == (
        ["US", "XX", "EU"],
    )
    endpoints = materialization_metadata(result, "ai_model_endpoints_table")
    assert len(endpoints["zero_data_retention_set_aside"]) == 2


def test_a_failed_providers_listing_keeps_yesterdays_rows(catalog_db, pg, openrouter, handwritten_catalog):
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success
    before = pg.execute("SELECT * FROM ai_providers ORDER BY slug").fetchall()
    for broken in (Response("down", status=503), {"data": []}):
        result = run_sync(catalog_db, openrouter.serve(handwritten_catalog, providers=broken))
        assert result.success
        assert "kept_yesterdays_rows_because" in materialization_metadata(result, "ai_providers_table")
        assert pg.execute("SELECT * FROM ai_providers ORDER BY slug").fetchall() == before


def test_the_zero_retention_flags_follow_the_rows_rules():
    """A pure check of the row rule: a flag per endpoint, None when the list could not be had."""
    body = b'{"data": {"id": "a/b", "endpoints": [{"tag": "x/fp8", "provider_name": "X", "pricing": {}}]}}'
    assignment = assign_answers({"a/b": "/p"}, {"/p": body}, {})
    known = prepare_endpoints(assignment, {}, frozenset({("a/b", "x/fp8")}))
    unknown = prepare_endpoints(assignment, {}, None)
    assert [(r["provider_slug"], r["zero_data_retention"]) for r in known.rows] == [("x", True)]
    assert [r["zero_data_retention"] for r in unknown.rows] == [None]
