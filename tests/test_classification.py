"""The pure classification rules, table-driven, on hand-written and real model objects."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog_pipeline.assets.models import frame_rows, to_frame
from catalog_pipeline.rules.models import (
    MODALITIES,
    SYNCED_COLUMNS,
    ModelRejected,
    classify_catalog,
    classify_modality,
    classify_model,
    display_name,
    modality_sets,
    provider_display_name,
    provider_slug,
)
from catalog_pipeline.rules.parse import clean_json, clean_text, parse_unix_seconds
from catalog_pipeline.rules.prices import parse_price, per_million, price_model, sign

# --- text ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("pl\x00ain", "plain"),
        ("caf\u00e9 \x00", "caf\u00e9 "),  # CPython stores this text one byte per character
        ("it\u2019s\x00 \u2014 fine", "it\u2019s \u2014 fine"),  # two bytes per character
        ("\U0001f600\x00", "\U0001f600"),  # four bytes per character
        ("lone \ud800 surrogate", "lone ? surrogate"),
        ("\udfff\x00\u2019", "?\u2019"),
        ("", ""),
        (42, None),
        (None, None),
    ],
)
def test_clean_text_drops_nul_and_replaces_lone_surrogates(raw, expected):
    assert clean_text(raw) == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_clean_text_returns_storable_text_and_leaves_storable_text_alone(text):
    cleaned = clean_text(text)
    cleaned.encode("utf-8")  # no lone surrogates
    assert "\x00" not in cleaned
    storable = "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)
    assert (cleaned == text) == storable


# --- prices --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.000003", Decimal("3")),
        ("0.0000000100000002", Decimal("0.0100000002")),
        ("0.0000025", Decimal("2.5")),
        ("0.00001", Decimal("10")),
        ("1e-6", Decimal("1")),
        ("0", Decimal("0")),
        (0.0000025, Decimal("2.5")),
        (" 0.000001 ", Decimal("1")),
    ],
)
def test_prices_are_exact_per_million(raw, expected):
    price = per_million(parse_price(raw))
    assert price == expected
    assert str(price) == str(expected)


@pytest.mark.parametrize("raw", ["abc", "", None, "NaN", "Infinity", "1e999999", True, [], {}])
def test_unparseable_prices_are_none(raw):
    assert parse_price(raw) is None


@pytest.mark.parametrize(
    ("pricing", "kind", "input_pm", "output_pm", "problems"),
    [
        ({"prompt": "0.000003", "completion": "0.000015"}, "paid", Decimal(3), Decimal(15), 0),
        ({"prompt": "0", "completion": "0", "image": "0", "request": "0"}, "free", Decimal(0), Decimal(0), 0),
        ({"prompt": "-1", "completion": "-1"}, "variable", None, None, 0),
        ({"prompt": "0", "completion": "0", "image": "-1"}, "variable", None, None, 0),
        # 0/0 token prices but $0.04 per image: paid, and not billed per token.
        ({"prompt": "0", "completion": "0", "units": [{"price": 0.04, "unit": "/image"}]}, "paid", None, None, 0),
        # A tier price counts too.
        ({"prompt": "0", "completion": "0", "units": [{"price": 0, "tiers": [{"price": 0.2}]}]}, "paid", None, None, 0),
        # Token prices and a per-request fee: billed per token.
        (
            {"prompt": "0.000001", "completion": "0.000001", "units": [{"price": 0.005, "unit": "/request"}]},
            "paid",
            1,
            1,
            0,
        ),
        ({"prompt": "0", "completion": "0", "units": [{"price": 0}]}, "free", 0, 0, 0),
        ({"prompt": "abc", "completion": "0.000001"}, "paid", None, Decimal(1), 1),
        ({"prompt": "", "completion": None}, None, None, None, 2),
        ({"prompt": "0", "completion": "0", "discount": 0.5}, "free", 0, 0, 0),
        (None, None, None, None, 1),
    ],
)
def test_pricing_kind_and_costs(pricing, kind, input_pm, output_pm, problems):
    row, notes = classify_model({"id": "a/b", "pricing": pricing})
    assert (row["pricing_kind"], row["input_cost_per_million"], row["output_cost_per_million"]) == (
        kind,
        input_pm,
        output_pm,
    )
    assert notes.price_problems == problems


# --- modality ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("architecture", "model_id", "expected"),
    [
        ({"modality": "text->text"}, "a/b", "text"),
        ({"modality": "text+image->text"}, "a/b", "multimodal"),
        ({"modality": "text+image->text+image"}, "a/b", "image"),
        ({"input_modalities": ["text"], "output_modalities": ["image", "text"]}, "a/b", "image"),
        ({"input_modalities": ["text"], "output_modalities": ["text", "image"]}, "a/b", "image"),
        ({"input_modalities": ["text", "image"], "output_modalities": ["video"]}, "a/b", "video"),
        ({"input_modalities": ["text"], "output_modalities": ["speech"]}, "a/b", "audio"),
        ({"input_modalities": ["text", "audio"], "output_modalities": ["text", "audio"]}, "a/b", "audio"),
        ({"input_modalities": ["text"], "output_modalities": ["embeddings"]}, "a/b", "embedding"),
        ({"input_modalities": ["text"], "output_modalities": ["rerank"]}, "a/b", "embedding"),
        ({"input_modalities": ["text"], "output_modalities": ["text"]}, "nomic/text-embedding-v1", "embedding"),
        ({"input_modalities": ["audio"], "output_modalities": ["transcription"]}, "a/b", "multimodal"),
        ({"input_modalities": ["text", "file"], "output_modalities": ["text"]}, "a/b", "text"),
        ({"input_modalities": ["TEXT", "Video"], "output_modalities": ["Text"]}, "a/b", "multimodal"),
        ({"input_modalities": ["text"], "output_modalities": ["hologram"]}, "a/b", "text"),
        ({}, "a/b", "text"),
        (None, "a/b", "text"),
    ],
)
def test_modality_rules(architecture, model_id, expected):
    inputs, outputs = modality_sets(architecture)
    assert classify_modality(inputs, outputs, "embedding" in model_id) == expected


def test_unknown_outputs_are_counted():
    result = classify_catalog(
        [
            {"id": "a/one", "architecture": {"input_modalities": ["audio"], "output_modalities": ["transcription"]}},
            {"id": "a/two", "architecture": {"input_modalities": ["text"], "output_modalities": ["hologram"]}},
            {"id": "a/three", "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]}},
        ]
    )
    assert result.unknown_outputs == {"transcription": 1, "hologram": 1}
    assert result.modality_counts == {**dict.fromkeys(MODALITIES, 0), "multimodal": 1, "text": 2}


# --- provider, names, other fields ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "model", "expected"),
    [
        ("openai/gpt-4o", {"provider_name": "Azure"}, "OpenAI"),
        ("x-ai/grok-4", {}, "xAI"),
        ("meta-llama/llama-3", {}, "Meta"),
        ("mistralai/mistral-large", {}, "Mistral AI"),
        ("01-ai/yi-large", {}, "01.AI"),
        ("~anthropic/claude-latest", {}, "Anthropic"),
        ("acme/acme-1", {"provider_name": "Acme Cloud", "name": "Acme: One"}, "Acme Cloud"),
        ("foolabs/bar", {"name": "Foo Labs: Bar"}, "Foo Labs"),
        ("foolabs/bar", {"name": "Bar"}, "foolabs"),
    ],
)
def test_provider_display_name(model_id, model, expected):
    assert provider_display_name(provider_slug(model_id), model) == expected


@pytest.mark.parametrize(
    ("model_id", "name", "expected"),
    [
        ("openai/gpt-4o", "OpenAI: GPT-4o", "OpenAI: GPT-4o"),
        ("openai/gpt-4o-mini_search", None, "GPT 4o Mini Search"),
        ("openai/gpt-4o", "", "GPT 4o"),
        ("openai/gpt-4o", "x" * 50, "GPT 4o"),
        ("openai/gpt-4o", "x" * 49, "x" * 49),
        ("meta-llama/llama-3.3-70b-instruct:free", None, "Llama 3.3 70b Instruct Free"),
    ],
)
def test_display_name(model_id, name, expected):
    assert display_name(model_id, {"name": name}) == expected


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ({"name": "no id"}, "missing or non-string id"),
        ({"id": 42}, "missing or non-string id"),
        ({"id": "   "}, "missing or non-string id"),
        ({"id": "gpt-4o"}, "no provider part"),
        ({"id": "/gpt-4o"}, "no provider part"),
        ({"id": "openai/"}, "no provider part"),
        ({"id": "a/" + "x" * 5000}, "longer than"),
        ({"id": "a/b\x00c"}, "cannot store"),
        ("a string", "not an object"),
    ],
)
def test_models_that_cannot_be_stored_are_rejected(model, reason):
    with pytest.raises(ModelRejected, match=reason):
        classify_model(model)


def test_other_fields():
    row, notes = classify_model(
        {
            "id": "a/b",
            "created": 1715558400,
            "context_length": -5,
            "architecture": {"modality": "text->text", "instruct_type": "none", "tokenizer": "GPT"},
            "top_provider": {"max_completion_tokens": "n/a"},
            "expiration_date": "2026-03-01",
            "hugging_face_id": "",
            "name": "Name \x00with NUL",
        }
    )
    assert row["context_length"] is None
    assert row["instruct_type"] is None
    assert row["openrouter_created_at"] == datetime(2024, 5, 13, tzinfo=UTC)
    assert row["expiration_date"].isoformat() == "2026-03-01"
    assert row["hugging_face_id"] is None
    assert row["name"] == "Name with NUL"
    assert notes.problems == ("pricing missing", "top_provider.max_completion_tokens unparseable")
    assert notes.price_problems == 1


def test_capabilities_prefer_structured_fields_over_id_heuristics():
    legacy, _ = classify_model({"id": "deepseek/deepseek-r1", "architecture": {"modality": "text+image->text"}})
    assert legacy["capabilities"] == {
        "vision": True,
        "web_search": False,
        "tool_calling": None,
        "reasoning": True,
        "structured_outputs": None,
    }
    current, _ = classify_model(
        {
            "id": "deepseek/deepseek-r1",
            "supported_parameters": ["tools", "structured_outputs"],
            "pricing": {"prompt": "0", "completion": "0", "web_search": "0.01"},
        }
    )
    assert current["capabilities"] == {
        "vision": False,
        "web_search": True,
        "tool_calling": True,
        "reasoning": False,
        "structured_outputs": True,
    }
    online, _ = classify_model({"id": "openai/gpt-4o:online", "supported_parameters": []})
    assert online["capabilities"]["web_search"] is True


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        # Real ids from the 2024-11-10 to 2026-06-24 catalogs: the author `nousresearch` holds "search", and
        # none of its models searches the web (17 were flagged when the whole id was matched).
        ("nousresearch/hermes-3-llama-3.1-405b", False),
        ("nousresearch/hermes-3-llama-3.1-405b:free", False),
        ("nousresearch/hermes-4-70b", False),
        ("nousresearch/deephermes-3-llama-3-8b-preview:free", False),
        ("nousresearch/nous-hermes-2-mixtral-8x7b-dpo", False),
        # The model's own name says it, or it is an :online variant.
        ("openai/gpt-4o-search-preview", True),
        ("openai/gpt-4o-mini-search-preview", True),
        ("meta-llama/llama-3.3-70b-instruct:online", True),
        ("meta-llama/llama-3.3-70b-instruct", False),
    ],
)
def test_web_search_is_read_from_the_models_own_name(model_id, expected):
    row, _ = classify_model({"id": model_id, "supported_parameters": []})
    assert row["capabilities"]["web_search"] is expected


def test_an_alias_belongs_to_its_author():
    """`~google/gemini-pro-latest` (2026-08-22 catalog) is Google's alias: a filter on provider_slug 'google' finds
    it."""
    row, _ = classify_model({"id": "~google/gemini-pro-latest", "alias_target": {"slug": "google/gemini-3.1-pro"}})
    assert (row["provider_slug"], row["provider"], row["openrouter_id"]) == (
        "google",
        "Google",
        "~google/gemini-pro-latest",
    )


def test_duplicates_keep_the_first():
    result = classify_catalog([{"id": "a/b", "name": "first"}, {"id": "a/b", "name": "second"}])
    assert [r["name"] for r in result.rows] == ["first"]
    assert result.duplicate_ids == ["a/b"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1715558400, datetime(2024, 5, 13, tzinfo=UTC)),
        (1715558400.5, datetime(2024, 5, 13, 0, 0, 0, 500000, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (1, datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)),
        (True, None),  # a JSON boolean is not a time, though True == 1
        ("1715558400", None),
        (10**20, None),
        (float("nan"), None),
        (None, None),
    ],
)
def test_created_is_read_as_unix_seconds(raw, expected):
    assert parse_unix_seconds(raw) == expected


# --- real model objects, every schema era ----------------------------------------------------------

REAL_CASES = [
    # (fixture date, id, modality, provider, input $/M, output $/M, kind)
    ("2024-11-10", "openai/gpt-4o", "multimodal", "OpenAI", Decimal("2.5"), Decimal("10"), "paid"),
    ("2024-11-10", "openrouter/auto", "text", "OpenRouter", None, None, "variable"),
    ("2025-04-23", "openai/gpt-4o", "multimodal", "OpenAI", Decimal("2.5"), Decimal("10"), "paid"),
    ("2026-02-27", "openrouter/auto", "image", "OpenRouter", None, None, "variable"),
    ("2026-06-24", "openai/gpt-4o", "multimodal", "OpenAI", Decimal("2.5"), Decimal("10"), "paid"),
    # Billed per image, per second of video and per minute of audio: no token prices, and paid.
    ("2026-06-24", "sourceful/riverflow-v2.5-pro", "image", "Sourceful", None, None, "paid"),
    ("2026-06-24", "alibaba/happyhorse-1.1", "video", "Alibaba", None, None, "paid"),
    ("2026-06-24", "openai/whisper-1", "multimodal", "OpenAI", None, None, "paid"),
]


@pytest.mark.real_data
@pytest.mark.parametrize(("date", "model_id", "modality", "provider", "input_pm", "output_pm", "kind"), REAL_CASES)
def test_real_models(real_catalog, date, model_id, modality, provider, input_pm, output_pm, kind):
    model = next(m for m in real_catalog(date)["data"] if m["id"] == model_id)
    row, _ = classify_model(model)
    assert row["modality"] == modality
    assert row["provider"] == provider
    if kind is not None:
        assert (row["input_cost_per_million"], row["output_cost_per_million"], row["pricing_kind"]) == (
            input_pm,
            output_pm,
            kind,
        )


@pytest.mark.real_data
def test_real_catalogs_classify_without_set_asides(real_catalog):
    for date in ("2024-11-10", "2025-04-23", "2026-02-27", "2026-06-24"):
        result = classify_catalog(real_catalog(date)["data"])
        assert result.set_aside == []
        assert set(r["modality"] for r in result.rows) <= set(MODALITIES)


# --- properties ----------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=15,
)
model_keys = st.sampled_from(
    [
        "id",
        "name",
        "pricing",
        "architecture",
        "context_length",
        "created",
        "supported_parameters",
        "top_provider",
        "provider_name",
        "expiration_date",
        "hugging_face_id",
        "canonical_slug",
        "description",
    ]
)
ids = st.one_of(
    json_values, st.text(max_size=30), st.builds(lambda a, b: f"{a}/{b}", st.text(max_size=10), st.text(max_size=10))
)
architectures = st.fixed_dictionaries(
    {},
    optional={
        "modality": st.one_of(json_values, st.text(max_size=30)),
        "input_modalities": st.one_of(json_values, st.lists(st.text(max_size=12), max_size=4)),
        "output_modalities": st.one_of(
            json_values,
            st.lists(
                st.sampled_from(["text", "image", "audio", "video", "speech", "embeddings", "rerank", "x"])
                | st.text(max_size=8),
                max_size=4,
            ),
        ),
        "instruct_type": json_values,
    },
)
models = st.one_of(
    json_values,
    st.dictionaries(model_keys, json_values, max_size=8),
    st.fixed_dictionaries({"id": ids, "architecture": architectures}, optional={"pricing": json_values}),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(models, max_size=8))
def test_arbitrary_json_never_escapes_the_set_aside_path(objects):
    result = classify_catalog(objects)
    assert len(result.rows) + len(result.set_aside) + len(result.duplicate_ids) == len(objects)
    for row in result.rows:
        assert row["modality"] in MODALITIES
        assert row["pricing_kind"] in (None, "paid", "free", "variable")
    for item in result.set_aside:
        assert not item["reason"].startswith("unexpected"), item


@settings(max_examples=300, deadline=None)
@given(models)
def test_classify_model_raises_only_model_rejected(obj):
    try:
        row, _ = classify_model(obj)
    except ModelRejected:
        return
    assert row["modality"] in MODALITIES


# --- the pricing pass against the rules it implements ---------------------------------------------

price_strings = st.one_of(
    st.sampled_from(["0", "-1", "0.000003", "1e-6", " 0.5 ", "abc", "", "NaN", "1e300", "0.0000000100000002"]),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=6),
)
units = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "price": json_scalars | price_strings,
            "tiers": st.lists(st.fixed_dictionaries({"price": json_scalars})),
        },
    ),
    max_size=3,
)
pricings = st.dictionaries(
    st.sampled_from(["prompt", "completion", "image", "request", "web_search", "discount"]) | st.text(max_size=8),
    price_strings | json_values,
    max_size=6,
).flatmap(lambda p: st.just(p) | units.map(lambda u: {**p, "units": u}))


def _unit_price_values(value):
    if isinstance(value, list):
        for unit in value:
            if isinstance(unit, dict):
                yield unit.get("price")
                for tier in unit.get("tiers") if isinstance(unit.get("tiers"), list) else []:
                    yield tier.get("price") if isinstance(tier, dict) else None
            else:
                yield None


@settings(max_examples=500, deadline=None)
@given(pricings)
def test_price_model_follows_the_rules_value_by_value(pricing):
    """price_model agrees with the rules applied to each value on its own, and stores each price exactly."""
    base = [v for k, v in pricing.items() if k not in ("discount", "units", "overrides")]
    signs = [sign(parse_price(v)) for v in base]
    units = pricing.get("units")
    signs += [sign(parse_price(v)) for v in _unit_price_values(units)] + (
        [None] if units is not None and not isinstance(units, list) else []
    )
    if -1 in signs:
        kind = "variable"
    elif 1 in signs:
        kind = "paid"
    elif signs and None not in signs:
        kind = "free"
    else:
        kind = None
    priced = price_model(pricing)
    assert priced.kind == kind
    row, _ = classify_model({"id": "a/b", "pricing": pricing})
    assert row["pricing"] == clean_json(pricing)
    assert row["capabilities"]["web_search"] == (sign(parse_price(pricing.get("web_search"))) == 1)
    for price in priced.rows:
        if price.condition == "" and price.component in pricing:
            assert price.price == parse_price(pricing[price.component])
            if price.unit == "token":
                assert str(price.price_per_million) == str(per_million(price.price))
    assert len({(r.component, r.condition) for r in priced.rows}) == len(priced.rows)


@pytest.mark.parametrize("raw", ["1_000", "\u0661\u0662\u0663", "0x10", "1e", ".", "+-1", "1.2.3", "\u2003 1"])
def test_only_ascii_decimal_numbers_are_prices(raw):
    """Decimal() alone takes underscores and other scripts' digits; a price is an ASCII decimal number."""
    assert parse_price(raw) is None


def test_prices_keep_every_digit_sent():
    """Forty significant digits stay forty: the shift to per million is exact, whatever the Decimal context."""
    raw = "0.000001234567890123456789012345678901234567891"
    assert str(per_million(parse_price(raw))) == "1.234567890123456789012345678901234567891"
    assert str(per_million(parse_price("1e-5"))) == "10"


def test_frame_rows_give_back_the_classified_rows(handwritten_catalog):
    """The write reads classified_models' DataFrame back as plain rows: the values (NA as None) must be what
    classification produced, or every sync through Dagster would rewrite rows."""
    rows = classify_catalog(handwritten_catalog["data"]).rows
    back = list(frame_rows(to_frame(rows)))
    assert back == rows
    assert any(r["context_length"] is None for r in back) and any(r["hugging_face_id"] is None for r in back)
    plain = (str, int, list, dict, Decimal, datetime)  # pandas' Timestamp is a datetime
    for row in back:
        for value in row.values():
            assert value is None or (isinstance(value, plain) and type(value).__module__ != "numpy"), value


def test_rows_have_exactly_the_synced_columns_then_their_prices_and_benchmarks(handwritten_catalog):
    for row in classify_catalog(handwritten_catalog["data"]).rows:
        assert tuple(row) == (*SYNCED_COLUMNS, "prices", "benchmarks")
