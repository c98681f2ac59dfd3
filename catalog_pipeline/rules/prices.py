"""Price rules: pure functions from one OpenRouter `pricing` object to its price components, each in its own unit.

A component is one price the API sends: a top-level key (`prompt`, `input_cache_read`, `web_search`, …), an
entry of `units` by its label (with one more row per resolution or size tier), or a key of a conditional entry
in `overrides` (a prompt-length tier or a UTC time window; later entries win). Prices are exact Decimals as
sent; token prices also carry their price per million tokens.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, NamedTuple

from catalog_pipeline.rules.parse import clean_text, exact_number

# Top-level and override keys by unit. OpenRouter's spec (PublicPricing) is not to be trusted on every key; each unit
# below is held against the providers' own price sheets and the real catalogs in shared/fixtures:
# - image_output is per token, not "per output image" as the spec says: google/gemini-3-pro-image sends "0.00012",
#   Google's published $120 per million image-output tokens (2026-08-22 fixture).
# - audio_output likewise: openai/gpt-audio's "0.000064" is OpenAI's $64 per million audio output tokens.
# - image changed meaning between eras, so its unit is decided per value (image_unit below).
TOKEN_KEYS = frozenset(
    {
        "prompt",
        "completion",
        "input_cache_read",
        "input_cache_write",
        "input_cache_write_1h",
        "internal_reasoning",
        "audio",
        "audio_output",
        "input_audio_cache",
        "image_token",
        "image_output",
    }
)
UNIT_KEYS = {"request": "request", "web_search": "search"}
# Below this, an `image` price is per token: no per-image price in the 2024-11-10 and 2025-04-23 catalogs is lower
# (the cheapest is meta-llama/llama-3.2-11b-vision-instruct's $0.000079475 an image), while the 2026 per-token ones
# are at most a few millionths (google/gemini-embedding-2's "0.00000045" is Google's $0.45 per million image
# tokens). At or above it, per image unless it equals the prompt price (see image_unit).
_IMAGE_TOKEN_PRICE_BELOW = Decimal("0.00005")
NON_PRICE_KEYS = frozenset({"discount", "units", "overrides"})
OVERRIDE_CONDITIONS = frozenset({"min_prompt_tokens", "utc_start", "utc_end"})

# A price is an ASCII decimal number: Decimal() alone would also take "1_000", "١٢٣", "NaN" and "Infinity".
_PRICE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# Prices are USD per token or per unit. A value whose decimal exponent lies beyond ±12 is not a price but
# garbage ("1e300"), and is treated as unparseable.
_MAX_ABS_EXPONENT = 12
_SCALES = {"k": 3, "m": 6}  # "/K characters", "/M tokens": the API's price is per single unit


class PriceRow(NamedTuple):
    """One row of ai_model_prices, without its model id and dates (a tuple: a catalog holds hundreds of thousands)."""

    component: str
    unit: str | None  # None: a key this code does not know yet
    condition: str  # "" for the base price; else the tier or the override's conditions, in words
    tier: str | None
    override_position: int | None  # 1, 2, … in the API's order: a later applicable override wins
    min_prompt_tokens: Decimal | None  # the override applies when the prompt is strictly larger
    utc_start: int | None  # HHMM; the override applies in [utc_start, utc_end), wrapping past midnight
    utc_end: int | None
    price: Decimal  # USD per unit, exactly as sent
    price_per_million: Decimal | None  # USD per million tokens, for token units


class PricedModel(NamedTuple):
    """What a model's pricing object says, all of it."""

    rows: list[PriceRow]  # every price; never a variable-price marker, which is not a price
    billing_unit: str | None  # 'token', or the unit of the main price of a model not billed per token
    kind: str | None  # paid, free or variable
    problems: tuple[str, ...]  # what was set aside, in words
    unknown_keys: tuple[str, ...]  # keys stored with an unknown unit

    def per_million(self, component: str) -> Decimal | None:
        """A base token price per million, for a model billed per token at a fixed price; else None."""
        if self.billing_unit != "token" or self.kind == "variable":
            return None
        for row in self.rows:
            if row.component == component and not row.condition and row.unit == "token":
                return row.price_per_million
        return None


def parse_price(value: Any) -> Decimal | None:
    """A price (USD per token or per unit) as an exact Decimal, or None when it is missing or unparseable."""
    if isinstance(value, str):
        text = value.strip(" \t\n\r")  # ASCII white space only, as around any JSON number
        if not _PRICE.fullmatch(text):
            return None
        price = Decimal(text)  # construction from a string is exact: no context rounding
    elif isinstance(value, int) and not isinstance(value, bool):
        price = Decimal(value)
    elif isinstance(value, float) and math.isfinite(value):
        price = Decimal(repr(value))
    else:
        return None
    if price and abs(price.adjusted()) > _MAX_ABS_EXPONENT:
        return None
    return price


def scaled(price: Decimal, digits: int) -> Decimal:
    """The price with its decimal exponent moved by `digits`: exact, whatever the digits and the context."""
    sign, mantissa, exponent = price.as_tuple()
    exponent += digits
    if exponent > 0:  # "1E+1" reads better as "10"
        mantissa, exponent = mantissa + (0,) * exponent, 0
    return Decimal((sign, mantissa, exponent))


def per_million(price: Decimal) -> Decimal:
    """Exact price per million (tokens)."""
    return scaled(price, 6)


def sign(price: Decimal | None) -> int | None:
    return None if price is None else (price > 0) - (price < 0)


def normalise_unit(raw: Any) -> tuple[str | None, int]:
    """(unit, decimal digits to shift the price by) from the API's "/minute"-style strings.

    "/M tokens" is 'token' (the API's price is per token); "/M characters" is 'million characters', its price
    shifted to per million characters. Anything else is its words, without the slash, in lower case.
    """
    if not isinstance(raw, str) or not raw.strip(" /"):
        return None, 0
    words = raw.strip().lstrip("/").strip().lower().split()
    scale = _SCALES.get(words[0]) if len(words) > 1 else None
    if scale is not None:
        words = words[1:]
    thing = " ".join(words)
    if thing in ("token", "tokens"):
        return "token", 0
    if scale is None:
        return thing, 0
    return f"{'thousand' if scale == 3 else 'million'} {thing}", scale


def _row(component: str, unit: str | None, price: Decimal, condition: str = "", **extra: Any) -> PriceRow:
    return PriceRow(
        component=component,
        unit=unit,
        condition=condition,
        tier=extra.get("tier"),
        override_position=extra.get("override_position"),
        min_prompt_tokens=extra.get("min_prompt_tokens"),
        utc_start=extra.get("utc_start"),
        utc_end=extra.get("utc_end"),
        price=price,
        price_per_million=per_million(price) if unit == "token" else None,
    )


def image_unit(price: Decimal, prompt: Decimal | None) -> str:
    """The unit of an `image` price, which OpenRouter's API changed between eras.

    Until 2025 it was per input image: anthropic/claude-3.5-sonnet "0.0048" (Anthropic's ~1,600 tokens of a
    1-megapixel image at $3 per million), openai/gpt-4o "0.0036125" (2024-11-10 catalog). In 2026 it is per image
    token, at the prompt price for every text model that has it (17 of 17 in the 2026-05-16 catalog, e.g.
    google/gemini-3-pro-image "0.000002" beside prompt "0.000002"), while an image model still prices an image
    (x-ai/grok-imagine-image-quality "0.01", prompt "0").
    """
    if price == prompt and price != 0 or 0 < price < _IMAGE_TOKEN_PRICE_BELOW:
        return "token"
    return "image"


def _key_unit(key: str, price: Decimal, prompt: Decimal | None) -> str | None:
    if key == "image":
        return image_unit(price, prompt)
    return "token" if key in TOKEN_KEYS else UNIT_KEYS.get(key)


def _clock(value: Any) -> int | None:
    """An HHMM clock number (0 to 2359, minutes under 60), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return None
    clock = int(value)
    return clock if 0 <= clock <= 2400 and clock % 100 < 60 else None


def _unit_rows(units: Any, problems: list[str]) -> list[PriceRow]:
    """One row per `units` entry by its label, and one more per tier of it."""
    rows: list[PriceRow] = []
    if not isinstance(units, list):
        if units is not None:
            problems.append("units is not a list")
        return rows
    for position, entry in enumerate(units, 1):
        if not isinstance(entry, dict):
            problems.append(f"units entry {position} is not an object")
            continue
        unit, shift = normalise_unit(entry.get("unit"))
        label = entry.get("label") if isinstance(entry.get("label"), str) and entry["label"].strip() else None
        component = clean_text(label or f"units[{position}]")
        price = parse_price(entry.get("price"))
        if price is None:
            problems.append(f"units entry {component!r} has no usable price")
        else:
            rows.append(_row(component, unit, scaled(price, shift)))
        tiers = entry.get("tiers")
        for number, tier in enumerate(tiers if isinstance(tiers, list) else [], 1):
            tier_price = parse_price(tier.get("price")) if isinstance(tier, dict) else None
            if tier_price is None:
                problems.append(f"tier {number} of {component!r} has no usable price")
                continue
            name = clean_text(tier["label"]) if isinstance(tier.get("label"), str) else f"tier {number}"
            rows.append(_row(component, unit, scaled(tier_price, shift), f"tier {name}", tier=name))
    return rows


def _override_rows(overrides: Any, problems: list[str], unknown: list[str]) -> list[PriceRow]:
    """The rows of each well-formed `overrides` entry; a malformed entry is set aside whole, with its reason."""
    rows: list[PriceRow] = []
    if overrides is None:
        return rows
    if not isinstance(overrides, list):
        problems.append("overrides is not a list")
        return rows
    for position, entry in enumerate(overrides, 1):
        if not isinstance(entry, dict):
            problems.append(f"override {position} is not an object")
            continue
        conditions: dict[str, Any] = {"override_position": position}
        words = []
        if "min_prompt_tokens" in entry:
            threshold = parse_price(entry["min_prompt_tokens"])
            if threshold is None or threshold < 0:
                problems.append(
                    f"override {position} has a bad min_prompt_tokens: {str(entry['min_prompt_tokens'])[:40]!r}"
                )
                continue
            conditions["min_prompt_tokens"] = threshold
            words.append(f"prompt > {threshold} tokens")
        if "utc_start" in entry or "utc_end" in entry:
            start, end = _clock(entry.get("utc_start")), _clock(entry.get("utc_end"))
            if start is None or end is None:
                problems.append(f"override {position} has a bad UTC window")
                continue
            conditions.update(utc_start=start, utc_end=end)
            words.append(f"{start // 100:02d}:{start % 100:02d}–{end // 100:02d}:{end % 100:02d} UTC")
        if not words:
            problems.append(f"override {position} has no condition")
            continue
        prices = [(key, value) for key, value in entry.items() if key not in OVERRIDE_CONDITIONS]
        condition = f"override {position}: {', '.join(words)}"
        rows += _key_rows(prices, problems, unknown, f"override {position} ", condition, **conditions)
    return rows


def _key_rows(
    items: list[tuple[Any, Any]],
    problems: list[str],
    unknown: list[str],
    where: str = "",
    condition: str = "",
    **extra: Any,
) -> list[PriceRow]:
    """A row per priced key, in its unit (an unknown key is stored with none and noted)."""
    rows = []
    prompt = parse_price(dict(items).get("prompt"))
    for key, value in items:
        name = clean_text(str(key))
        price = parse_price(value)
        if price is None:
            problems.append(f"{where}{name} price missing or unparseable: {str(value)[:40]!r}")
            continue
        unit = _key_unit(name, price, prompt)
        if unit is None:
            unknown.append(name)
        rows.append(_row(name, unit, price, condition, **extra))
    return rows


def price_model(pricing: Any) -> PricedModel:
    """Every price of a pricing object, its billing unit and its kind (paid, free or variable)."""
    if not isinstance(pricing, dict):
        return PricedModel([], None, None, ("pricing missing",), ())
    problems: list[str] = []
    unknown: list[str] = []
    base = _key_rows([(k, v) for k, v in pricing.items() if k not in NON_PRICE_KEYS], problems, unknown)
    units = _unit_rows(pricing.get("units"), problems)
    signs = {sign(r.price) for r in base + units}
    if -1 in signs:
        kind: str | None = "variable"
    elif 1 in signs:
        kind = "paid"
    elif signs == {0} and not problems:
        kind = "free"  # every price zero, none unparseable
    else:
        kind = None
    overrides = _override_rows(pricing.get("overrides"), problems, unknown)

    prompt, completion = parse_price(pricing.get("prompt")), parse_price(pricing.get("completion"))
    for key, value in (("prompt", prompt), ("completion", completion)):
        if value is None and key not in pricing:
            problems.append(f"{key} price missing")
    billing_unit = _billing_unit(prompt, completion, units)
    # "-1" marks a router whose price depends on the model it picks: a marker, not a price, stored nowhere.
    rows = [r for r in _unique(base + units + overrides) if r.price >= 0]
    if billing_unit not in ("token", None):
        # The API repeats the unit price in prompt or completion, or sends them as "0": neither is a token price.
        rows = [r for r in rows if r.condition or r.component not in ("prompt", "completion")]
    return PricedModel(rows, billing_unit, kind, tuple(problems), tuple(unknown))


def _unique(rows: list[PriceRow]) -> list[PriceRow]:
    """The rows, each (component, condition) once: a repeat (a units label named like a key, a tier label given
    twice) keeps its price under a numbered name instead of colliding with the first."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for row in rows:
        number, named = 1, row
        while (named.component, named.condition) in seen:
            number += 1
            named = row._replace(component=f"{row.component} #{number}")
        seen.add((named.component, named.condition))
        unique.append(named)
    return unique


def _billing_unit(prompt: Decimal | None, completion: Decimal | None, units: list[PriceRow]) -> str | None:
    """'token', or the unit of the main price of a model whose prompt and completion are not token prices.

    A model is not billed per token when its prompt or completion equals one of its (non-zero, non-token) unit
    prices, as the API sent it, or when both are zero while it has a positive one; its main price is then that
    unit price.
    """
    unit_prices = [r for r in units if r.unit != "token" and r.price != 0]
    for row in unit_prices:
        if _as_sent(row) in (prompt, completion):
            return row.unit
    if prompt == 0 and completion == 0:
        positive = next((r for r in unit_prices if r.price > 0), None)
        if positive is not None:
            return positive.unit
    if prompt is None and completion is None:
        return None
    return "token"


def _as_sent(row: PriceRow) -> Decimal:
    """A unit row's price as the API sent it: per single character for 'million characters', say."""
    scale = {"thousand": 3, "million": 6}.get(str(row.unit).split(" ", 1)[0], 0)
    return scaled(row.price, -scale)


# Sane upper bounds, in USD: per million tokens for token prices, per unit for the others. A price above its
# bound is far more likely a unit mix-up than a real price.
MAX_SANE_PRICE_PER_MILLION = 10_000
MAX_SANE_UNIT_PRICE = {
    "image": 10,
    "megapixel": 10,
    "second": 10,
    "minute": 10,
    "hour": 100,
    "million characters": 1_000,
    "search": 10,
    "request": 10,
    "song": 10,
}
MAX_SANE_OTHER_UNIT_PRICE = 100
# Sane lower bounds for a paid price (zero is free, not judged): about a tenth of the lowest paid price of each
# unit in the five real catalogs in shared/fixtures (token: inclusionai/ling-2.6-flash's cache read at $0.002 per
# million; image: meta-llama/llama-3.2-11b-vision-instruct's $0.000079475 an input image; second:
# qwen/qwen3-asr-flash's $0.000035; minute: voxtral's $0.0001; hour: whisper's $0.04; million characters:
# kokoro's $0.62; search: cohere/rerank-v3.5's $0.001; request: $0.005; megapixel: flux.2-klein's $0.014; song:
# lyria's $0.04). Below it, a price is far more likely in the wrong unit: a per-token price read per image
# (google/gemini-3-pro-image's "0.000002") lands there.
MIN_SANE_PRICE_PER_MILLION = Decimal("0.0002")
MIN_SANE_UNIT_PRICE = {
    "image": "0.00001",
    "megapixel": "0.001",
    "second": "0.000003",
    "minute": "0.00001",
    "hour": "0.004",
    "million characters": "0.06",
    "search": "0.0001",
    "request": "0.0005",
    "song": "0.004",
}


# `pricing.discount` (an endpoint's, 51 of 927 real endpoints on 2026-05-16): the spec says only that "the price is
# multiplied by (1 - discount)". The price strings already are: they are what a request is charged, and the list price
# is price / (1 - discount). Held against the providers' own sheets:
#   Alibaba qwen/qwen3-max: 0.00000078 and 0.0000039 at 0.35 off = $1.20 and $6.00 per million, Alibaba Model
#     Studio's international price (0-32K input tokens);
#   Alibaba qwen/qwen3.5-plus-02-15: 0.00000026 at 0.35 off = $0.40 per million input, Model Studio's Qwen3.5-Plus;
#   SambaNova meta-llama/llama-3.3-70b-instruct: 0.00000045 and 0.0000009 at 0.25 off = $0.60 and $1.20 per million,
#     SambaCloud's rate card for Meta-Llama-3.3-70B-Instruct.
# So the stored prices, the cheapest endpoint and the frontier use the strings as sent; the discount is kept beside.
def endpoint_discount(pricing: Any) -> Decimal | None:
    """An endpoint's `pricing.discount` as sent (a fraction, 0 up to 1), or None when absent or not such a number."""
    discount = exact_number(pricing.get("discount")) if isinstance(pricing, dict) else None
    return discount if discount is not None and 0 <= discount < 1 else None
