"""Who serves the models: OpenRouter's providers and the endpoints that keep no data, written to ai_providers."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from catalog_pipeline.assets.models import GROUP, OWNERS, database_reachable, table_metadata
from catalog_pipeline.assets.reports import SHOWN
from catalog_pipeline.db.providers import write_providers
from catalog_pipeline.db.sync import active_rows
from catalog_pipeline.raw_archive import archive_providers, load_providers_archive
from catalog_pipeline.resources.openrouter import PROVIDERS_PATH, ZERO_RETENTION_PATH, OpenRouterClient
from catalog_pipeline.resources.postgres import CatalogDatabase
from catalog_pipeline.rules.providers import ListingRejected, classify_providers, listing


class ProvidersFetchConfig(Config):
    """Where the providers come from: OpenRouter, or an earlier run's archive."""

    replay_archive: str | None = Field(default=None, description="A providers archive (.json.gz) to replay.")


@asset(group_name=GROUP, owners=OWNERS, kinds={"openrouter"})
def raw_openrouter_providers(
    context: AssetExecutionContext,
    config: ProvidersFetchConfig,
    openrouter: OpenRouterClient,
    catalog_db: CatalogDatabase,
) -> MaterializeResult:
    """OpenRouter's providers and its zero-data-retention endpoints, as answered; a failure of either is kept."""
    database_reachable(catalog_db)
    if config.replay_archive:
        fetched, archive = load_providers_archive(config.replay_archive), Path(config.replay_archive)
    else:
        fetched: dict[str, Any] = {"fetched_at": datetime.now(UTC).isoformat()}
        for name, path in (("providers", PROVIDERS_PATH), ("zdr", ZERO_RETENTION_PATH)):
            fetched[name], fetched[f"{name}_error"] = openrouter.fetch_optional(path)
        archive = archive_providers(fetched, context.run.run_id, openrouter.scrub)
    for name in ("providers", "zdr"):
        if fetched[f"{name}_error"]:
            context.log.warning(f"{name}: {fetched[name + '_error']}; nothing stored from it is changed")
    return MaterializeResult(
        value=fetched,
        metadata={
            "providers_error": fetched["providers_error"] or "",
            "zero_data_retention_error": fetched["zdr_error"] or "",
            "raw_archive": MetadataValue.path(str(archive)),
        },
    )


@asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    pool="catalog_db_write",
    metadata={"dagster/table_name": "ai_providers"},
)
def ai_providers_table(
    context: AssetExecutionContext, raw_openrouter_providers: dict[str, Any], catalog_db: CatalogDatabase
) -> MaterializeResult:
    """The ai_providers table: one row per provider slug, synced like the others; kept when /providers fails."""
    raw = raw_openrouter_providers
    why, providers = raw["providers_error"], None
    if why is None:
        try:
            providers = classify_providers(listing(raw["providers"]))
        except ListingRejected as exc:
            why = f"/providers: {exc}"
    if providers is not None and not providers.rows:  # an empty list is a fault upstream, not every provider leaving
        with catalog_db.reading("counting the providers") as conn:
            active = active_rows(conn, "ai_providers")
        why = f"/providers listed none of the {active} active providers" if active else None
    if why:
        context.log.warning(f"ai_providers: nothing written, yesterday's rows kept: {why}")
        return MaterializeResult(metadata={"kept_yesterdays_rows_because": why})
    with catalog_db.migrated() as conn, catalog_db.explained("writing ai_providers", conn):
        outcome = write_providers(conn, providers.rows, run_id=context.run.run_id, settings=catalog_db.timeouts())
    context.log.info(f"ai_providers: {outcome.total} rows, {outcome.inserted} inserted, {outcome.updated} updated")
    return MaterializeResult(
        metadata={
            **table_metadata(catalog_db, outcome),
            "set_aside_count": len(providers.set_aside),
            "set_aside": MetadataValue.json(providers.set_aside[:SHOWN]),
            "unknown_country_codes": MetadataValue.json(providers.unknown_countries),
        }
    )
