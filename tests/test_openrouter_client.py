"""The OpenRouter client against a real local HTTP server."""

import pytest
from werkzeug import Response

from catalog_pipeline.openrouter import OpenRouterClient, OpenRouterError, _retry_after_seconds, redact_url


def test_fetches_all_modalities_and_merges_embeddings(httpserver, handwritten_catalog, handwritten_embeddings):
    httpserver.expect_request("/api/v1/models", query_string="output_modalities=all").respond_with_json(
        handwritten_catalog
    )
    httpserver.expect_request("/api/v1/embeddings/models").respond_with_json(handwritten_embeddings)
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1/"), api_key="sk-test")
    catalog = client.fetch_catalog()
    ids = [m["id"] for m in catalog.models]
    assert len(ids) == len(set(ids)) == 24
    assert ids[-1] == "mistralai/mistral-embed"
    assert catalog.duplicate_ids == 1
    assert catalog.sources == [
        httpserver.url_for("/api/v1/models?output_modalities=all"),
        httpserver.url_for("/api/v1/embeddings/models"),
    ]
    assert {r.headers["Authorization"] for r, _ in httpserver.log} == {"Bearer sk-test"}


def test_missing_embeddings_listing_is_noted_not_fatal(httpserver, handwritten_catalog):
    httpserver.expect_request("/api/v1/models").respond_with_json(handwritten_catalog)
    httpserver.expect_request("/api/v1/embeddings/models").respond_with_data("not found", status=404)
    catalog = OpenRouterClient(base_url=httpserver.url_for("/api/v1")).fetch_catalog()
    assert len(catalog.models) == 23
    assert "answered 404" in catalog.notes[0]


def test_unauthorised_is_not_retried_and_names_the_key(httpserver):
    httpserver.expect_request("/api/v1/models").respond_with_json({"error": "no"}, status=401)
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), api_key="sk-secret-value")
    with pytest.raises(OpenRouterError, match="HTTP 401.*Check OPENROUTER_API_KEY") as caught:
        client.fetch_catalog()
    assert "sk-secret-value" not in str(caught.value)
    assert len(httpserver.log) == 1


def test_backoff_doubles_and_retry_after_wins(httpserver, handwritten_catalog):
    responses = iter(
        [
            Response("", status=503),
            Response("", status=502),
            Response("", status=429, headers={"Retry-After": "7"}),
            Response("", status=500),
        ]
    )
    httpserver.expect_request("/api/v1/models").respond_with_handler(lambda request: next(responses))
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), max_retries=3, backoff_seconds=0.5)
    waits = []
    client._sleep = waits.append
    with pytest.raises(OpenRouterError, match="failed after 4 attempts: HTTP 500"):
        client.fetch_catalog()
    assert waits == [0.5, 1.0, 7.0]


def test_helpers():
    assert redact_url("https://user:pw@example.com:8443/api/v1") == "https://example.com:8443/api/v1"
    assert _retry_after_seconds("3") == 3.0
    assert _retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert _retry_after_seconds("soon") is None
