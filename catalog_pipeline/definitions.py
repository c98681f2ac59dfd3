"""The code location: the assets and their checks, the sync job, its daily schedule, the alert sensors, resources."""

from __future__ import annotations

import os

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    EnvVar,
    ScheduleDefinition,
    define_asset_job,
    in_process_executor,
)

from catalog_pipeline.assets import catalog_assets, catalog_checks
from catalog_pipeline.ops import RunScopedPickleIOManager, alert_sensors, record_failed_run
from catalog_pipeline.resources import CatalogDatabase, OpenRouterClient
from catalog_pipeline.resources.openrouter import DEFAULT_BASE_URL
from catalog_pipeline.resources.webhook import AlertWebhook

sync_openrouter_models = define_asset_job(
    "sync_openrouter_models",
    selection=AssetSelection.assets(*catalog_assets),
    description="Fetch OpenRouter's catalog and endpoints, classify them and upsert them into Postgres.",
    hooks={record_failed_run},
    # What a person reads on the console: each step's own lines and every error, not Dagster's DEBUG events
    # (the UI keeps them all).
    config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
)

daily_sync_schedule = ScheduleDefinition(
    name="daily_openrouter_sync",
    job=sync_openrouter_models,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Sync the OpenRouter catalog every day at 03:00 UTC.",
)


def build_defs(
    openrouter: OpenRouterClient,
    catalog_db: CatalogDatabase,
    alert_webhook: AlertWebhook | None = None,
    changes_webhook: AlertWebhook | None = None,
) -> Definitions:
    """The code location around the given resources (tests pass a local API and a scratch database)."""
    return Definitions(
        assets=catalog_assets,
        asset_checks=catalog_checks,
        jobs=[sync_openrouter_models],
        schedules=[daily_sync_schedule],
        sensors=alert_sensors,
        resources={
            "openrouter": openrouter,
            "catalog_db": catalog_db,
            "alert_webhook": alert_webhook or AlertWebhook(),
            "changes_webhook": changes_webhook or AlertWebhook(),
            "io_manager": RunScopedPickleIOManager(),
        },
        # A linear sync gains nothing from a process per step: every run of these assets, the UI's
        # "Materialize all" included, runs in one process.
        executor=in_process_executor,
    )


def _env(name: str, default: str | None) -> EnvVar | str | None:
    """EnvVar(name) when it is set (resolved at run time, never logged), else the default."""
    return EnvVar(name) if os.environ.get(name) else default


defs = build_defs(
    OpenRouterClient(base_url=_env("OPENROUTER_BASE_URL", DEFAULT_BASE_URL), api_key=_env("OPENROUTER_API_KEY", None)),
    CatalogDatabase(url=_env("DATABASE_URL", None)),
    AlertWebhook(url=_env("CATALOG_ALERT_WEBHOOK_URL", None), ui_url=_env("CATALOG_UI_URL", "http://127.0.0.1:3000")),
    AlertWebhook(url=_env("CATALOG_CHANGES_WEBHOOK_URL", None), ui_url=_env("CATALOG_UI_URL", "http://127.0.0.1:3000")),
)
