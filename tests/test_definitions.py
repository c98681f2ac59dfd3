"""The code location loads, and its job, schedule, checks and asset metadata are what operators expect."""

import gc
import json
import subprocess
import sys

import pytest
from dagster import AssetKey, DefaultScheduleStatus, Definitions

from catalog_pipeline.assets import ai_models_table, catalog_not_truncated, raw_openrouter_models
from catalog_pipeline.definitions import daily_sync_schedule, defs
from catalog_pipeline.gc_pause import cyclic_gc_paused

ASSETS = {"raw_openrouter_models", "classified_models", "ai_models_table"}


def test_definitions_load():
    Definitions.validate_loadable(defs)


def test_schedule_is_daily_at_three_utc_and_running():
    assert daily_sync_schedule.cron_schedule == "0 3 * * *"
    assert daily_sync_schedule.execution_timezone == "UTC"
    assert daily_sync_schedule.default_status == DefaultScheduleStatus.RUNNING
    assert daily_sync_schedule.job_name == "sync_openrouter_models"


def test_job_selects_the_three_assets_and_their_checks_in_process():
    job = defs.resolve_job_def("sync_openrouter_models")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == ASSETS
    checks = {key.name for key in job.asset_layer.asset_graph.asset_check_keys}
    assert checks == {"modality_counts", "curated_rows_survive", "catalog_not_truncated", "prices_sane"}
    assert job.executor_def.name == "in_process"


def test_assets_carry_descriptions_owners_kinds_and_table_metadata():
    graph = defs.resolve_asset_graph()
    kinds = {}
    for name in ASSETS:
        node = graph.get(AssetKey(name))
        assert node.description and "\n" not in node.description.strip()
        assert node.owners == ["team:data-platform"]
        assert node.group_name == "openrouter_catalog"
        kinds[name] = set(node.kinds)
    assert kinds == {
        "raw_openrouter_models": {"openrouter"},
        "classified_models": {"pandas"},
        "ai_models_table": {"postgres"},
    }
    table = graph.get(AssetKey("ai_models_table"))
    assert table.metadata["dagster/table_name"] == "ai_models"
    columns = {c.name for c in table.metadata["dagster/column_schema"].columns}
    assert {"openrouter_id", "modality", "is_curated", "input_cost_per_million"} <= columns
    assert table.freshness_policy is not None
    assert ai_models_table.op.pool == "catalog_db_write"
    assert raw_openrouter_models.op.retry_policy.max_retries == 2
    assert raw_openrouter_models.op.retry_policy.backoff.value == "EXPONENTIAL"
    guard = next(iter(catalog_not_truncated.check_specs))
    assert (guard.name, guard.asset_key, guard.blocking) == (
        "catalog_not_truncated",
        AssetKey("classified_models"),
        True,
    )


_COUNT_FULL_COLLECTIONS = """
import gc, json
import dagster
full = []
gc.callbacks.append(lambda phase, info: full.append(1) if phase == "stop" and info["generation"] == 2 else None)
import catalog_pipeline.definitions
print(json.dumps({"full_collections": len(full), "gc_enabled": gc.isenabled()}))
"""


def test_loading_the_code_location_sets_off_no_full_collection_and_leaves_the_gc_on():
    # A fresh process, as a run's: in this one the modules are long imported.
    done = subprocess.run([sys.executable, "-c", _COUNT_FULL_COLLECTIONS], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == {"full_collections": 0, "gc_enabled": True}


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_gc_pause_restores_the_collector_as_it_was_even_on_error(enabled_before):
    was = gc.isenabled()
    (gc.enable if enabled_before else gc.disable)()
    try:
        with pytest.raises(RuntimeError), cyclic_gc_paused():
            assert not gc.isenabled()
            raise RuntimeError("the body failed")
        assert gc.isenabled() is enabled_before
    finally:
        (gc.enable if was else gc.disable)()
