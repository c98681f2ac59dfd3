"""Endpoint rules: pure functions from one model's `GET /models/{author}/{slug}/endpoints` answer to its rows.

An endpoint is one provider serving the model, keyed by its tag (the provider/variant slug, else the provider's
name). Its prices follow the model price rules (prices.py). Its volatile figures (status, uptime, latency,
throughput) are observations, kept apart so the endpoint rows only change when the endpoint does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, TypedDict

from catalog_pipeline.rules.models import (
    MAX_DEPTH,
    clean_json,
    clean_text,
    nesting_depth,
    parse_positive_int,
    text_list,
)
from catalog_pipeline.rules.prices import PriceRow, endpoint_discount, price_model


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
    discount: Decimal | None  # pricing.discount: already applied to the prices (rules/prices.py, endpoint_discount)
    provider_slug: str  # the tag's first segment: deepinfra for deepinfra/fp4
    zero_data_retention: bool | None  # listed by /endpoints/zdr; None when the list could not be had


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
    discounts: list[tuple[Decimal]]  # the discount's row of ai_model_endpoint_discounts, when it has one


ENDPOINT_COLUMNS: tuple[str, ...] = tuple(EndpointRow.__annotations__)
OBSERVATION_COLUMNS: tuple[str, ...] = tuple(ObservationRow.__annotations__)


class EndpointsRejected(ValueError):
    """An endpoints answer that cannot be read: the model's endpoints are left as they were."""


class EndpointsAnswer(NamedTuple):
    """What one endpoints answer says: the model it is about (`data.id`) and its endpoints."""

    model_id: str | None
    endpoints: list[Any]


def read_answer(body: bytes) -> EndpointsAnswer:
    """The model and endpoints of an answer, or EndpointsRejected saying what was wrong, whatever it was."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EndpointsRejected(f"invalid JSON: {exc}") from None
    except RecursionError:  # the parser recurses per level: an answer nested thousands deep exhausts the stack
        raise EndpointsRejected("nested too deep to read") from None
    data = payload.get("data") if isinstance(payload, dict) else None
    endpoints = data.get("endpoints") if isinstance(data, dict) else None
    if not isinstance(endpoints, list):
        raise EndpointsRejected("no data.endpoints list in the answer")
    model_id = data.get("id")
    return EndpointsAnswer(
        model_id if isinstance(model_id, str) and clean_text(model_id) == model_id else None, endpoints
    )


class Assignment(NamedTuple):
    """Which model each endpoints answer belongs to."""

    answers: dict[str, list[Any]]  # model id -> its endpoints, for each model an answer is about
    served_by: dict[str, str]  # a model whose path answered for another model -> that model (a variant's base)
    failed: dict[str, str]  # a model whose endpoints could not be had -> why


def assign_answers(asked: dict[str, str], bodies: dict[str, bytes], failed: dict[str, str]) -> Assignment:
    """Give each answer to the model it names (`data.id`), not to whichever ids asked for it.

    In the real catalog a variant (`deepseek/deepseek-v4-flash:free`, `qwen/qwen-plus-2025-07-28:thinking`) or a
    dated alias (`google/gemini-2.5-pro-preview`) has the same `links.details` as its base, and the answer is the
    base's: its `data.id` and every `model_id` name the base, and its prices are the base's paid ones. On
    2026-05-16, 27 of 356 ids got another model's answer (25 `:free`/`:thinking` variants and those 2 aliases),
    and 8 of those bases (`baidu/cobuddy`, …) are not listed at all. Such a model is served by its base: it has
    no endpoint rows of its own, and the base's rows are stored once, under the base, when it is listed. An answer
    about a model whose id does not begin the asker's is an upstream mix-up: the asker is set aside.
    """
    askers: dict[str, list[str]] = {}
    for model_id, path in asked.items():
        askers.setdefault(path, []).append(model_id)
    answers: dict[str, list[Any]] = {}
    own_path: dict[str, bool] = {}
    served_by: dict[str, str] = {}
    unusable = {model_id: failed[path] for model_id, path in asked.items() if path in failed}
    for path, body in bodies.items():
        ids = askers.get(path, [])
        try:
            answer = read_answer(body)
        except EndpointsRejected as exc:
            unusable.update(dict.fromkeys(ids, f"malformed answer: {exc}"))
            continue
        owner = answer.model_id or (ids[0] if len(ids) == 1 else None)
        for model_id in ids:
            if owner is None:
                unusable[model_id] = "the answer names no model"
            elif model_id != owner and model_id.startswith(owner):
                served_by[model_id] = owner
            elif model_id != owner:
                unusable[model_id] = f"the answer is about another model, {owner[:120]!r}"
        mine = owner in asked and asked[owner] == path
        if owner in asked and (owner not in answers or (mine and not own_path[owner])):
            answers[owner], own_path[owner] = answer.endpoints, mine  # a model's own path speaks for it first
    return Assignment(answers, served_by, unusable)


class ClassifiedEndpoints(NamedTuple):
    """A model's endpoint rows and observations, and what was left out."""

    rows: list[ClassifiedEndpoint]
    observations: list[ObservationRow]
    repeated_tags: list[str]  # tags listed more than once: the first listed is kept
    set_aside: list[str]  # endpoints that are not usable, with why


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def classify_endpoints(
    model_id: str, endpoints: list[Any], zero_retention: frozenset[tuple[str, str]] | None = None
) -> ClassifiedEndpoints:
    """Rows and observations of a model's endpoints, one per tag.

    A tag listed twice keeps its first entry, in the order OpenRouter lists them (the 2026-05-16 answer of
    qwen/qwen3-235b-a22b-2507 lists google-vertex/us-south1 at $0.22 and then at $0.25 per million input tokens);
    the repeat is counted. An entry that is not an endpoint object, names another model, or is nested beyond
    reason is set aside with why. `zero_retention` holds the (model, tag) pairs /endpoints/zdr lists, when it
    could be had.
    """
    result = ClassifiedEndpoints([], [], [], [])
    seen: set[str] = set()
    for position, endpoint in enumerate(endpoints, 1):
        if not isinstance(endpoint, dict):
            result.set_aside.append(f"entry {position} is not an object")
            continue
        named = endpoint.get("model_id")
        if isinstance(named, str) and named != model_id:
            result.set_aside.append(f"entry {position} is about {named[:120]!r}")
            continue
        if nesting_depth(endpoint) > MAX_DEPTH:
            result.set_aside.append(f"entry {position} is nested deeper than {MAX_DEPTH} levels")
            continue
        provider = clean_text(endpoint.get("provider_name")) or None
        tag = clean_text(endpoint.get("tag")) or provider
        if not tag:
            result.set_aside.append(f"entry {position} has neither tag nor provider_name")
            continue
        if tag in seen:
            result.repeated_tags.append(tag)
            continue
        seen.add(tag)
        row, observation = _endpoint_row(model_id, tag, provider, endpoint)
        row["provider_slug"] = tag.split("/", 1)[0]
        row["zero_data_retention"] = None if zero_retention is None else (model_id, tag) in zero_retention
        result.rows.append(row)
        result.observations.append(observation)
    return result


def _endpoint_row(
    model_id: str, tag: str, provider: str | None, endpoint: dict[str, Any]
) -> tuple[ClassifiedEndpoint, ObservationRow]:
    priced, discount = price_model(endpoint.get("pricing")), endpoint_discount(endpoint.get("pricing"))
    caching = endpoint.get("supports_implicit_caching")
    quantization = clean_text(endpoint.get("quantization"))
    row: ClassifiedEndpoint = {
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
        "discount": discount,
        "prices": priced.rows,
        "discounts": [] if discount is None else [(discount,)],
    }
    status = endpoint.get("status")
    observation: ObservationRow = {
        "openrouter_id": model_id,
        "tag": tag,
        "status": status if isinstance(status, int) and not isinstance(status, bool) else None,
        "uptime_last_5m": _number(endpoint.get("uptime_last_5m")),
        "uptime_last_30m": _number(endpoint.get("uptime_last_30m")),
        "uptime_last_1d": _number(endpoint.get("uptime_last_1d")),
        "latency_last_30m": clean_json(endpoint.get("latency_last_30m")),
        "throughput_last_30m": clean_json(endpoint.get("throughput_last_30m")),
    }
    return row, observation


@dataclass
class PreparedEndpoints:
    """Every answered model's rows, ready to write, and what the write must know about the others."""

    rows: list[ClassifiedEndpoint] = field(default_factory=list)
    observations: list[ObservationRow] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)  # models whose endpoints this run speaks for (none: empty)
    empty: list[str] = field(default_factory=list)  # answered with no endpoint, as they were before
    failed: dict[str, str] = field(default_factory=dict)
    repeated_tags: list[tuple[str, str]] = field(default_factory=list)
    set_aside: list[tuple[str, str]] = field(default_factory=list)


def prepare_endpoints(
    assignment: Assignment, had: dict[str, int], zero_retention: frozenset[tuple[str, str]] | None = None
) -> PreparedEndpoints:
    """Classify each answered model's endpoints. An empty list for a model that had endpoints (`had`: active rows
    per model) is a fault upstream, not every provider leaving: that model counts as failed."""
    prepared = PreparedEndpoints(failed=dict(assignment.failed))
    for model_id, endpoints in assignment.answers.items():
        classified = classify_endpoints(model_id, endpoints, zero_retention)
        if not classified.rows and had.get(model_id):
            prepared.failed[model_id] = f"no endpoints listed; it had {had[model_id]} yesterday"
            continue
        prepared.rows += classified.rows
        prepared.observations += classified.observations
        prepared.answered.append(model_id)
        prepared.repeated_tags += [(model_id, tag) for tag in classified.repeated_tags]
        prepared.set_aside += [(model_id, why) for why in classified.set_aside]
        if not classified.rows:
            prepared.empty.append(model_id)
    # A model served by another's answer speaks for its own endpoints too: it has none.
    prepared.answered += list(assignment.served_by)
    return prepared


def excused_models(asked: dict[str, str], bodies: dict[str, bytes], failed: dict[str, str]) -> dict[str, str]:
    """The models an endpoints sync gives no rows of their own, and why: their endpoints could not be had, they are
    served by another model's answer, or their answer lists none."""
    assignment = assign_answers(asked, bodies, failed)
    excused = {m: f"served by {base}'s answer" for m, base in assignment.served_by.items()}
    excused |= {
        m: "the answer lists no endpoint" for m, e in assignment.answers.items() if not classify_endpoints(m, e).rows
    }
    return excused | assignment.failed
