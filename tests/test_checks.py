"""Asset check verdicts, asserted on .passed and .metadata, and the write's own curated-set guard."""

import copy
import threading
from datetime import UTC, datetime

import psycopg
from conftest import check_results, run_sync, table_snapshot, wait_for

from catalog_pipeline.assets.checks import curated_survival_result, modality_counts_result, truncation_verdict
from catalog_pipeline.db.models import ModelsOutcome, write_catalog
from catalog_pipeline.rules.models import classify_catalog

SIX = {"text": 3, "image": 1, "video": 0, "audio": 0, "embedding": 1, "multimodal": 2}


def _outcome(active: dict[str, int]) -> ModelsOutcome:
    return ModelsOutcome("ai_models", datetime.now(UTC), total=7, active_by_modality=active)


def test_modality_counts_pass_when_database_matches_classification():
    result = modality_counts_result(_outcome(SIX), SIX, expected_active=7)
    assert result.passed
    assert result.metadata["mismatched"].value == {}
    assert result.metadata["active_total"].value == 7


def test_modality_counts_fail_on_mismatch_unknown_modality_or_total():
    mismatch = modality_counts_result(_outcome({**SIX, "text": 2}), SIX, expected_active=7)
    assert not mismatch.passed
    assert mismatch.metadata["mismatched"].value == {"text": {"database": 2, "classified": 3}}

    unknown = modality_counts_result(_outcome({**SIX, "hologram": 1}), SIX, expected_active=8)
    assert not unknown.passed
    assert unknown.metadata["invalid_modalities"].value == {"hologram": 1}

    total = modality_counts_result(_outcome(SIX), SIX, expected_active=9)
    assert not total.passed
    assert total.metadata["expected_active"].value == 9


def test_curated_survival_names_what_was_lost_and_gained():
    assert curated_survival_result(frozenset({"a/x", "b/y"}), frozenset({"a/x", "b/y"})).passed
    result = curated_survival_result(frozenset({"a/x", "b/y"}), frozenset({"a/x", "c/z"}))
    assert not result.passed
    assert (result.metadata["lost"].value, result.metadata["gained"].value) == (["b/y"], ["c/z"])
    assert (result.metadata["curated_before"].value, result.metadata["curated_after"].value) == (2, 2)


def test_truncation_verdicts():
    active = {"text": 100, "image": 10, "video": 4}
    ok, details, _ = truncation_verdict({"text": 90, "image": 9, "video": 0}, active, 15, min_share=0.5)
    assert ok and details["vanished_modalities"] == []  # video had fewer than 5 active rows
    ok, details, _ = truncation_verdict({"text": 40, "image": 9, "video": 4}, active, 61, min_share=0.5)
    assert not ok and details["share"] == round(53 / 114, 4)
    ok, details, _ = truncation_verdict({"text": 110, "image": 0, "video": 4}, active, 10, min_share=0.5)
    assert not ok and details["vanished_modalities"] == ["image"]
    # Every id changed (re-cased, say): the counts are the same, but nearly all active ids would go.
    ok, details, _ = truncation_verdict({"text": 100, "image": 10, "video": 4}, active, 114, min_share=0.5)
    assert not ok and details["active_ids_vanishing"] == 114
    assert truncation_verdict({"text": 1}, {}, 0, min_share=0.5)[0]  # the first sync into an empty table


def test_the_write_refuses_to_commit_when_curated_flags_change(catalog_db, pg, openrouter, handwritten_catalog):
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success
    pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = 'openai/gpt-4o'")
    # Simulate a bug elsewhere (a trigger, a mis-written statement) that clears the flag when a row is written.
    pg.execute(
        """CREATE FUNCTION clear_curated() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN NEW.is_curated := false; RETURN NEW; END $$"""
    )
    pg.execute("CREATE TRIGGER clear_curated BEFORE UPDATE ON ai_models FOR EACH ROW EXECUTE FUNCTION clear_curated()")
    before = table_snapshot(pg)
    changed = copy.deepcopy(handwritten_catalog)
    next(m for m in changed["data"] if m["id"] == "openai/gpt-4o")["pricing"]["prompt"] = "0.000001"

    result = run_sync(catalog_db, openrouter.serve(changed))
    assert not result.success
    assert table_snapshot(pg) == before
    failed = pg.execute("SELECT outcome, error FROM ai_model_sync_runs ORDER BY id DESC LIMIT 1").fetchone()
    assert failed[0] == "failed"
    assert "curated ids changed during the sync (lost ['openai/gpt-4o']" in failed[1]
    # The guard is the check: it is reported failed, with the id it would have lost, in the run's events.
    check = check_results(result)["curated_rows_survive"]
    assert not check.passed
    assert check.metadata["lost"].value == ["openai/gpt-4o"]
    assert "openai/gpt-4o" in check.metadata["failures"].value


def test_a_person_flagging_a_model_during_a_sync_neither_fails_it_nor_is_lost(catalog_db, pg, handwritten_catalog):
    """The sync locks out other writers for its short transaction: a person's edit waits, then lands."""
    rows = classify_catalog(handwritten_catalog["data"]).rows
    with catalog_db.migrated() as conn:
        write_catalog(conn, rows)
    edit_done = threading.Event()
    with catalog_db.connect() as conn, conn.transaction():
        # Inside a sync's transaction, as far as its lock: a person's UPDATE now has to wait.
        conn.execute("LOCK TABLE ai_models IN SHARE ROW EXCLUSIVE MODE")

        def person():
            with psycopg.connect(catalog_db.url, autocommit=True) as other:
                other.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = 'openai/gpt-4o'")
            edit_done.set()

        editor = threading.Thread(target=person)
        editor.start()
        wait_for(pg, "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'ai_models'::regclass")
        assert not edit_done.is_set()
    editor.join(10)
    assert edit_done.is_set()
    # And a sync that starts while a person's edit transaction is open waits for it, then sees the flag.
    with psycopg.connect(catalog_db.url) as person:
        person.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = 'x-ai/grok-4:online'")
        outcomes = []
        sync = threading.Thread(target=lambda: outcomes.append(_write(catalog_db, rows)))
        sync.start()
        wait_for(pg, "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'ai_models'::regclass")
        person.commit()
    sync.join(30)
    [outcome] = outcomes
    assert outcome.curated_before == outcome.curated_after == {"openai/gpt-4o", "x-ai/grok-4:online"}


def _write(catalog_db, rows):
    with catalog_db.connect() as conn:
        return write_catalog(conn, rows)


def test_prices_sane_warns_about_a_price_too_low_for_its_unit(catalog_db, pg, openrouter, handwritten_catalog):
    catalog = copy.deepcopy(handwritten_catalog)
    model = next(m for m in catalog["data"] if m["id"] == "openai/gpt-4o")
    model["pricing"]["request"] = "0.0000001"  # a per-token figure read as a fee per request
    model["pricing"]["input_cache_read"] = "0.00000000001"  # $0.00001 per million tokens
    result = run_sync(catalog_db, openrouter.serve(catalog))
    check = check_results(result)["prices_sane"]
    assert not check.passed
    found = {(o["id"], o["component"], o["why"]) for o in check.metadata["offending"].value}
    assert found == {
        ("openai/gpt-4o", "request", "below $0.0005 per request"),
        ("openai/gpt-4o", "input_cache_read", "below $0.0002 per million tokens"),
    }


def test_benchmark_scores_plausible_names_an_index_over_100_and_a_negative_rank(
    catalog_db, pg, openrouter, handwritten_catalog
):
    catalog = copy.deepcopy(handwritten_catalog)
    odd = catalog["data"][0]
    odd["benchmarks"] = {
        "artificial_analysis": {"coding_index": 150, "intelligence_index": 61.5},
        "design_arena": [{"arena": "models", "category": "website", "elo": 1300, "win_rate": 55.5, "rank": -1}],
    }
    result = run_sync(catalog_db, openrouter.serve(catalog))
    assert result.success  # a WARN check never fails the run
    check = check_results(result)["benchmark_scores_plausible"]
    assert not check.passed
    offending = check.metadata["offending"].value
    assert offending == [
        {"id": odd["id"], "benchmark": "artificial_analysis/coding_index", "why": "index outside 0–100"},
        {"id": odd["id"], "benchmark": "design_arena/models/website", "why": "negative rank"},
    ]
