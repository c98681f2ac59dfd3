"""Asset check verdicts, asserted on .passed and .metadata, and the write's own curated-set guard."""

import copy
from datetime import UTC, datetime

from conftest import run_sync, table_snapshot

from catalog_pipeline.catalog_store import SyncOutcome
from catalog_pipeline.checks_logic import curated_survival_result, modality_counts_result, truncation_verdict

SIX = {"text": 3, "image": 1, "video": 0, "audio": 0, "embedding": 1, "multimodal": 2}


def _outcome(active: dict[str, int]) -> SyncOutcome:
    return SyncOutcome(
        synced_at=datetime.now(UTC), staged=0, total=7, inserted=0, updated=0, unchanged=7, deactivated=0,
        reactivated=0, curated_before=frozenset(), curated_after=frozenset(), active_by_modality=active,
        price_periods_opened=0,
    )  # fmt: skip


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
    assert total.metadata["expected_active (fetched - set aside)"].value == 9


def test_curated_survival_names_what_was_lost_and_gained():
    assert curated_survival_result(frozenset({"a/x", "b/y"}), frozenset({"a/x", "b/y"})).passed
    result = curated_survival_result(frozenset({"a/x", "b/y"}), frozenset({"a/x", "c/z"}))
    assert not result.passed
    assert (result.metadata["lost"].value, result.metadata["gained"].value) == (["b/y"], ["c/z"])
    assert (result.metadata["curated_before"].value, result.metadata["curated_after"].value) == (2, 2)


def test_truncation_verdicts():
    active = {"text": 100, "image": 10, "video": 4}
    ok, details = truncation_verdict({"text": 90, "image": 9, "video": 0}, active, min_share=0.5)
    assert ok and details["vanished_modalities"] == []  # video had fewer than 5 active rows
    ok, details = truncation_verdict({"text": 40, "image": 9, "video": 4}, active, min_share=0.5)
    assert not ok and details["share"] == round(53 / 114, 4)
    ok, details = truncation_verdict({"text": 110, "image": 0, "video": 4}, active, min_share=0.5)
    assert not ok and details["vanished_modalities"] == ["image"]
    assert truncation_verdict({"text": 1}, {}, min_share=0.5)[0]  # the first sync into an empty table


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
