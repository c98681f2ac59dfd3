"""The sync job end to end on the hand-written catalog: real HTTP server, real Postgres."""

import copy
import os
import time
from decimal import Decimal
from pathlib import Path

from conftest import (
    active_by_modality,
    check_results,
    materialization_metadata,
    reset_schema,
    run_log_lines,
    run_sync,
    table_snapshot,
)
from dagster import AssetKey, DagsterInstance

from catalog_pipeline.definitions import build_defs
from catalog_pipeline.resources.openrouter import OpenRouterClient

HANDWRITTEN_COUNTS = {"text": 10, "image": 2, "video": 1, "audio": 2, "embedding": 4, "multimodal": 5}


def _sync(catalog_db, openrouter, catalog, embeddings=None, **kwargs):
    base = openrouter.serve(catalog, embeddings)
    result = run_sync(catalog_db, base, **kwargs)
    return result


def test_full_sync_writes_every_model_classified(
    catalog_db, pg, openrouter, handwritten_catalog, handwritten_embeddings
):
    result = _sync(catalog_db, openrouter, handwritten_catalog, handwritten_embeddings)
    assert result.success

    # 23 in the main listing + 1 embedding-only model; the embedding listed twice is stored once.
    assert pg.execute("SELECT count(*) FROM ai_models").fetchone()[0] == 24
    assert active_by_modality(pg) == HANDWRITTEN_COUNTS

    raw = materialization_metadata(result, "raw_openrouter_models")
    assert raw["fetched_count"] == 25  # both listings, the repeat included
    assert raw["source_url"].endswith("/api/v1/models?output_modalities=all")

    classified = materialization_metadata(result, "classified_models")
    assert classified["duplicate_ids_dropped"] == 1
    assert classified["modality_counts"] == HANDWRITTEN_COUNTS
    assert classified["unknown_output_modalities"] == {"transcription": 1}
    assert classified["set_aside_count"] == 0

    table = materialization_metadata(result, "ai_models_table")
    assert table["dagster/row_count"] == 24
    # The UI's column schema is the table's own, each column described by its SQL COMMENT.
    columns = {c.name: c.description for c in table["dagster/column_schema"].columns}
    assert {"openrouter_id", "modality", "is_curated", "input_cost_per_million"} <= set(columns)
    assert all(columns.values()), [name for name, text in columns.items() if not text]
    assert (table["inserted"], table["updated"], table["unchanged"], table["deactivated"]) == (24, 0, 0, 0)
    assert table["active/embedding"] == 4

    checks = check_results(result)
    assert checks["modality_counts"].passed
    assert checks["curated_rows_survive"].passed
    assert checks["catalog_not_truncated"].passed


def test_each_step_tells_the_operator_what_it_did(catalog_db, openrouter, handwritten_catalog, handwritten_embeddings):
    """One progress line per step, in the run's log: what was fetched, classified and written."""
    base = openrouter.serve(handwritten_catalog, handwritten_embeddings)
    with DagsterInstance.ephemeral() as instance:
        first = run_sync(catalog_db, base, instance=instance)
        second = run_sync(catalog_db, base, instance=instance)
        assert first.success and second.success
        lines = run_log_lines(instance, first)
        again = run_log_lines(instance, second)

    # The first step to reach the database migrates it (the database is tried before the API), and says so once.
    migrated = [line for step in lines.values() for line in step if line.startswith("applied migrations: ")]
    assert len(migrated) == 1 and not any(line.startswith("applied migrations") for s in again.values() for line in s)
    [fetched] = [line for line in lines["raw_openrouter_models"] if line not in migrated]
    assert fetched.startswith("fetched 25 model objects (")
    assert "/api/v1/models?output_modalities=all: 23" in fetched and "/api/v1/embeddings/models: 2" in fetched
    [classified] = lines["classified_models"]
    assert classified.startswith("classified 24 models; set aside 0; 1 repeated ids dropped; by modality {'text': 10, ")
    assert lines["ai_models_table"] == ["ai_models: 24 rows, 24 inserted, 0 updated, 0 unchanged, 0 deactivated"]
    assert again["ai_models_table"] == ["ai_models: 24 rows, 0 inserted, 0 updated, 24 unchanged, 0 deactivated"]


def test_stored_values_are_exact(catalog_db, pg, openrouter, handwritten_catalog):
    assert _sync(catalog_db, openrouter, handwritten_catalog).success
    row = pg.execute(
        """SELECT name, provider, provider_slug, modality, input_cost_per_million, output_cost_per_million,
                  pricing_kind, capabilities, supported_parameters, context_length, max_completion_tokens,
                  canonical_slug, hugging_face_id, openrouter_created_at, pricing
             FROM ai_models WHERE openrouter_id = 'openai/gpt-4o'"""
    ).fetchone()
    assert row[:7] == ("OpenAI: GPT-4o", "OpenAI", "openai", "multimodal", Decimal("2.5"), Decimal("10"), "paid")
    assert row[7] == {
        "vision": True,
        "web_search": True,
        "tool_calling": True,
        "reasoning": False,
        "structured_outputs": True,
    }
    assert "structured_outputs" in row[8]
    assert (row[9], row[10], row[11], row[12]) == (128000, 16384, "openai/gpt-4o-20260101", None)
    assert row[13].isoformat() == "2026-01-01T00:00:00+00:00"
    assert row[14] == {"prompt": "0.0000025", "completion": "0.00001"}

    noise = pg.execute(
        "SELECT input_cost_per_million FROM ai_models WHERE openrouter_id = 'qwen/qwen3-235b-a22b-thinking'"
    ).fetchone()[0]
    assert noise == Decimal("0.0100000002")

    router = pg.execute(
        "SELECT pricing_kind, input_cost_per_million, output_cost_per_million, pricing->>'image' "
        "FROM ai_models WHERE openrouter_id = 'openrouter/auto'"
    ).fetchone()
    assert router == ("variable", None, None, "-1")

    flux = pg.execute(
        "SELECT pricing_kind, billing_unit, input_cost_per_million, pricing->'units'->0->>'price' "
        "FROM ai_models WHERE openrouter_id = 'black-forest-labs/flux-pro'"
    ).fetchone()
    assert flux == ("paid", "image", None, "0.04")

    legacy = pg.execute(
        "SELECT context_length, instruct_type, provider, capabilities->'tool_calling' "
        "FROM ai_models WHERE openrouter_id = 'legacy/text-model'"
    ).fetchone()
    assert legacy == (None, None, "Legacy", None)


def test_resync_of_identical_data_updates_nothing(catalog_db, pg, openrouter, handwritten_catalog):
    assert _sync(catalog_db, openrouter, handwritten_catalog).success
    before = table_snapshot(pg)
    # A row version's xmin changes with any UPDATE, even one that writes identical values.
    versions_before = pg.execute("SELECT openrouter_id, xmin::text FROM ai_models ORDER BY 1").fetchall()

    result = _sync(catalog_db, openrouter, handwritten_catalog)
    assert result.success
    meta = materialization_metadata(result, "ai_models_table")
    assert (meta["inserted"], meta["updated"], meta["unchanged"]) == (0, 0, 23)
    assert pg.execute("SELECT openrouter_id, xmin::text FROM ai_models ORDER BY 1").fetchall() == versions_before
    assert table_snapshot(pg) == before
    runs = pg.execute("SELECT outcome, inserted, updated, unchanged FROM ai_model_sync_runs ORDER BY id").fetchall()
    assert runs == [("success", 23, 0, 0), ("success", 0, 0, 23)]


def test_curated_flags_survive_reprice_removal_and_return(catalog_db, pg, openrouter, handwritten_catalog):
    assert _sync(catalog_db, openrouter, handwritten_catalog).success
    curated = {"openai/gpt-4o", "anthropic/claude-3.5-sonnet", "x-ai/grok-4:online"}
    pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = ANY(%s)", (list(curated),))

    changed = copy.deepcopy(handwritten_catalog)
    changed["data"] = [m for m in changed["data"] if m["id"] != "anthropic/claude-3.5-sonnet"]
    for model in changed["data"]:
        if model["id"] == "openai/gpt-4o":
            model["pricing"]["prompt"] = "0.000002"
    result = _sync(catalog_db, openrouter, changed)
    assert result.success
    meta = materialization_metadata(result, "ai_models_table")
    assert (meta["deactivated"], meta["repriced"]) == (1, 1)
    assert "anthropic/claude-3.5-sonnet" in meta["change_report"]
    assert "$2.5 → $2" in meta["change_report"]
    state = dict(pg.execute("SELECT openrouter_id, is_active FROM ai_models WHERE is_curated").fetchall())
    assert state == {"openai/gpt-4o": True, "anthropic/claude-3.5-sonnet": False, "x-ai/grok-4:online": True}
    assert pg.execute(
        "SELECT removed_at IS NOT NULL FROM ai_models WHERE openrouter_id = 'anthropic/claude-3.5-sonnet'"
    ).fetchone()[0]
    assert pg.execute("SELECT count(*) FROM ai_models_curated").fetchone()[0] == 2

    result = _sync(catalog_db, openrouter, handwritten_catalog)
    assert result.success
    meta = materialization_metadata(result, "ai_models_table")
    assert meta["reactivated"] == 1
    rows = pg.execute(
        "SELECT openrouter_id, is_active, removed_at FROM ai_models WHERE is_curated ORDER BY 1"
    ).fetchall()
    assert rows == [(i, True, None) for i in sorted(curated)]
    assert pg.execute("SELECT input_cost_per_million FROM ai_models WHERE openrouter_id='openai/gpt-4o'").fetchone()[
        0
    ] == Decimal("2.5")
    assert check_results(result)["curated_rows_survive"].passed


def test_malformed_models_are_set_aside_and_the_rest_syncs(catalog_db, pg, openrouter, handwritten_catalog):
    bad = copy.deepcopy(handwritten_catalog)
    bad["data"] += [
        {"name": "no id at all"},
        {"id": "no-provider-part", "name": "x"},
        {"id": 42, "name": "numeric id"},
        "not even an object",
    ]
    result = _sync(catalog_db, openrouter, bad)
    assert result.success
    classified = materialization_metadata(result, "classified_models")
    assert classified["set_aside_count"] == 4
    assert "no provider part" in classified["set_aside"]
    assert pg.execute("SELECT count(*) FROM ai_models").fetchone()[0] == 23
    assert check_results(result)["modality_counts"].passed


def test_hand_edits_of_synced_columns_are_restored_by_the_next_sync(catalog_db, pg, openrouter, handwritten_catalog):
    # Unchanged rows are skipped by their digest; a hand edit forgets the digest (trigger), so it is re-checked.
    assert _sync(catalog_db, openrouter, handwritten_catalog).success
    pg.execute("UPDATE ai_models SET name = 'Hand edited', is_curated = true WHERE openrouter_id = 'openai/gpt-4o'")
    result = _sync(catalog_db, openrouter, handwritten_catalog)
    assert result.success
    meta = materialization_metadata(result, "ai_models_table")
    assert (meta["updated"], meta["unchanged"]) == (1, 22)
    assert pg.execute("SELECT name, is_curated FROM ai_models WHERE openrouter_id = 'openai/gpt-4o'").fetchone() == (
        "OpenAI: GPT-4o",
        True,
    )


def test_a_sync_can_be_replayed_from_its_raw_archive(catalog_db, pg, openrouter, handwritten_catalog, pg_url):
    projection = "SELECT openrouter_id, name, modality, input_cost_per_million, pricing, capabilities FROM ai_models"
    first = _sync(catalog_db, openrouter, handwritten_catalog)
    archive = materialization_metadata(first, "raw_openrouter_models")["raw_archive"]
    endpoints_archive = materialization_metadata(first, "raw_openrouter_endpoints")["raw_archive"]
    providers_archive = materialization_metadata(first, "raw_openrouter_providers")["raw_archive"]
    assert archive.endswith(".json.gz") and endpoints_archive.endswith("_endpoints.json.gz")
    synced = sorted(pg.execute(projection).fetchall())
    endpoints = "SELECT openrouter_id, tag, provider_name, input_cost_per_million FROM ai_model_endpoints"
    synced_endpoints = sorted(pg.execute(endpoints).fetchall())

    # Start from an empty database; the API now answers something else, and the replay must not ask it.
    reset_schema(pg_url)
    openrouter.serve({"data": []})
    replay = {
        "ops": {
            "raw_openrouter_models": {"config": {"replay_archive": archive}},
            "raw_openrouter_endpoints": {"config": {"replay_archive": endpoints_archive}},
            "raw_openrouter_providers": {"config": {"replay_archive": providers_archive}},
        }
    }
    result = run_sync(catalog_db, openrouter.base_url, run_config=replay)
    assert result.success
    assert not openrouter.server.log
    assert sorted(pg.execute(projection).fetchall()) == synced
    assert sorted(pg.execute(endpoints).fetchall()) == synced_endpoints
    assert len(synced) == 23 and len(synced_endpoints) > 23


def test_an_asset_materialized_alone_reads_its_upstreams_latest_materialization(
    catalog_db, pg, openrouter, handwritten_catalog
):
    base = openrouter.serve(handwritten_catalog)
    defs = build_defs(OpenRouterClient(base_url=base), catalog_db)
    with DagsterInstance.ephemeral() as instance:
        assert run_sync(catalog_db, base, instance=instance).success
        pg.execute("UPDATE ai_models SET name = 'edited by hand' WHERE openrouter_id = 'openai/gpt-4o'")
        # The UI's "Materialize" on one asset: the implicit asset job, in process, with its upstreams' values.
        job = defs.resolve_implicit_global_asset_job_def()
        alone = job.execute_in_process(instance=instance, asset_selection=[AssetKey("ai_models_table")])
        assert alone.success
        assert [e.asset_key.to_user_string() for e in alone.get_asset_materialization_events()] == ["ai_models_table"]
        assert any("steps in process" in (e.message or "") for e in alone.all_events)
    assert pg.execute("SELECT name FROM ai_models WHERE openrouter_id = 'openai/gpt-4o'").fetchone() == (
        "OpenAI: GPT-4o",
    )


def test_old_archives_and_step_values_are_pruned_but_never_the_replayed_one(
    catalog_db, openrouter, handwritten_catalog, isolated_state
):
    base = openrouter.serve(handwritten_catalog)
    with DagsterInstance.ephemeral() as instance:
        first = run_sync(catalog_db, base, instance=instance)
        archive = Path(materialization_metadata(first, "raw_openrouter_models")["raw_archive"])
        runs = Path(instance.storage_directory(), "runs")
        stale_run = runs / first.run_id
        old = time.time() - 100 * 86400
        os.utime(archive, (old, old))
        os.utime(stale_run, (old, old))
        replay = {"ops": {"raw_openrouter_models": {"config": {"replay_archive": str(archive)}}}}
        replayed = run_sync(catalog_db, base, run_config=replay, instance=instance)
        assert replayed.success
        assert archive.exists()  # being replayed: kept, old as it is
        assert not stale_run.exists()
        assert materialization_metadata(replayed, "raw_openrouter_models")["pruned_older_than_retention"] == 1
        fresh = run_sync(catalog_db, base, instance=instance)
        assert not archive.exists()  # old, and no longer being replayed
        assert (runs / fresh.run_id).exists() and (runs / replayed.run_id).exists()
        catalogs = [
            p for p in archive.parent.iterdir() if not p.name.endswith(("_endpoints.json.gz", "_providers.json.gz"))
        ]
        assert catalogs == [Path(materialization_metadata(fresh, "raw_openrouter_models")["raw_archive"])]
