"""The code location loads, and its job, schedule, checks and asset metadata are what operators expect."""

from dagster import AssetKey, DefaultScheduleStatus, Definitions

from catalog_pipeline.assets import ai_models_table, catalog_not_truncated, raw_openrouter_models
from catalog_pipeline.definitions import daily_sync_schedule, defs

ASSETS = {
    "raw_openrouter_models",
    "classified_models",
    "ai_models_table",
    "raw_openrouter_endpoints",
    "ai_model_endpoints_table",
    "raw_openrouter_providers",
    "ai_providers_table",
    "catalog_changes",
}


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
    assert checks == {
        "modality_counts",
        "curated_rows_survive",
        "catalog_not_truncated",
        "prices_sane",
        "price_moves",
        "curated_models_expiring",
        "benchmark_scores_plausible",
        "endpoints_cover_catalog",
        "endpoint_prices_sane",
        "zero_data_retention_fresh",
        "endpoint_providers_known",
    }
    assert job.executor_def.name == "in_process"


def test_every_run_of_these_assets_is_in_process():
    """The UI's "Materialize all" launches the implicit asset job: it must not start a process per step."""
    assert defs.resolve_implicit_global_asset_job_def().executor_def.name == "in_process"


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
        "raw_openrouter_endpoints": {"openrouter"},
        "ai_model_endpoints_table": {"postgres"},
        "raw_openrouter_providers": {"openrouter"},
        "ai_providers_table": {"postgres"},
        "catalog_changes": {"postgres"},
    }
    table = graph.get(AssetKey("ai_models_table"))
    assert table.metadata["dagster/table_name"] == "ai_models"
    assert table.freshness_policy is not None
    assert ai_models_table.op.pool == "catalog_db_write"
    # One retry policy, the HTTP client's: the fetch step itself is not retried on top of it.
    assert raw_openrouter_models.op.retry_policy is None
    guard = next(iter(catalog_not_truncated.check_specs))
    assert (guard.name, guard.asset_key, guard.blocking) == (
        "catalog_not_truncated",
        AssetKey("classified_models"),
        True,
    )
