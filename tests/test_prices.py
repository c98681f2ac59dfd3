"""Prices as they are billed: components in their own units, exact, dated, with tiers, and the cost function."""

import copy
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from conftest import DATA_DIR, check_results, load_json, materialization_metadata, run_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog_pipeline.db.models import write_catalog
from catalog_pipeline.rules.models import classify_catalog
from catalog_pipeline.rules.prices import normalise_unit

DAY1 = datetime(2026, 8, 1, 3, 0, tzinfo=UTC)
DAY2 = datetime(2026, 8, 2, 3, 0, tzinfo=UTC)
BETWEEN = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)
AFTER = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def pricing_2026():
    return load_json(DATA_DIR / "handwritten_pricing_2026.json")


def _sync(catalog_db, models, at=None):
    with catalog_db.migrated() as conn:
        return write_catalog(conn, classify_catalog(models).rows, synced_at=at)


def _prices(pg, model_id, when=None):
    """(component, condition, unit, price, price_per_million) of a model, in force at `when` (default: now)."""
    return pg.execute(
        """SELECT component, condition, unit, price, price_per_million FROM ai_model_prices
            WHERE openrouter_id = %s AND valid_from <= coalesce(%s, now())
              AND (valid_to IS NULL OR valid_to > coalesce(%s, now()))
            ORDER BY component, condition""",
        (model_id, when, when),
    ).fetchall()


def _cost(pg, model_id, prompt, completion, cached=0, at=None):
    if at is None:
        return pg.execute(
            "SELECT ai_model_request_cost(%s, %s, %s, %s)", (model_id, prompt, completion, cached)
        ).fetchone()[0]
    return pg.execute(
        "SELECT ai_model_request_cost(%s, %s, %s, %s, %s)", (model_id, prompt, completion, cached, at)
    ).fetchone()[0]


@pytest.mark.parametrize(
    ("raw", "unit", "shift"),
    [
        ("/minute", "minute", 0),
        ("/hour", "hour", 0),
        ("/M characters", "million characters", 6),
        ("/M tokens", "token", 0),
        ("/K characters", "thousand characters", 3),
        ("/image", "image", 0),
        ("/megapixel", "megapixel", 0),
        (" / Song ", "song", 0),
        ("", None, 0),
        (None, None, 0),
    ],
)
def test_units_are_normalised(raw, unit, shift):
    assert normalise_unit(raw) == (unit, shift)


# --- the hand-written 2026 catalog: runs anywhere ------------------------------------------------------


def test_every_component_is_stored_in_its_unit(catalog_db, pg, pricing_2026):
    _sync(catalog_db, pricing_2026["data"])
    models = {
        r[0]: r[1:]
        for r in pg.execute(
            "SELECT openrouter_id, billing_unit, pricing_kind, input_cost_per_million, output_cost_per_million, "
            "cache_read_cost_per_million, cache_write_cost_per_million FROM ai_models"
        )
    }
    assert models["acme/long-context-pro"] == (
        "token",
        "paid",
        Decimal(2),
        Decimal(12),
        Decimal("0.2"),
        Decimal("0.25"),
    )
    assert models["acme/transcribe-1"] == ("minute", "paid", None, None, None, None)
    assert models["acme/voice-1"] == ("million characters", "paid", None, None, None, None)
    assert models["acme/video-1"] == ("second", "paid", None, None, None, None)
    assert models["acme/search-chat"] == ("token", "paid", Decimal(1), Decimal(1), None, None)
    assert models["acme/router"] == ("token", "variable", None, None, None, None)

    assert _prices(pg, "acme/transcribe-1") == [("Audio Minutes", "", "minute", Decimal("0.006"), None)]
    assert _prices(pg, "acme/voice-1") == [("Characters", "", "million characters", Decimal(15), None)]
    assert _prices(pg, "acme/video-1") == [
        ("Video Generation", "", "second", Decimal("0.1"), None),
        ("Video Generation", "tier 1080p", "second", Decimal("0.15"), None),
        ("Video Generation", "tier 720p", "second", Decimal("0.1"), None),
    ]
    long_context = {(c, cond): (u, p, pm) for c, cond, u, p, pm in _prices(pg, "acme/long-context-pro")}
    assert long_context[("input_cache_write_1h", "")] == ("token", Decimal("0.0000004"), Decimal("0.4"))
    assert long_context[("prompt", "override 1: prompt > 200000 tokens")] == ("token", Decimal("0.000004"), Decimal(4))
    assert len(long_context) == 9
    search = {c: (u, p) for c, _, u, p, _ in _prices(pg, "acme/search-chat")}
    assert search == {
        "prompt": ("token", Decimal("0.000001")),
        "completion": ("token", Decimal("0.000001")),
        "request": ("request", Decimal("0.005")),
        "web_search": ("search", Decimal("0.005")),
        "Web Search": ("request", Decimal("0.005")),
    }
    fields = pg.execute(
        "SELECT alias_target, knowledge_cutoff, reasoning->>'mandatory', is_moderated, per_request_limits "
        "FROM ai_models WHERE openrouter_id IN ('~acme/latest', 'acme/long-context-pro') "
        'ORDER BY openrouter_id COLLATE "C"'
    ).fetchall()
    assert fields == [
        (None, date(2026, 1, 31), "true", False, {"prompt_tokens": "1000000"}),
        ("acme/long-context-pro", None, None, True, None),
    ]


def test_the_cost_of_a_request(catalog_db, pg, pricing_2026):
    _sync(catalog_db, pricing_2026["data"])
    # Base prices up to 200,000 prompt tokens; the override's above (strictly), for the whole request.
    assert _cost(pg, "acme/long-context-pro", 200_000, 1_000) == Decimal("0.412")
    assert _cost(pg, "acme/long-context-pro", 200_001, 1_000) == Decimal("0.818004")
    # Cached prompt tokens at the cache-read price, of the tier in force.
    assert _cost(pg, "acme/long-context-pro", 1_000, 0, cached=400) == Decimal("0.00128")
    assert _cost(pg, "acme/long-context-pro", 300_000, 0, cached=100_000) == Decimal("0.84")
    # A per-request fee is part of the cost; a per-search fee is not (it depends on the searches).
    assert _cost(pg, "acme/search-chat", 1_000, 1_000) == Decimal("0.007")
    for model_id in ("acme/router", "acme/transcribe-1", "acme/video-1", "no/such-model"):
        assert _cost(pg, model_id, 1_000, 1_000) is None, model_id
    # Before the model was first seen there is no price to apply.
    assert _cost(pg, "acme/long-context-pro", 1_000, 1_000, at=datetime(2000, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("clock", "prompt_price", "completion_price"),
    [
        ("00:30", "0.00000025", "0.000004"),  # the wrapping 22:00–02:00 window, after midnight
        ("01:00", "0.00000025", "0.000002"),  # both windows: the later entry wins for prompt
        ("02:00", "0.0000005", "0.000002"),  # the wrapping window has ended (exclusive end)
        ("03:59", "0.0000005", "0.000002"),
        ("04:00", "0.000001", "0.000004"),  # outside both: the base prices
        ("21:59", "0.000001", "0.000004"),
        ("22:00", "0.00000025", "0.000004"),  # inclusive start, before midnight
        ("23:59", "0.00000025", "0.000004"),
    ],
)
def test_time_of_day_windows(catalog_db, pg, pricing_2026, clock, prompt_price, completion_price):
    models = [m for m in pricing_2026["data"] if m["id"] == "~acme/latest"]
    _sync(catalog_db, models, at=DAY1)
    hour, minute = map(int, clock.split(":"))
    at = datetime(2026, 8, 5, hour, minute, tzinfo=UTC)
    expected = 1000 * Decimal(prompt_price) + 1000 * Decimal(completion_price)
    assert _cost(pg, "~acme/latest", 1000, 1000, at=at) == expected


def test_each_component_is_dated(catalog_db, pg, pricing_2026):
    """A changed cache price and a changed tier close their periods; the cost at each time uses its prices."""
    _sync(catalog_db, pricing_2026["data"], at=DAY1)
    changed = copy.deepcopy(pricing_2026["data"])
    long_context = next(m for m in changed if m["id"] == "acme/long-context-pro")
    long_context["pricing"]["input_cache_read"] = "0.0000001"
    long_context["pricing"]["overrides"][0]["prompt"] = "0.000005"
    video = next(m for m in changed if m["id"] == "acme/video-1")
    video["pricing"]["units"][0]["tiers"][1]["price"] = 0.2
    outcome = _sync(catalog_db, changed, at=DAY2)
    assert (outcome.price_rows_closed, outcome.price_rows_opened) == (3, 3)

    # Cached prompt tokens at the old cache-read price, then the new one; the tier likewise.
    assert _cost(pg, "acme/long-context-pro", 1_000, 0, cached=1_000, at=BETWEEN) == Decimal("0.0002")
    assert _cost(pg, "acme/long-context-pro", 1_000, 0, cached=1_000, at=AFTER) == Decimal("0.0001")
    assert _cost(pg, "acme/long-context-pro", 300_000, 0, at=BETWEEN) == Decimal("1.2")
    assert _cost(pg, "acme/long-context-pro", 300_000, 0, at=AFTER) == Decimal("1.5")
    cache_read = pg.execute(
        "SELECT price_per_million FROM ai_model_prices WHERE openrouter_id = 'acme/long-context-pro' "
        "AND component = 'input_cache_read' AND condition = '' AND valid_from <= %s "
        "AND (valid_to IS NULL OR valid_to > %s)",
        (BETWEEN, BETWEEN),
    ).fetchone()
    assert cache_read == (Decimal("0.2"),)
    tiers = pg.execute(
        "SELECT price, valid_from, valid_to FROM ai_model_prices WHERE openrouter_id = 'acme/video-1' "
        "AND condition = 'tier 1080p' ORDER BY valid_from"
    ).fetchall()
    assert tiers == [(Decimal("0.15"), DAY1, DAY2), (Decimal("0.2"), DAY2, None)]
    # An unchanged re-sync opens and closes nothing.
    again = _sync(catalog_db, changed)
    assert (again.price_rows_closed, again.price_rows_opened) == (0, 0)


def test_a_model_that_leaves_closes_its_prices_and_opens_them_again_on_return(catalog_db, pg, pricing_2026):
    _sync(catalog_db, pricing_2026["data"], at=DAY1)
    _sync(catalog_db, [m for m in pricing_2026["data"] if m["id"] != "acme/video-1"], at=DAY2)
    assert _prices(pg, "acme/video-1", AFTER) == []
    assert len(_prices(pg, "acme/video-1", BETWEEN)) == 3
    _sync(catalog_db, pricing_2026["data"], at=DAY2 + timedelta(days=1))
    assert len(_prices(pg, "acme/video-1", DAY2 + timedelta(days=2))) == 3


price_text = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.001"), places=12, allow_nan=False).map(
    lambda d: format(d, "f")
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prompt=price_text,
    completion=price_text,
    cache_read=st.none() | price_text,
    tokens=st.tuples(st.integers(0, 2_000_000), st.integers(0, 2_000_000), st.integers(0, 2_000_000)),
)
def test_the_cost_function_is_the_arithmetic(catalog_db, pg, prompt, completion, cache_read, tokens):
    """For any token prices and counts, ai_model_request_cost equals the same sum done with Decimal."""
    prompt_tokens, completion_tokens, cached = tokens
    cached = min(cached, prompt_tokens)
    pricing = {"prompt": prompt, "completion": completion}
    if cache_read is not None:
        pricing["input_cache_read"] = cache_read
    _sync(catalog_db, [{"id": "gen/model", "pricing": pricing}])
    expected = (
        (prompt_tokens - cached) * Decimal(prompt)
        + cached * Decimal(cache_read if cache_read is not None else prompt)
        + completion_tokens * Decimal(completion)
    )
    assert _cost(pg, "gen/model", prompt_tokens, completion_tokens, cached) == expected


def test_bad_price_parts_are_set_aside_and_counted_and_the_rest_is_stored(catalog_db, pg, openrouter, pricing_2026):
    catalog = copy.deepcopy(pricing_2026)
    template = next(m for m in catalog["data"] if m["id"] == "acme/long-context-pro")
    odd = [
        {**copy.deepcopy(template), "id": "odd/new-key"},
        {**copy.deepcopy(template), "id": "odd/override-string"},
        {**copy.deepcopy(template), "id": "odd/override-no-threshold"},
        {**copy.deepcopy(template), "id": "odd/override-negative"},
        {**copy.deepcopy(template), "id": "odd/unit-without-price"},
    ]
    for model in odd:  # each its own model, with its own endpoints path (not the template's)
        model.pop("links", None)
    odd[0]["pricing"]["thinking_budget"] = "0.000001"
    odd[1]["pricing"]["overrides"] = ["cheaper at night"]
    odd[2]["pricing"]["overrides"] = [{"prompt": "0.000001"}]
    odd[3]["pricing"]["overrides"] = [{"min_prompt_tokens": -5, "prompt": "0.000001"}]
    odd[4]["pricing"]["units"] = [
        {"label": "Images", "unit": "/image"},
        {"label": "Video", "price": 0.1, "unit": "/second"},
    ]
    catalog["data"] += odd
    result = run_sync(catalog_db, openrouter.serve(catalog))
    assert result.success
    classified = materialization_metadata(result, "classified_models")
    assert classified["unknown_price_keys"] == {"thinking_budget": 1}
    assert classified["price_problems"] == 4
    problems = {p["id"]: p["problem"] for p in classified["field_problems"]}
    assert problems["odd/override-string"] == "override 1 is not an object"
    assert problems["odd/override-no-threshold"] == "override 1 has no condition"
    assert problems["odd/override-negative"].startswith("override 1 has a bad min_prompt_tokens")
    assert problems["odd/unit-without-price"] == "units entry 'Images' has no usable price"

    new_key = {c: u for c, _, u, _, _ in _prices(pg, "odd/new-key")}
    assert new_key["thinking_budget"] is None  # stored, with its unit unknown
    for model_id in ("odd/override-string", "odd/override-no-threshold", "odd/override-negative"):
        stored = _prices(pg, model_id)
        assert len(stored) == 6 and all(cond == "" for _, cond, _, _, _ in stored), model_id
    assert ("Video", "", "second", Decimal("0.1"), None) in _prices(pg, "odd/unit-without-price")
    assert _cost(pg, "odd/override-string", 300_000, 0) == Decimal("0.6")


# --- checks -------------------------------------------------------------------------------------------


def test_prices_sane_judges_each_unit_by_its_own_bounds(catalog_db, openrouter, pricing_2026):
    result = run_sync(catalog_db, openrouter.serve(pricing_2026))
    assert check_results(result)["prices_sane"].passed
    wrong = copy.deepcopy(pricing_2026)
    by_id = {m["id"]: m for m in wrong["data"]}
    by_id["acme/transcribe-1"]["pricing"]["units"][0]["price"] = 45  # $45 a minute: a unit mix-up
    by_id["acme/transcribe-1"]["pricing"]["prompt"] = "45"
    by_id["acme/long-context-pro"]["pricing"]["input_cache_write_1h"] = "0.04"  # $40,000 per million tokens
    check = check_results(run_sync(catalog_db, openrouter.serve(wrong)))["prices_sane"]
    assert not check.passed
    assert check.severity.value == "WARN"
    assert [(o["id"], o["component"]) for o in check.metadata["offending"].value] == [
        ("acme/long-context-pro", "input_cache_write_1h"),
        ("acme/transcribe-1", "Audio Minutes"),
    ]
    assert "above $10 per minute" in check.metadata["failures"].value


def test_price_moves_names_tenfold_moves_zero_crossings_and_shrunk_contexts(catalog_db, openrouter, pricing_2026):
    first = run_sync(catalog_db, openrouter.serve(pricing_2026))
    assert check_results(first)["price_moves"].passed
    moved = copy.deepcopy(pricing_2026)
    by_id = {m["id"]: m for m in moved["data"]}
    by_id["acme/long-context-pro"]["pricing"]["prompt"] = "0.00002"  # 10×
    by_id["acme/search-chat"]["pricing"]["completion"] = "0"  # crossed zero
    by_id["~acme/latest"]["context_length"] = 200000  # shrank
    by_id["acme/voice-1"]["pricing"]["units"][0]["price"] = 3e-05  # a unit price: not a token price move
    result = run_sync(catalog_db, openrouter.serve(moved))
    check = check_results(result)["price_moves"]
    assert not check.passed
    assert check.metadata["moved"].value == ["acme/long-context-pro", "acme/search-chat", "~acme/latest"]
    table = check.metadata["failures"].value
    assert "| acme/long-context-pro | input $/M | 2 → 20 |" in table
    assert "| acme/search-chat | output $/M | 1 → 0 |" in table
    assert "| ~acme/latest | context | 1048576 → 200000 |" in table


def test_curated_models_expiring(catalog_db, pg, openrouter, pricing_2026):
    assert check_results(run_sync(catalog_db, openrouter.serve(pricing_2026)))["curated_models_expiring"].passed
    pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id IN ('acme/voice-1', 'acme/video-1')")
    dated = copy.deepcopy(pricing_2026)
    by_id = {m["id"]: m for m in dated["data"]}
    soon = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    by_id["acme/voice-1"]["expiration_date"] = soon
    by_id["acme/video-1"]["expiration_date"] = (datetime.now(UTC).date() + timedelta(days=60)).isoformat()
    by_id["acme/router"]["expiration_date"] = soon  # expires soon, but nobody curated it
    result = run_sync(catalog_db, openrouter.serve(dated))
    check = check_results(result)["curated_models_expiring"]
    assert not check.passed
    assert check.metadata["expiring"].value == [{"id": "acme/voice-1", "expiration_date": soon}]
    report = materialization_metadata(result, "ai_models_table")["change_report"]
    assert "Newly given an expiration date (3)" in report and f"`acme/voice-1`: {soon}" in report


# --- the real fixtures -------------------------------------------------------------------------------


@pytest.mark.real_data
def test_real_2026_06_24_prices(real_catalog, catalog_db, pg, openrouter):
    catalog = real_catalog("2026-06-24")
    result = run_sync(catalog_db, openrouter.serve(catalog))
    assert result.success
    assert check_results(result)["prices_sane"].passed

    def model(model_id):
        return pg.execute(
            "SELECT billing_unit, pricing_kind, input_cost_per_million, output_cost_per_million, "
            "cache_read_cost_per_million, cache_write_cost_per_million FROM ai_models WHERE openrouter_id = %s",
            (model_id,),
        ).fetchone()

    # Transcription at $0.04 per audio hour, not $40,000 per million tokens.
    assert model("openai/whisper-large-v3-turbo") == ("hour", "paid", None, None, None, None)
    assert _prices(pg, "openai/whisper-large-v3-turbo") == [("Audio Hours", "", "hour", Decimal("0.04"), None)]
    assert model("google/chirp-3")[:3] == ("minute", "paid", None)
    # Speech at $22 per million characters.
    assert model("microsoft/mai-voice-2")[:3] == ("million characters", "paid", None)
    assert _prices(pg, "microsoft/mai-voice-2") == [("Characters", "", "million characters", Decimal(22), None)]
    # Video per second, one row per resolution tier.
    assert model("alibaba/happyhorse-1.1")[:3] == ("second", "paid", None)
    assert _prices(pg, "alibaba/happyhorse-1.1") == [
        ("Video Generation", "", "second", Decimal("0.0988"), None),
        ("Video Generation", "tier 1080p", "second", Decimal("0.1278"), None),
        ("Video Generation", "tier 720p", "second", Decimal("0.0988"), None),
    ]
    # An image model per megapixel; a rerank model per search.
    assert _prices(pg, "black-forest-labs/flux.2-klein-4b") == [
        ("Output Image", "", "megapixel", Decimal("0.014"), None)
    ]
    assert model("cohere/rerank-4-pro")[:3] == ("search", "paid", None)
    assert _prices(pg, "cohere/rerank-4-pro") == [("Search units", "", "search", Decimal("0.0025"), None)]
    # Sonar keeps its token prices beside its per-search fee.
    assert model("perplexity/sonar") == ("token", "paid", Decimal(1), Decimal(1), None, None)
    sonar = {c: (u, p) for c, _, u, p, _ in _prices(pg, "perplexity/sonar")}
    assert sonar["web_search"] == ("search", Decimal("0.005")) and sonar["Web Search"] == ("request", Decimal("0.005"))
    # A Gemini model with cache read, cache write, image, audio and reasoning prices.
    assert model("google/gemini-3-pro-image") == (
        "token",
        "paid",
        Decimal(2),
        Decimal(12),
        Decimal("0.2"),
        Decimal("0.375"),
    )
    gemini = {c: (u, p, pm) for c, _, u, p, pm in _prices(pg, "google/gemini-3-pro-image")}
    # 2026's `image` equals the prompt price: a price per image token, not a $0.000002 image.
    assert gemini["image"] == ("token", Decimal("0.000002"), Decimal(2))
    assert gemini["audio"] == ("token", Decimal("0.000002"), Decimal(2))
    assert gemini["internal_reasoning"] == ("token", Decimal("0.000012"), Decimal(12))
    # No model is both unit-billed and given token prices.
    assert pg.execute(
        "SELECT count(*) FROM ai_models WHERE billing_unit <> 'token' AND input_cost_per_million IS NOT NULL"
    ).fetchone() == (0,)


@pytest.mark.real_data
def test_real_2026_08_22_tiers_cache_ttls_and_routers(real_catalog, catalog_db, pg, openrouter):
    result = run_sync(catalog_db, openrouter.serve(real_catalog("2026-08-22")))
    assert result.success
    assert check_results(result)["prices_sane"].passed
    tier = {
        c: (p, pm)
        for c, cond, _, p, pm in _prices(pg, "~google/gemini-pro-latest")
        if cond == "override 1: prompt > 200000 tokens"
    }
    assert tier == {
        "prompt": (Decimal("0.000004"), Decimal(4)),
        "completion": (Decimal("0.000018"), Decimal(18)),
        "audio": (Decimal("0.000004"), Decimal(4)),
        "input_audio_cache": (Decimal("0.0000004"), Decimal("0.4")),
        "input_cache_read": (Decimal("0.0000004"), Decimal("0.4")),
    }
    # By hand: 200,000 × $0.000002 + 1,000 × $0.000012; above 200,000, every token at the tier's prices.
    assert _cost(pg, "~google/gemini-pro-latest", 200_000, 1_000) == Decimal("0.412")
    assert _cost(pg, "~google/gemini-pro-latest", 200_001, 1_000) == Decimal("0.818004")
    opus = {c: pm for c, cond, _, _, pm in _prices(pg, "anthropic/claude-opus-5") if not cond}
    assert (opus["input_cache_write"], opus["input_cache_write_1h"], opus["input_cache_read"]) == (
        Decimal("6.25"),
        Decimal(10),
        Decimal("0.5"),
    )
    # Google's published $120 per million image-output tokens and OpenAI's $64 per million audio output tokens.
    image_output = {c: (u, pm) for c, cond, u, _, pm in _prices(pg, "google/gemini-3-pro-image") if not cond}
    assert image_output["image_output"] == ("token", Decimal(120))
    audio_output = {c: (u, pm) for c, cond, u, _, pm in _prices(pg, "openai/gpt-audio") if not cond}
    assert audio_output["audio_output"] == ("token", Decimal(64))
    router = pg.execute(
        "SELECT pricing_kind, input_cost_per_million FROM ai_models WHERE openrouter_id = 'openrouter/auto-beta'"
    ).fetchone()
    assert router == ("variable", None)
    # "-1" is the router's marker, not a price: no table stores it.
    assert _prices(pg, "openrouter/auto-beta") == []
    assert pg.execute("SELECT count(*) FROM ai_model_prices WHERE price < 0").fetchone() == (0,)
    assert _cost(pg, "openrouter/auto-beta", 1000, 1000) is None
    alias = pg.execute(
        "SELECT alias_target, reasoning->'supported_efforts' FROM ai_models "
        "WHERE openrouter_id = '~google/gemini-pro-latest'"
    ).fetchone()
    assert alias == ("google/gemini-3.1-pro-preview", ["high", "medium", "low"])


@pytest.mark.real_data
def test_a_time_window_on_a_real_model(real_catalog, catalog_db, pg):
    """A copy of the real fixture, given an off-peak window across midnight (23:30–06:00 UTC) at half price."""
    catalog = real_catalog("2026-08-22")
    opus = next(m for m in catalog["data"] if m["id"] == "anthropic/claude-opus-5")
    opus["pricing"]["overrides"] = [
        {"utc_start": 2330, "utc_end": 600, "prompt": "0.0000025", "completion": "0.0000125"}
    ]
    _sync(catalog_db, catalog["data"], at=DAY1)
    day = datetime(2026, 8, 10, tzinfo=UTC)
    full, half = Decimal("0.005") + Decimal("0.025"), Decimal("0.0025") + Decimal("0.0125")
    for clock, expected in (
        ("12:00", full),
        ("23:29", full),
        ("23:30", half),
        ("00:00", half),
        ("05:59", half),
        ("06:00", full),
    ):
        at = day.replace(hour=int(clock[:2]), minute=int(clock[3:]))
        assert _cost(pg, "anthropic/claude-opus-5", 1000, 1000, at=at) == expected, clock
