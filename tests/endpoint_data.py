"""Endpoints answers for a test server, derived from each model's own data, with the quirks the spec shows:
quantization null or "unknown", latency null, a `discount` key, tags with a /variant suffix, `~` aliases and
`:free` variants (whatever the catalog holds)."""

from __future__ import annotations

import copy
import zlib
from decimal import Decimal
from typing import Any

PROVIDERS = ["DeepInfra", "Together", "Fireworks", "Novita", "Groq", "Parasail"]
QUANTIZATIONS = [None, "unknown", "fp8", "bf16"]


def _scaled(price: Any, factor: Decimal) -> Any:
    """A price times a factor, exactly and in its own form (a string, or a JSON number as units send it); a units
    list with each price and tier scaled; anything else as it was."""
    if isinstance(price, list):
        return [_scaled(entry, factor) for entry in price]
    if isinstance(price, dict):
        return {k: _scaled(v, factor) if k in ("price", "tiers") else v for k, v in price.items()}
    if isinstance(price, bool) or not isinstance(price, str | int | float):
        return price
    try:
        value = Decimal(price if isinstance(price, str) else repr(price))
    except ArithmeticError:
        return price
    if value <= 0:
        return price
    return format(value * factor, "f") if isinstance(price, str) else float(value * factor)


def derived_endpoints(model_id: str, model: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One to three endpoints for a model: the first at the model's own prices, the others dearer by 10 % each."""
    model = model or {"id": model_id, "pricing": {"prompt": "0.000001", "completion": "0.000002"}}
    seed = zlib.crc32(model_id.encode())
    pricing = model.get("pricing") if isinstance(model.get("pricing"), dict) else {}
    endpoints = []
    for i in range(1 + seed % 3):
        provider = PROVIDERS[(seed + i) % len(PROVIDERS)]
        price = {k: _scaled(v, Decimal(1) + Decimal(i) / 10) for k, v in copy.deepcopy(pricing).items()}
        if i == 1:
            price["discount"] = 0
        endpoints.append(
            {
                "name": f"{provider} | {model_id}",
                "model_id": model_id,
                "model_name": model.get("name") or model_id,
                "context_length": model.get("context_length") or 8192,
                "pricing": price,
                "provider_name": provider,
                "tag": provider.lower() + ("/fp8" if i == 2 else ""),
                "quantization": QUANTIZATIONS[(seed + i) % len(QUANTIZATIONS)],
                "max_completion_tokens": 4096 * (i + 1),
                "max_prompt_tokens": None,
                "supported_parameters": ["temperature", "max_tokens"] + (["tools"] if i == 0 else []),
                "status": 0 if i else -1 if seed % 7 == 0 else 0,
                "uptime_last_30m": 99.5 - i,
                "uptime_last_5m": 100,
                "uptime_last_1d": None if i == 2 else 99.8,
                "supports_implicit_caching": i == 0,
                "latency_last_30m": None,
                "throughput_last_30m": None,
            }
        )
    return endpoints


def endpoints_answer(model_id: str, endpoints: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": {"id": model_id, "name": model_id, "created": 0, "description": "", "endpoints": endpoints}}
