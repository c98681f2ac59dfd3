"""Endpoint rules: pure functions from one model's `GET /models/{author}/{slug}/endpoints` answer to its rows.

An endpoint is one provider serving the model, keyed by its tag (the provider/variant slug, else the provider's
name). Its prices follow the model price rules (prices.py). Its volatile figures (status, uptime, latency,
throughput) are observations, kept apart so the endpoint rows only change when the endpoint does.
"""

from __future__ import annotations

import json
import math
from typing import Any, TypedDict

from catalog_pipeline.classification import clean_json, clean_text, parse_positive_int, text_list
from catalog_pipeline.prices import PriceRow, price_model


class EndpointRow(TypedDict):
    """One ai_model_endpoints row as a sync writes it; its keys, in order, are the synced columns."""

    openrouter_id: str
    tag: str
    provider_name: str | None
    quantization: str | None
    context_length: int | None
    max_completion_tokens: int | None
    max_prompt_tokens: int | None
    supported_parameters: list[str] | None
    supports_implicit_caching: bool | None
    billing_unit: str | None
    pricing_kind: str | None
    input_cost_per_million: Any
    output_cost_per_million: Any
    cache_read_cost_per_million: Any
    pricing: Any


class ObservationRow(TypedDict):
    """One ai_model_endpoint_observations row: the endpoint's volatile figures at this sync."""

    openrouter_id: str
    tag: str
    status: int | None
    uptime_last_5m: float | None
    uptime_last_30m: float | None
    uptime_last_1d: float | None
    latency_last_30m: Any
    throughput_last_30m: Any


class ClassifiedEndpoint(EndpointRow):
    prices: list[PriceRow]


ENDPOINT_COLUMNS: tuple[str, ...] = tuple(EndpointRow.__annotations__)
OBSERVATION_COLUMNS: tuple[str, ...] = tuple(ObservationRow.__annotations__)


class EndpointsRejected(ValueError):
    """An endpoints answer that cannot be read: the model's endpoints are left as they were."""


def endpoints_of(body: bytes) -> list[Any]:
    """The `data.endpoints` list of an answer, or EndpointsRejected saying what was wrong."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EndpointsRejected(f"invalid JSON: {exc}") from None
    data = payload.get("data") if isinstance(payload, dict) else None
    endpoints = data.get("endpoints") if isinstance(data, dict) else None
    if not isinstance(endpoints, list):
        raise EndpointsRejected("no data.endpoints list in the answer")
    return endpoints


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def classify_endpoints(model_id: str, endpoints: list[Any]) -> tuple[list[ClassifiedEndpoint], list[ObservationRow]]:
    """Rows and observations of a model's endpoints; an entry that is not an object, or repeats a tag, is skipped."""
    rows: list[ClassifiedEndpoint] = []
    observations: list[ObservationRow] = []
    seen: set[str] = set()
    for endpoint in endpoints:
        if not isinstance(endpoint, dict):
            continue
        provider = clean_text(endpoint.get("provider_name")) or None
        tag = clean_text(endpoint.get("tag")) or provider
        if not tag or tag in seen:
            continue
        seen.add(tag)
        priced = price_model(endpoint.get("pricing"))

        caching = endpoint.get("supports_implicit_caching")
        quantization = clean_text(endpoint.get("quantization"))
        rows.append(
            {
                "openrouter_id": model_id,
                "tag": tag,
                "provider_name": provider,
                "quantization": quantization or None,
                "context_length": parse_positive_int(endpoint.get("context_length"))[0],
                "max_completion_tokens": parse_positive_int(endpoint.get("max_completion_tokens"))[0],
                "max_prompt_tokens": parse_positive_int(endpoint.get("max_prompt_tokens"))[0],
                "supported_parameters": text_list(endpoint.get("supported_parameters")),
                "supports_implicit_caching": caching if isinstance(caching, bool) else None,
                "billing_unit": priced.billing_unit,
                "pricing_kind": priced.kind,
                "input_cost_per_million": priced.per_million("prompt"),
                "output_cost_per_million": priced.per_million("completion"),
                "cache_read_cost_per_million": priced.per_million("input_cache_read"),
                "pricing": clean_json(endpoint.get("pricing")) if isinstance(endpoint.get("pricing"), dict) else None,
                "prices": priced.rows,
            }
        )
        status = endpoint.get("status")
        observations.append(
            {
                "openrouter_id": model_id,
                "tag": tag,
                "status": status if isinstance(status, int) and not isinstance(status, bool) else None,
                "uptime_last_5m": _number(endpoint.get("uptime_last_5m")),
                "uptime_last_30m": _number(endpoint.get("uptime_last_30m")),
                "uptime_last_1d": _number(endpoint.get("uptime_last_1d")),
                "latency_last_30m": clean_json(endpoint.get("latency_last_30m")),
                "throughput_last_30m": clean_json(endpoint.get("throughput_last_30m")),
            }
        )
    return rows, observations
