"""Classification rules: pure functions from one OpenRouter model object to one `ai_models` row.

Nothing here does I/O. The same rules serve all three schema eras of the API:
legacy objects (only ``architecture.modality``), 2025 objects (input/output modality lists) and
current objects (``supported_parameters``, ``canonical_slug``, per-unit prices).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple

from catalog_pipeline.gc_pause import cyclic_gc_paused

MODALITIES: tuple[str, ...] = ("text", "image", "video", "audio", "embedding", "multimodal")

# Output values the rules below know by name. Anything else (e.g. "transcription" today) falls
# through to the input-based rules and is reported as unknown so the rules can be extended.
KNOWN_OUTPUTS = frozenset({"text", "image", "video", "audio", "speech", "embeddings", "embedding", "rerank"})

# Columns a sync writes, in the order rows are staged. `is_curated` is deliberately absent.
SYNCED_COLUMNS: tuple[str, ...] = (
    "openrouter_id",
    "canonical_slug",
    "name",
    "description",
    "provider",
    "provider_slug",
    "modality",
    "input_modalities",
    "output_modalities",
    "context_length",
    "max_completion_tokens",
    "input_cost_per_million",
    "output_cost_per_million",
    "pricing_kind",
    "pricing",
    "capabilities",
    "supported_parameters",
    "hugging_face_id",
    "tokenizer",
    "instruct_type",
    "openrouter_created_at",
    "expiration_date",
)

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

# Prices are USD per token (or per unit). A value whose decimal exponent lies beyond ±12 is not a price but
# garbage ("1e300"), and is treated as unparseable: stored as NULL and counted.
_MAX_ABS_EXPONENT = 12
_INT4_MAX = 2**31 - 1
_MAX_NAME_LENGTH = 50  # a longer "name" is a description in the wrong field: the id reads better
# A btree index entry must fit in about 2.7 kB; an id near that cannot be stored under UNIQUE.
MAX_ID_LENGTH = 512
_MILLION_EXP = 6
_ZERO = Decimal(0)
# Pricing keys that are not prices (OpenRouter has sent a "discount" factor).
_NON_PRICE_KEYS = frozenset({"discount", "units"})


class ModelRejected(ValueError):
    """A model object that cannot become a row; the sync sets it aside with this reason."""


@dataclass
class ClassifiedCatalog:
    """The outcome of classifying a whole catalog."""

    rows: list[dict[str, Any]]
    set_aside: list[dict[str, str]]
    modality_counts: dict[str, int]
    unknown_outputs: dict[str, int] = field(default_factory=dict)
    duplicate_ids: list[str] = field(default_factory=list)
    field_problems: list[dict[str, str]] = field(default_factory=list)
    price_problem_count: int = 0


# --- small parsers -------------------------------------------------------------------------------


def clean_text(value: Any) -> str | None:
    """A string Postgres can store (no NUL, valid UTF-8), or None for anything that is not a string."""
    if value.__class__ is not str and not isinstance(value, str):
        return None
    if value.isascii():  # the common case: a flag CPython keeps on every str, read in O(1)
        return value.replace("\x00", "") if "\x00" in value else value
    try:
        # The encoding is the check for lone surrogates; NUL is byte 0 in it, and a bytes search is a memchr,
        # where the same search in wider text goes char by char.
        has_nul = b"\x00" in value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from "\ud800"-style JSON escapes
        value = value.encode("utf-8", "replace").decode("utf-8")
        has_nul = "\x00" in value
    return value.replace("\x00", "") if has_nul else value


def clean_text_list(values: list[Any]) -> list[str]:
    """The strings of a list, each made storable."""
    strings = [v for v in values if isinstance(v, str)]
    joined = "".join(strings)
    if joined.isascii() and "\x00" not in joined:
        return strings
    return [clean_text(v) for v in strings]


def clean_json(value: Any) -> Any:
    """A JSON value jsonb accepts: no NUL in strings, no NaN or infinities."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {
            (k if k.__class__ is str and k.isascii() else clean_text(str(k))): clean_json(v) for k, v in value.items()
        }
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    if value is None or isinstance(value, bool | int):
        return value
    return clean_text(str(value))


def _bounded(price: Decimal) -> Decimal | None:
    """The price, or None when it is not finite or its exponent lies beyond the bound."""
    if not price.is_finite() or (price and abs(price.adjusted()) > _MAX_ABS_EXPONENT):
        return None
    return price


def parse_price(value: Any) -> Decimal | None:
    """A price string (USD per token) as an exact Decimal, or None when it is missing or unparseable."""
    if value.__class__ is str:
        try:
            return _bounded(Decimal(value))  # surrounding whitespace is allowed by Decimal itself
        except (InvalidOperation, ValueError):
            return None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return _bounded(Decimal(value))
    if isinstance(value, float) and math.isfinite(value):
        return _bounded(Decimal(repr(value)))
    return None


_MIN_PRICE = 10.0**-_MAX_ABS_EXPONENT
_MAX_PRICE = 10.0 ** (_MAX_ABS_EXPONENT + 1)


def price_sign(value: Any) -> int | None:
    """-1, 0 or 1 for a parseable price, None otherwise: the same verdicts as parse_price.

    Numbers (unit prices arrive as JSON numbers) are judged by their float, which keeps the sign and whether
    it is zero; text goes through parse_price itself, since float() and Decimal() disagree on odd whitespace.
    """
    cls = value.__class__
    if cls is not float and cls is not int:  # exact classes first: isinstance costs more
        if isinstance(value, str):
            return _decimal_sign(parse_price(value))
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
    try:
        number = float(value)
    except OverflowError:
        return None
    if number - number != 0.0:  # NaN or an infinity
        return None
    if number == 0:
        return 0
    if not _MIN_PRICE <= abs(number) < _MAX_PRICE:
        # Near the bounds a float's rounding could disagree with Decimal: take the exact verdict.
        return _decimal_sign(parse_price(value))
    return 1 if number > 0 else -1


def _decimal_sign(price: Decimal | None) -> int | None:
    if price is None:
        return None
    return -1 if price < 0 else (1 if price else 0)


def per_million(price: Decimal) -> Decimal:
    """Exact price per million tokens: a shift of the decimal exponent, no rounding."""
    # scaleb only moves the exponent (exact). Adding 0 turns "1E+1" into "10" (the result takes the smaller
    # exponent); with at most 19 integer digits it stays within the 28-digit context, so nothing rounds.
    return price.scaleb(_MILLION_EXP) + _ZERO


def parse_positive_int(value: Any) -> tuple[int | None, bool]:
    """(value, ok): a positive int that fits Postgres `integer`; ok is False when the input was garbage."""
    if value.__class__ is int and 0 < value <= _INT4_MAX:  # the usual case, decided first
        return value, True
    if value is None:
        return None, True
    if isinstance(value, bool):
        return None, False
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        return None, False
    if value <= 0:
        return None, True
    if value > _INT4_MAX:
        return None, False
    return value, True


def parse_unix_seconds(value: Any) -> datetime | None:
    cls = value.__class__
    if cls is int:
        known = _INSTANTS.get(value)
        if known is not None:
            return known
    elif cls is not float and (isinstance(value, bool) or not isinstance(value, int | float)):
        return None
    try:
        instant = datetime.fromtimestamp(value, UTC)  # a positional tz: the keyword form costs twice as much
    except (OverflowError, OSError, ValueError):
        return None
    if cls is int:  # only exact ints: as dict keys True and 1.0 would find 1's entry
        if len(_INSTANTS) >= _INSTANTS_LIMIT:
            _INSTANTS.clear()
        _INSTANTS[value] = instant
    return instant


# Unix seconds -> aware datetime. A model's `created` repeats wherever the model does: in each provider's
# endpoint of it and on every day of a replayed history. Datetimes are immutable, so rows can share them.
_INSTANTS: dict[int, datetime] = {}
_INSTANTS_LIMIT = 65536


def parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


# --- the rules -----------------------------------------------------------------------------------


def provider_slug(model_id: Any) -> str:
    """The id's part before '/'; raises ModelRejected for ids that cannot name a provider."""
    if not isinstance(model_id, str) or not model_id.strip():
        raise ModelRejected("missing or non-string id")
    if len(model_id) > MAX_ID_LENGTH:
        raise ModelRejected(f"id longer than {MAX_ID_LENGTH} characters ({len(model_id)})")
    if not model_id.isascii() or "\x00" in model_id:
        if "\x00" in model_id or clean_text(model_id) != model_id:
            raise ModelRejected("id contains characters Postgres cannot store")
    slug, sep, rest = model_id.partition("/")
    if not sep or not slug.strip() or not rest.strip():
        raise ModelRejected("id has no provider part (expected 'provider/model')")
    return slug


def provider_display_name(slug: str, model: dict[str, Any]) -> str:
    known = PROVIDER_NAMES.get(slug) or PROVIDER_NAMES.get(slug.lstrip("~").lower())
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
    if inputs is None or outputs is None:
        legacy = architecture.get("modality")
        parsed_in: frozenset[str] = frozenset()
        parsed_out: frozenset[str] = frozenset()
        if isinstance(legacy, str) and "->" in legacy:
            left, right = legacy.split("->", 1)
            parsed_in = frozenset(p.strip().lower() for p in left.split("+") if p.strip())
            parsed_out = frozenset(p.strip().lower() for p in right.split("+") if p.strip())
        inputs = parsed_in if inputs is None else inputs
        outputs = parsed_out if outputs is None else outputs
    return inputs, outputs


def classify_modality(model_id: str, inputs: frozenset[str], outputs: frozenset[str]) -> str:
    """One of MODALITIES, by the output-first rules in the order the catalog contract gives."""
    if "image" in outputs:
        return "image"
    if "video" in outputs:
        return "video"
    if "audio" in outputs or "speech" in outputs:
        return "audio"
    if "embeddings" in outputs or "embedding" in outputs or "rerank" in outputs or "embedding" in model_id:
        return "embedding"
    if "image" in inputs or "audio" in inputs or "video" in inputs:
        return "multimodal"
    return "text"


_REASONING_ID_MARKERS = (":thinking", "-r1", "/o1", "/o3", "/o4", "reasoner", "qwq")


class ParameterInfo(NamedTuple):
    flags: dict[str, bool]
    names: tuple[str, ...]  # storable strings, in the API's order; rows share it


@lru_cache(maxsize=4096)
def _parameter_info(params: tuple[Any, ...]) -> ParameterInfo:
    """What a supported_parameters list says, memoised: catalogs repeat a few hundred distinct lists."""
    names = {p for p in params if isinstance(p, str)}
    flags = {
        "reasoning": "reasoning" in names or "include_reasoning" in names,
        "tools": "tools" in names,
        "structured_outputs": "structured_outputs" in names,
        "web_search_options": "web_search_options" in names,
    }
    return ParameterInfo(flags, tuple(clean_text_list(list(params))))


def capabilities(
    lowered: str, model: dict[str, Any], params: dict[str, bool] | None, vision: bool, web_search_paid: bool
) -> dict[str, bool | None]:
    """Structured API fields first; id heuristics only where a legacy object lacks the field.

    `lowered` is the model id in lower case; `params` is what supported_parameters says, None when the object
    has no such list. None in the result means "unknown": guessing tool support from a name would be worse
    than saying nothing.
    """
    if params is not None:
        reasoning: bool | None = params["reasoning"]
    elif isinstance(model.get("supports_reasoning"), bool):
        reasoning = model["supports_reasoning"]
    else:
        reasoning = any(marker in lowered for marker in _REASONING_ID_MARKERS)

    return {
        "vision": vision,
        "web_search": web_search_paid
        or (params is not None and params["web_search_options"])
        or "search" in lowered
        or lowered.endswith(":online"),
        "tool_calling": None if params is None else params["tools"],
        "reasoning": reasoning,
        "structured_outputs": None if params is None else params["structured_outputs"],
    }


def _unit_prices(units: Any, found: list[Any]) -> list[Any]:
    """Every `price` inside pricing.units, tiers included, appended to `found`."""
    if isinstance(units, list):
        for unit in units:
            if isinstance(unit, dict):
                if "price" in unit:
                    found.append(unit["price"])
                if "tiers" in unit:
                    _unit_prices(unit["tiers"], found)
    return found


class Prices(NamedTuple):  # a NamedTuple: a frozen dataclass costs microseconds per model to build
    input_per_million: Decimal | None
    output_per_million: Decimal | None
    kind: str | None
    problems: tuple[str, ...]
    web_search_paid: bool = False
    stored: dict[str, Any] | None = None  # the pricing object as stored: itself, or a cleaned copy


def classify_prices(pricing: Any) -> Prices:
    """Token prices per million (exact), whether the model is paid, free or variable-priced, and what to store.

    One pass over the object: this runs once per model on every sync.
    """
    if not isinstance(pricing, dict):
        return Prices(None, None, None, ("pricing missing",))
    known_price = _PRICE_MEMO.get
    prompt = completion = None
    web_search_paid = False
    storable = True
    signs = []  # only signs matter for the kind
    for key, raw in pricing.items():
        if key not in _PLAIN_KEYS and not _plain_key(key):
            storable = False
        if key in _NON_PRICE_KEYS:
            storable = storable and _storable(raw)
            continue
        entry = known_price(raw) if raw.__class__ is str else None
        if entry is None:
            entry = _price_entry(raw)
        price, sign, plain = entry
        signs.append(sign)
        storable = storable and plain
        if key == "prompt":
            prompt = price
        elif key == "completion":
            completion = price
        elif key == "web_search":
            web_search_paid = sign == 1
    if "units" in pricing:
        signs += map(price_sign, _unit_prices(pricing["units"], []))
    negative, positive, unparseable = -1 in signs, 1 in signs, None in signs
    problems: tuple[str, ...] = ()
    if prompt is None or completion is None:
        problems = tuple(
            f"{key} price missing or unparseable: {str(pricing.get(key))[:40]!r}"
            for key, value in (("prompt", prompt), ("completion", completion))
            if value is None
        )
    stored = pricing if storable else clean_json(pricing)
    if negative:
        return Prices(None, None, "variable", problems, web_search_paid, stored)
    if positive:
        kind: str | None = "paid"
    elif not unparseable and len(pricing) > ("units" in pricing):
        kind = "free"
    else:
        kind = None
    return Prices(prompt, completion, kind, problems, web_search_paid, stored)


# Raw price string -> (exact price per million, sign, storable as is). A catalog draws its prices from a few
# hundred price points, so most lookups hit; Decimals are immutable, so rows can share them.
_PRICE_MEMO: dict[str, tuple[Decimal | None, int | None, bool]] = {}
_PRICE_MEMO_LIMIT = 65536
# Pricing keys already seen to be plain ASCII; a catalog uses a dozen or so.
_PLAIN_KEYS: set[str] = set()


def _price_entry(raw: Any) -> tuple[Decimal | None, int | None, bool]:
    """(price per million, sign, storable) of one raw price; price and sign are None when it is unparseable."""
    is_str = raw.__class__ is str
    if is_str:
        entry = _PRICE_MEMO.get(raw)
        if entry is not None:
            return entry
    price = parse_price(raw)
    plain = _storable(raw)
    entry = (None, None, plain) if price is None else (per_million(price), _decimal_sign(price), plain)
    if is_str:  # only exact strs: as dict keys True, 1 and 1.0 would collide
        if len(_PRICE_MEMO) >= _PRICE_MEMO_LIMIT:
            _PRICE_MEMO.clear()
        _PRICE_MEMO[raw] = entry
    return entry


def _plain_key(key: Any) -> bool:
    if not (key.__class__ is str and key.isascii() and "\x00" not in key):
        return False
    if len(_PLAIN_KEYS) < 1024:
        _PLAIN_KEYS.add(key)
    return True


class ModelNotes(NamedTuple):
    """What classify_model noticed about one model besides its row."""

    unknown_outputs: tuple[str, ...]  # output values no rule knows
    problems: tuple[str, ...] = ()  # fields stored as NULL because their value was garbage
    price_problems: int = 0  # how many of those problems are prices


class ModalityInfo(NamedTuple):
    modality: str
    input_names: tuple[str, ...]  # sorted; rows share these tuples, which is why they are not lists
    output_names: tuple[str, ...]
    clean_notes: ModelNotes  # the notes of a model with this architecture and no problems
    vision: bool


@lru_cache(maxsize=4096)
def _modality_info(
    input_list: tuple[Any, ...] | None, output_list: tuple[Any, ...] | None, legacy: Any, id_says_embedding: bool
) -> ModalityInfo:
    """What an architecture says, memoised: a catalog has a few dozen distinct architectures."""
    architecture: dict[str, Any] = {"modality": legacy}
    if input_list is not None:
        architecture["input_modalities"] = list(input_list)
    if output_list is not None:
        architecture["output_modalities"] = list(output_list)
    inputs, outputs = modality_sets(architecture)
    return ModalityInfo(
        classify_modality("embedding" if id_says_embedding else "", inputs, outputs),
        tuple(sorted(inputs)),
        tuple(sorted(outputs)),
        ModelNotes(tuple(sorted(outputs - KNOWN_OUTPUTS))),
        "image" in inputs,
    )


def _all_plain(*values: Any) -> bool:
    """True when each value is None or ASCII text without NUL: values clean_text would return unchanged."""
    for value in values:
        if value is not None and not (value.__class__ is str and value.isascii() and "\x00" not in value):
            return False
    return True


def _architecture_info(architecture: Any, id_says_embedding: bool) -> ModalityInfo:
    """The memoised ModalityInfo of an architecture object (anything else counts as an empty one)."""
    if not isinstance(architecture, dict):
        return _modality_info(None, None, None, id_says_embedding)
    inputs = architecture.get("input_modalities")
    outputs = architecture.get("output_modalities")
    legacy = architecture.get("modality")
    legacy = legacy if isinstance(legacy, str) else None
    if inputs.__class__ is list and outputs.__class__ is list:
        try:
            return _modality_info(tuple(inputs), tuple(outputs), legacy, id_says_embedding)
        except TypeError:  # an unhashable item; _hashable_list drops it, as the rules would
            pass
    return _modality_info(_hashable_list(inputs), _hashable_list(outputs), legacy, id_says_embedding)


def _parameters(value: Any) -> ParameterInfo | None:
    """The memoised ParameterInfo of a supported_parameters value, None when it is not a list."""
    if value.__class__ is list:
        try:
            return _parameter_info(tuple(value))
        except TypeError:  # an unhashable item
            pass
    key = _hashable_list(value)
    return None if key is None else _parameter_info(key)


def _hashable_list(value: Any) -> tuple[Any, ...] | None:
    if not isinstance(value, list):
        return None
    try:
        items = tuple(value)
        hash(items)
    except TypeError:
        items = tuple(v for v in value if isinstance(v, str))
    return items


def _storable(value: Any) -> bool:
    """Whether clean_json would return an equal value: a read-only walk, cheaper than building a copy.

    Non-ASCII text answers False (clean_json then checks its encoding); so does anything unusual.
    """
    cls = value.__class__
    if cls is str:
        return value.isascii() and "\x00" not in value
    if cls is dict:
        for key, item in value.items():
            if not (key.__class__ is str and key.isascii() and "\x00" not in key and _storable(item)):
                return False
        return True
    if cls is list:
        for item in value:
            if not _storable(item):
                return False
        return True
    if cls is float:
        return value - value == 0.0  # False for NaN and the infinities
    return cls is int or cls is bool or value is None


def classify_model(model: Any) -> tuple[dict[str, Any], ModelNotes]:
    """(row, notes) for one model object; raises ModelRejected when it cannot be stored."""
    if not isinstance(model, dict):
        raise ModelRejected(f"model is a {type(model).__name__}, not an object")
    # The hot path of a sync: sub-results shared across models are memoised, and the free-text fields are
    # checked together, so a model whose text is plain ASCII costs no clean_text call.
    get = model.get
    model_id = get("id")
    slug = provider_slug(model_id)
    lowered_id = model_id.lower()
    architecture = get("architecture")
    modality, input_names, output_names, clean_notes, vision = _architecture_info(
        architecture, "embedding" in lowered_id
    )
    if architecture.__class__ is dict:
        tokenizer = architecture.get("tokenizer")
        instruct_type = architecture.get("instruct_type")
    else:
        tokenizer = instruct_type = None
    input_pm, output_pm, pricing_kind, price_problems, web_search_paid, pricing = classify_prices(get("pricing"))
    problems = price_problems

    context_length, ok = parse_positive_int(get("context_length"))
    if not ok:
        problems += (f"context_length unparseable: {str(get('context_length'))[:40]!r}",)
    top_provider = get("top_provider")
    max_completion, ok = parse_positive_int(
        top_provider.get("max_completion_tokens") if isinstance(top_provider, dict) else None
    )
    if not ok:
        problems += ("top_provider.max_completion_tokens unparseable",)
    params = _parameters(get("supported_parameters"))
    expiration = get("expiration_date")
    canonical_slug = get("canonical_slug")
    description = get("description")
    hf_id = get("hugging_face_id")
    if not _all_plain(description, canonical_slug, hf_id, tokenizer, instruct_type):
        description, canonical_slug, hf_id, tokenizer, instruct_type = map(
            clean_text, (description, canonical_slug, hf_id, tokenizer, instruct_type)
        )

    row = {
        "openrouter_id": model_id,
        "canonical_slug": canonical_slug or None,
        "name": display_name(model_id, model),
        "description": description,
        "provider": provider_display_name(slug, model),
        "provider_slug": slug,
        "modality": modality,
        "input_modalities": input_names,
        "output_modalities": output_names,
        "context_length": context_length,
        "max_completion_tokens": max_completion,
        "input_cost_per_million": input_pm,
        "output_cost_per_million": output_pm,
        "pricing_kind": pricing_kind,
        "pricing": pricing,
        "capabilities": capabilities(
            lowered_id, model, None if params is None else params.flags, vision, web_search_paid
        ),
        "supported_parameters": None if params is None else params.names,
        "hugging_face_id": hf_id or None,
        "tokenizer": tokenizer,
        "instruct_type": None if instruct_type in (None, "", "none") else instruct_type,
        "openrouter_created_at": parse_unix_seconds(get("created")),
        "expiration_date": None if expiration is None else parse_date(expiration),
    }
    if problems:
        return row, ModelNotes(clean_notes.unknown_outputs, problems, len(price_problems))
    return row, clean_notes


def forget_memos() -> None:
    """Empty every memo the rules keep (price points, instants, architectures, parameter lists): a cold start."""
    _PRICE_MEMO.clear()
    _PLAIN_KEYS.clear()
    _INSTANTS.clear()
    _modality_info.cache_clear()
    _parameter_info.cache_clear()


def classify_catalog(models: list[Any]) -> ClassifiedCatalog:
    """Classify every model; bad ones are set aside with a reason, duplicates keep the first."""
    # Rows hold no reference cycles; the cyclic GC would otherwise rescan the growing heap over and over.
    with cyclic_gc_paused():
        return _classify_all(models)


def _classify_all(models: list[Any]) -> ClassifiedCatalog:
    rows: list[dict[str, Any]] = []
    set_aside: list[dict[str, str]] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    unknown: Counter[str] = Counter()
    field_problems: list[dict[str, str]] = []
    price_problems = 0
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
        if notes.unknown_outputs:
            unknown.update(notes.unknown_outputs)
        if notes.problems:
            price_problems += notes.price_problems
            field_problems.extend({"id": row["openrouter_id"], "problem": p} for p in notes.problems)
    counts = Counter(row["modality"] for row in rows)
    return ClassifiedCatalog(
        rows=rows,
        set_aside=set_aside,
        modality_counts={m: counts.get(m, 0) for m in MODALITIES},
        unknown_outputs=dict(unknown),
        duplicate_ids=duplicates,
        field_problems=field_problems,
        price_problem_count=price_problems,
    )


def _describe_id(model: Any) -> str:
    raw = model.get("id") if isinstance(model, dict) else None
    text = clean_text(raw) if isinstance(raw, str) else repr(raw)
    return (text or "")[:120]
