"""Paged listings (OpenRouter's `total_count`, `links.next`, `offset`): fetched whole or not at all, against a real
local HTTP server and a real Postgres."""

import json

import pytest
from conftest import run_sync, serve_endpoints
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
