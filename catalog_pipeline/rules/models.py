"""Classification rules: pure functions from one OpenRouter model object to one `ai_models` row.

Nothing here does I/O. The same rules serve all three schema eras of the API: legacy objects (only
``architecture.modality``), 2025 objects (input/output modality lists) and current objects
(``supported_parameters``, ``canonical_slug``, per-unit prices).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypedDict

from catalog_pipeline.rules.benchmarks import BenchmarkRow, benchmark_rows, headline, reasoning_settings
from catalog_pipeline.rules.parse import (
    MAX_DEPTH,
    clean_json,
    clean_text,
    nesting_depth,
    parse_date,
    parse_positive_int,
    parse_unix_seconds,
    text_list,
)
from catalog_pipeline.rules.prices import PricedModel, PriceRow, price_model

MODALITIES: tuple[str, ...] = ("text", "image", "video", "audio", "embedding", "multimodal")

# Output values the rules below know by name. Anything else (e.g. "transcription" today) falls through to the
# input-based rules and is reported as unknown so the rules can be extended.
KNOWN_OUTPUTS = frozenset({"text", "image", "video", "audio", "speech", "embeddings", "embedding", "rerank"})


class CatalogRow(TypedDict):
    """One ai_models row as a sync writes it. Its keys, in order, are the synced columns; `is_curated` is absent."""

    openrouter_id: str
    canonical_slug: str | None
    name: str
    description: str | None
    provider: str
    provider_slug: str
    modality: str
    input_modalities: list[str]
    output_modalities: list[str]
    context_length: int | None
    max_completion_tokens: int | None
    input_cost_per_million: Decimal | None
    output_cost_per_million: Decimal | None
    pricing_kind: str | None
    pricing: Any
    capabilities: dict[str, bool | None]
    supported_parameters: list[str] | None
    hugging_face_id: str | None
    tokenizer: str | None
    instruct_type: str | None
    openrouter_created_at: datetime | None
    expiration_date: date | None
    billing_unit: str | None
    cache_read_cost_per_million: Decimal | None
    cache_write_cost_per_million: Decimal | None
    knowledge_cutoff: date | None
    alias_target: str | None
    reasoning: Any
    is_moderated: bool | None
    per_request_limits: Any
    endpoints_path: str | None  # links.details, e.g. "/api/v1/models/openai/gpt-4o/endpoints"
    intelligence_index: Decimal | None
    coding_index: Decimal | None
    agentic_index: Decimal | None
    reasoning_mandatory: bool | None
    reasoning_default_enabled: bool | None
    reasoning_default_effort: str | None
    reasoning_supported_efforts: list[str] | None
    reasoning_supports_max_tokens: bool | None


class ClassifiedModel(CatalogRow):
    """A row, the model's price components (the rows of ai_model_prices) and its benchmark scores
    (ai_model_benchmarks)."""

    prices: list[PriceRow]
    benchmarks: list[BenchmarkRow]


# The one definition of the columns a sync writes: the stage, the upsert and the comparison derive from it.
SYNCED_COLUMNS: tuple[str, ...] = tuple(CatalogRow.__annotations__)
# The columns of the classified_models DataFrame: the synced ones, then each model's price components.
FRAME_COLUMNS: tuple[str, ...] = tuple(ClassifiedModel.__annotations__)

PROVIDER_NAMES: dict[str, str] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google",
    "x-ai": "xAI",
    "meta-llama": "Meta",
    "mistralai": "Mistral AI",
    "mistral": "Mistral AI",
    "deepseek": "DeepSeek",
    "perplexity": "Perplexity",
    "cohere": "Cohere",
    "qwen": "Qwen",
    "01-ai": "01.AI",
    "ai21": "AI21",
    "alibaba": "Alibaba",
    "allenai": "AllenAI",
    "amazon": "Amazon",
    "arcee-ai": "Arcee AI",
    "baai": "BAAI",
    "baidu": "Baidu",
    "black-forest-labs": "Black Forest Labs",
    "bytedance": "ByteDance",
    "bytedance-seed": "ByteDance Seed",
    "ibm-granite": "IBM",
    "inflection": "Inflection",
    "liquid": "Liquid",
    "microsoft": "Microsoft",
    "minimax": "MiniMax",
    "moonshotai": "Moonshot AI",
    "nousresearch": "Nous Research",
    "nvidia": "NVIDIA",
    "openrouter": "OpenRouter",
    "tencent": "Tencent",
    "xiaomi": "Xiaomi",
    "z-ai": "Z.ai",
}

_MAX_NAME_LENGTH = 50  # a longer "name" is a description in the wrong field: the id reads better
# A btree index entry must fit in about 2.7 kB; an id near that cannot be stored under UNIQUE.
MAX_ID_LENGTH = 512
_REASONING_ID_MARKERS = (":thinking", "-r1", "/o1", "/o3", "/o4", "reasoner", "qwq")


class ModelRejected(ValueError):
    """A model object that cannot become a row; the sync sets it aside with this reason."""


class ModelNotes(NamedTuple):
    """What classify_model noticed about one model besides its row."""

    unknown_outputs: tuple[str, ...] = ()  # output values no rule knows
    problems: tuple[str, ...] = ()  # fields stored as NULL, or prices set aside, because their value was garbage
    price_problems: int = 0  # how many of those problems are prices
    unknown_price_keys: tuple[str, ...] = ()  # pricing keys stored with an unknown unit


@dataclass
class ClassifiedCatalog:
    """The outcome of classifying a whole catalog."""

    rows: list[ClassifiedModel]
    set_aside: list[dict[str, str]]
    modality_counts: dict[str, int]
    unknown_outputs: dict[str, int] = field(default_factory=dict)
    duplicate_ids: list[str] = field(default_factory=list)
    field_problems: list[dict[str, str]] = field(default_factory=list)
    price_problem_count: int = 0
    unknown_price_keys: dict[str, int] = field(default_factory=dict)

    @property
    def with_benchmarks(self) -> int:
        """How many models carry at least one benchmark score."""
        return sum(1 for row in self.rows if row["benchmarks"])


# --- the rules -----------------------------------------------------------------------------------


def provider_slug(model_id: Any) -> str:
    """The author: the id's part before '/', without the '~' that marks an alias (`~google/gemini-pro-latest` is
    Google's, see its alias_target); raises ModelRejected for ids that cannot name a provider."""
    if not isinstance(model_id, str) or not model_id.strip():
        raise ModelRejected("missing or non-string id")
    if len(model_id) > MAX_ID_LENGTH:
        raise ModelRejected(f"id longer than {MAX_ID_LENGTH} characters ({len(model_id)})")
    if clean_text(model_id) != model_id:
        raise ModelRejected("id contains characters Postgres cannot store")
    slug, sep, rest = model_id.partition("/")
    slug = slug.removeprefix("~")
    if not sep or not slug.strip() or not rest.strip():
        raise ModelRejected("id has no provider part (expected 'provider/model')")
    return slug


def provider_display_name(slug: str, model: dict[str, Any]) -> str:
    known = PROVIDER_NAMES.get(slug) or PROVIDER_NAMES.get(slug.lower())
    if known:
        return known
    provider_name = clean_text(model.get("provider_name"))
    if provider_name and provider_name.strip():
        return provider_name.strip()
    name = clean_text(model.get("name"))
    if name and ": " in name:
        prefix = name.split(": ", 1)[0].strip()
        if prefix:
            return prefix
    return slug


def name_from_id(model_id: str) -> str:
    tail = model_id.split("/", 1)[-1].replace(":", " ").replace("-", " ").replace("_", " ")
    words = [w.capitalize() for w in tail.split()]
    return " ".join("GPT" if w == "Gpt" else w for w in words) or model_id


def display_name(model_id: str, model: dict[str, Any]) -> str:
    name = clean_text(model.get("name"))
    name = name.strip() if name else None
    if name and len(name) < _MAX_NAME_LENGTH:
        return name
    return name_from_id(model_id)


def _modality_list(value: Any) -> frozenset[str] | None:
    if not isinstance(value, list):
        return None
    return frozenset(v.strip().lower() for v in value if isinstance(v, str) and v.strip())


def modality_sets(architecture: Any) -> tuple[frozenset[str], frozenset[str]]:
    """(inputs, outputs), from the explicit lists when present, else from "text+image->text"."""
    if not isinstance(architecture, dict):
        return frozenset(), frozenset()
    inputs = _modality_list(architecture.get("input_modalities"))
    outputs = _modality_list(architecture.get("output_modalities"))
    legacy = architecture.get("modality")
    if (inputs is None or outputs is None) and isinstance(legacy, str) and "->" in legacy:
        left, right = legacy.split("->", 1)
        if inputs is None:
            inputs = frozenset(p.strip().lower() for p in left.split("+") if p.strip())
        if outputs is None:
            outputs = frozenset(p.strip().lower() for p in right.split("+") if p.strip())
    return inputs or frozenset(), outputs or frozenset()


def classify_modality(inputs: frozenset[str], outputs: frozenset[str], named_embedding: bool = False) -> str:
    """One of MODALITIES, by the output-first rules in the order the catalog contract gives; `named_embedding`
    (the id says "embedding") makes a legacy text-output embedding model an embedding model."""
    if "image" in outputs:
        return "image"
    if "video" in outputs:
        return "video"
    if "audio" in outputs or "speech" in outputs:
        return "audio"
    if "embeddings" in outputs or "embedding" in outputs or "rerank" in outputs or named_embedding:
        return "embedding"
    if "image" in inputs or "audio" in inputs or "video" in inputs:
        return "multimodal"
    return "text"


def capabilities(model_id: str, model: dict[str, Any], vision: bool, web_search_paid: bool) -> dict[str, bool | None]:
    """What the model can do, from structured fields first.

    Tool calling and structured outputs come only from what supported_parameters says, None when the object
    has no such list: guessing tool support from a name would be worse than saying nothing.
    """
    lowered = model_id.lower()
    # The model's own name, not its author: `nousresearch/*` holds "search" (17 models wrongly flagged across the
    # 2024-2026 catalogs), while `openai/gpt-4o-search-preview` says it in its own name.
    own_name = lowered.partition("/")[2]
    params = model.get("supported_parameters")
    names = {p for p in params if isinstance(p, str)} if isinstance(params, list) else None
    if names is not None:
        reasoning: bool | None = "reasoning" in names or "include_reasoning" in names
    elif isinstance(model.get("supports_reasoning"), bool):
        reasoning = model["supports_reasoning"]
    else:
        reasoning = any(marker in lowered for marker in _REASONING_ID_MARKERS)
    return {
        "vision": vision,
        "web_search": web_search_paid
        or (names is not None and "web_search_options" in names)
        or "search" in own_name
        or lowered.endswith(":online"),
        "tool_calling": None if names is None else "tools" in names,
        "reasoning": reasoning,
        "structured_outputs": None if names is None else "structured_outputs" in names,
    }


def _price_fields(priced: PricedModel, pricing: Any) -> dict[str, Any]:
    """A row's price columns: per million tokens for a model billed per token, its kind and unit, every component."""
    return {
        "input_cost_per_million": priced.per_million("prompt"),
        "output_cost_per_million": priced.per_million("completion"),
        "pricing_kind": priced.kind,
        "pricing": clean_json(pricing) if isinstance(pricing, dict) else None,
        "billing_unit": priced.billing_unit,
        "cache_read_cost_per_million": priced.per_million("input_cache_read"),
        "cache_write_cost_per_million": priced.per_million("input_cache_write"),
        "prices": priced.rows,
    }


def _judged_fields(model: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(fields, problems): how the model reasons (the raw object, and its settings as columns) and how good it is
    (its benchmark rows and today's headline indexes); the parts of its benchmarks that could not be read."""
    reasoning, scores = model.get("reasoning"), benchmark_rows(model.get("benchmarks"))
    fields = {
        "reasoning": clean_json(reasoning) if isinstance(reasoning, dict) else None,
        **reasoning_settings(reasoning),
        **headline(scores.rows),
        "benchmarks": scores.rows,
    }
    return fields, tuple(scores.problems)


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _alias_target(value: Any) -> str | None:
    """The slug a `~…-latest` alias points to: the API sends {"name", "slug"}."""
    if isinstance(value, dict):
        value = value.get("slug")
    return clean_text(value) or None


def _endpoints_path(links: Any) -> str | None:
    path = links.get("details") if isinstance(links, dict) else None
    return path if isinstance(path, str) and path.startswith("/") and clean_text(path) == path else None


def _limits(
    model: dict[str, Any], top_provider: dict[str, Any]
) -> tuple[tuple[int | None, int | None], tuple[str, ...]]:
    """((context length, output limit), problems): garbage in either is stored NULL and said."""
    context_length, context_ok = parse_positive_int(model.get("context_length"))
    max_completion, completion_ok = parse_positive_int(top_provider.get("max_completion_tokens"))
    problems = () if context_ok else (f"context_length unparseable: {str(model.get('context_length'))[:40]!r}",)
    problems += () if completion_ok else ("top_provider.max_completion_tokens unparseable",)
    return (context_length, max_completion), problems


def classify_model(model: Any) -> tuple[ClassifiedModel, ModelNotes]:
    """(row, notes) for one model object; raises ModelRejected when it cannot be stored."""
    if not isinstance(model, dict):
        raise ModelRejected(f"model is a {type(model).__name__}, not an object")
    model_id = model.get("id")
    slug = provider_slug(model_id)
    if nesting_depth(model) > MAX_DEPTH:
        raise ModelRejected(f"nested deeper than {MAX_DEPTH} levels")
    architecture = model.get("architecture")
    architecture = architecture if isinstance(architecture, dict) else {}
    inputs, outputs = modality_sets(architecture)
    priced = price_model(model.get("pricing"))
    top_provider = model.get("top_provider") if isinstance(model.get("top_provider"), dict) else {}
    (context_length, max_completion), limit_problems = _limits(model, top_provider)
    judged, score_problems = _judged_fields(model)
    problems = priced.problems + limit_problems + score_problems
    instruct_type = clean_text(architecture.get("instruct_type"))
    limits = model.get("per_request_limits")
    fields = {
        "openrouter_id": model_id,
        "canonical_slug": clean_text(model.get("canonical_slug")) or None,
        "name": display_name(model_id, model),
        "description": clean_text(model.get("description")),
        "provider": provider_display_name(slug, model),
        "provider_slug": slug,
        "modality": classify_modality(inputs, outputs, "embedding" in model_id.lower()),
        "input_modalities": sorted(inputs),
        "output_modalities": sorted(outputs),
        "context_length": context_length,
        "max_completion_tokens": max_completion,
        "capabilities": capabilities(
            model_id, model, "image" in inputs, any(r.component == "web_search" and r.price > 0 for r in priced.rows)
        ),
        "supported_parameters": text_list(model.get("supported_parameters")),
        "hugging_face_id": clean_text(model.get("hugging_face_id")) or None,
        "tokenizer": clean_text(architecture.get("tokenizer")),
        "instruct_type": None if instruct_type in (None, "", "none") else instruct_type,
        "openrouter_created_at": parse_unix_seconds(model.get("created")),
        "expiration_date": parse_date(model.get("expiration_date")),
        "knowledge_cutoff": parse_date(model.get("knowledge_cutoff")),
        "alias_target": _alias_target(model.get("alias_target")),
        "is_moderated": _bool(top_provider.get("is_moderated")),
        "per_request_limits": clean_json(limits) if isinstance(limits, dict) else None,
        "endpoints_path": _endpoints_path(model.get("links")),
        **_price_fields(priced, model.get("pricing")),
        **judged,
    }
    row: ClassifiedModel = {column: fields[column] for column in FRAME_COLUMNS}  # in the row type's order
    notes = ModelNotes(tuple(sorted(outputs - KNOWN_OUTPUTS)), problems, len(priced.problems), priced.unknown_keys)
    return row, notes


def count_modalities(modalities: Iterable[str]) -> dict[str, int]:
    """Rows per modality: every known modality (zeros included), then any other value seen."""
    counts = Counter(modalities)
    return {m: counts.pop(m, 0) for m in MODALITIES} | dict(counts)


def classify_catalog(models: list[Any]) -> ClassifiedCatalog:
    """Classify every model; bad ones are set aside with a reason, and of a repeated id the first is kept."""
    rows: list[ClassifiedModel] = []
    set_aside: list[dict[str, str]] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    unknown: Counter[str] = Counter()
    field_problems: list[dict[str, str]] = []
    price_problems = 0
    unknown_keys: Counter[str] = Counter()
    for position, model in enumerate(models):
        try:
            row, notes = classify_model(model)
        except ModelRejected as rejected:
            set_aside.append({"position": str(position), "id": _describe_id(model), "reason": str(rejected)})
            continue
        except Exception as unexpected:  # noqa: BLE001 - one odd model must not sink the catalog
            set_aside.append(
                {"position": str(position), "id": _describe_id(model), "reason": f"unexpected: {unexpected!r}"}
            )
            continue
        if row["openrouter_id"] in seen:
            duplicates.append(row["openrouter_id"])
            continue
        seen.add(row["openrouter_id"])
        rows.append(row)
        unknown.update(notes.unknown_outputs)
        price_problems += notes.price_problems
        unknown_keys.update(notes.unknown_price_keys)
        field_problems.extend({"id": row["openrouter_id"], "problem": p} for p in notes.problems)
    return ClassifiedCatalog(
        rows=rows,
        set_aside=set_aside,
        modality_counts=count_modalities(row["modality"] for row in rows),
        unknown_outputs=dict(unknown),
        duplicate_ids=duplicates,
        field_problems=field_problems,
        price_problem_count=price_problems,
        unknown_price_keys=dict(unknown_keys),
    )


def _describe_id(model: Any) -> str:
    raw = model.get("id") if isinstance(model, dict) else None
    text = clean_text(raw) if isinstance(raw, str) else repr(raw)
    return (text or "")[:120]
