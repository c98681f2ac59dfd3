"""The OpenRouter client against a real local HTTP server."""

import time
from importlib.metadata import version

import pytest
from werkzeug import Response

from catalog_pipeline.resources.openrouter import ApiUnavailable, OpenRouterClient, OpenRouterError, redact_url


def test_fetches_all_modalities_and_merges_embeddings(httpserver, handwritten_catalog, handwritten_embeddings):
    httpserver.expect_request("/api/v1/models", query_string="output_modalities=all").respond_with_json(
        handwritten_catalog
    )
    httpserver.expect_request("/api/v1/embeddings/models").respond_with_json(handwritten_embeddings)
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1/"), api_key="sk-test")
    catalog = client.fetch_catalog()
    ids = [m["id"] for m in catalog.models]
    # Both listings, in order, repeats included: classification keeps the first of an id.
    assert (len(ids), len(set(ids))) == (25, 24)
    assert ids[-1] == "mistralai/mistral-embed"
    assert catalog.listed == {
        httpserver.url_for("/api/v1/models?output_modalities=all"): 23,
        httpserver.url_for("/api/v1/embeddings/models"): 2,
    }
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


def test_backoff_doubles_and_retry_after_wins(httpserver):
    responses = iter(
        [
            Response("", status=503),
            Response("", status=502),
            Response("", status=502),
            Response("", status=429, headers={"Retry-After": "1"}),
            Response("", status=500),
            Response("", status=500),
        ]
    )
    calls = []

    def answer(request):
        calls.append(time.monotonic())
        return next(responses)

    httpserver.expect_request("/api/v1/models").respond_with_handler(answer)
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), max_retries=4, backoff_seconds=0.1)
    # The 429 is the API pacing us: it costs none of the 4 retries, so 6 attempts are made.
    with pytest.raises(OpenRouterError, match="failed after 6 attempts: HTTP 500"):
        client.fetch_catalog()
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    # urllib3's backoff: the first retry at once, then backoff × 2ⁿ⁻¹; Retry-After replaces the backoff.
    assert gaps[0] < 0.15
    assert 0.19 <= gaps[1] < 0.6 and 0.39 <= gaps[2] < 1.0
    assert 0.95 <= gaps[3] < 2.0


def test_a_retry_after_longer_than_the_client_waits_fails_at_once_naming_it(httpserver, handwritten_catalog):
    """Retrying before the time the API asked for only earns another 429: the fetch stops, and says why."""
    answers = iter([Response("", status=429, headers={"Retry-After": "99999"})])
    httpserver.expect_request("/api/v1/models").respond_with_handler(
        lambda request: next(answers, Response('{"data": []}', content_type="application/json"))
    )
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), max_retries=4, max_retry_wait_seconds=60)
    started = time.monotonic()
    with pytest.raises(
        ApiUnavailable,
        match=r"rate limited \(HTTP 429\): the API asked to wait 99999s \(Retry-After\), "
        r"more than the 60s this client waits",
    ) as caught:
        client.fetch_catalog()
    assert caught.value.rate_limited
    assert time.monotonic() - started < 1 and len(httpserver.log) == 1


def test_urls_are_redacted():
    assert redact_url("https://user:pw@example.com:8443/api/v1") == "https://example.com:8443/api/v1"


def test_the_user_agent_names_the_package_version(httpserver, handwritten_catalog):
    httpserver.expect_request("/api/v1/models").respond_with_json(handwritten_catalog)
    httpserver.expect_request("/api/v1/embeddings/models").respond_with_json({"data": []})
    OpenRouterClient(base_url=httpserver.url_for("/api/v1")).fetch_catalog()
    assert {r.headers["User-Agent"] for r, _ in httpserver.log} == {f"catalog_pipeline/{version('catalog_pipeline')}"}


def test_a_base_url_without_api_v1_is_told_to_end_in_it(httpserver):
    """The site's root answers 404 on /models: the error says what to fix."""
    httpserver.expect_request("/models").respond_with_data("Not Found", status=404)
    client = OpenRouterClient(base_url=httpserver.url_for("/"))
    with pytest.raises(OpenRouterError, match=r"HTTP 404.*Check OPENROUTER_BASE_URL: it should end in /api/v1"):
        client.fetch_catalog()
