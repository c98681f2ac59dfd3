"""Full syncs of the four real OpenRouter responses (CATALOG_FIXTURES_DIR), through a real HTTP server."""

from decimal import Decimal

import pytest
from conftest import REAL_FIXTURES, active_by_modality, check_results, embeddings_listing, run_sync

pytestmark = pytest.mark.real_data

# Derived by hand from each file's architecture.modality strings (see the fixtures README):
# 2024-11-10: "text->text" 161, "text+image->text" 33.
# 2025-04-23: "text->text" 217, "text+image->text" 85 (file inputs do not count as multimodal).
# 2026-02-27: outputs text 335 / image+text 6 / audio+text 3; of the text outputs, 126 take image, audio or video.
# 2026-06-24: image 25 + image+text 8; video 16; speech 9 + audio+text 4; embeddings 26 + rerank 4; of the
#             text outputs 156 take image/audio/video, plus 10 audio->transcription models.
# 2026-08-22: claude-opus-5 and ~gemini-pro-latest take images (multimodal); gemini-3-pro-image and the router
#             openrouter/auto-beta output images; gpt-audio outputs audio; sonar-deep-research is text.
EXPECTED = {
    "2024-11-10": {"text": 161, "multimodal": 33},
    "2025-04-23": {"text": 217, "multimodal": 85},
    "2026-02-27": {"text": 209, "multimodal": 126, "image": 6, "audio": 3},
    "2026-06-24": {"text": 166, "multimodal": 166, "image": 33, "video": 16, "audio": 13, "embedding": 30},
    "2026-08-22": {"text": 1, "multimodal": 2, "image": 2, "audio": 1},
}


@pytest.mark.parametrize("date", sorted(REAL_FIXTURES))
def test_full_sync_of_each_real_catalog(date, real_catalog, catalog_db, pg, openrouter):
    catalog = real_catalog(date)
    base = openrouter.serve(catalog, embeddings_listing(catalog))
    result = run_sync(catalog_db, base)
    assert result.success

    unique_ids = {m["id"] for m in catalog["data"]}
    assert pg.execute("SELECT count(*) FROM ai_models WHERE is_active").fetchone()[0] == len(unique_ids)
    assert active_by_modality(pg) == EXPECTED[date]
    assert sum(EXPECTED[date].values()) == len(unique_ids)
    checks = check_results(result)
    assert checks["modality_counts"].passed and checks["curated_rows_survive"].passed
    # Every price judged in its own unit: no real catalog warns.
    assert checks["prices_sane"].passed, checks["prices_sane"].metadata["failures"].value


def test_named_real_models_have_exact_values(real_catalog, catalog_db, pg, openrouter):
    catalog = real_catalog("2026-06-24")
    assert run_sync(catalog_db, openrouter.serve(catalog, embeddings_listing(catalog))).success
    gpt4o = pg.execute(
        "SELECT input_cost_per_million, output_cost_per_million, pricing_kind, modality, provider, "
        "capabilities->>'tool_calling', capabilities->>'vision' FROM ai_models WHERE openrouter_id = 'openai/gpt-4o'"
    ).fetchone()
    assert gpt4o == (Decimal("2.5"), Decimal("10"), "paid", "multimodal", "OpenAI", "true", "true")

    # An image model priced only per image (0/0 token prices, $0.13 per 1024px image) is paid, not free, and has
    # no token prices.
    riverflow = pg.execute(
        "SELECT pricing_kind, billing_unit, input_cost_per_million, output_cost_per_million, modality, "
        "pricing->'units'->0->>'unit' FROM ai_models WHERE openrouter_id = 'sourceful/riverflow-v2.5-pro'"
    ).fetchone()
    assert riverflow == ("paid", "image", None, None, "image", "/image")

    # Video models report context_length 0: stored as NULL.
    veo = pg.execute("SELECT context_length, modality FROM ai_models WHERE openrouter_id = 'google/veo-3.1'").fetchone()
    assert veo == (None, "video")


def test_routers_are_variable_priced_with_null_costs(real_catalog, catalog_db, pg, openrouter):
    catalog = real_catalog("2026-02-27")
    assert run_sync(catalog_db, openrouter.serve(catalog)).success
    rows = pg.execute(
        "SELECT openrouter_id, pricing_kind, input_cost_per_million, output_cost_per_million "
        "FROM ai_models WHERE pricing_kind = 'variable' ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("openrouter/auto", "variable", None, None),
        ("openrouter/bodybuilder", "variable", None, None),
    ]


def test_curation_survives_a_real_catalog_changing(real_catalog, catalog_db, pg, openrouter):
    catalog = real_catalog("2026-02-27")
    assert run_sync(catalog_db, openrouter.serve(catalog)).success
    pg.execute(
        "UPDATE ai_models SET is_curated = true WHERE openrouter_id LIKE 'anthropic/claude-%' "
        "OR openrouter_id LIKE 'openai/gpt-4o%'"
    )
    curated = {r[0] for r in pg.execute("SELECT openrouter_id FROM ai_models WHERE is_curated")}
    assert len(curated) > 5
    dropped = sorted(curated)[0]

    changed = real_catalog("2026-02-27")
    changed["data"] = [m for m in changed["data"] if m["id"] != dropped]
    for model in changed["data"]:
        if model["id"] in curated:
            model["pricing"]["prompt"] = str(Decimal(model["pricing"]["prompt"]) * 2)
    assert run_sync(catalog_db, openrouter.serve(changed)).success
    assert {r[0] for r in pg.execute("SELECT openrouter_id FROM ai_models WHERE is_curated")} == curated
    assert pg.execute("SELECT is_active FROM ai_models WHERE openrouter_id = %s", (dropped,)).fetchone()[0] is False

    assert run_sync(catalog_db, openrouter.serve(real_catalog("2026-02-27"))).success
    assert {r[0] for r in pg.execute("SELECT openrouter_id FROM ai_models WHERE is_curated AND is_active")} == curated
