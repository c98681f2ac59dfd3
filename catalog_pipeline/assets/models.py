"""The catalog's three assets: fetch the OpenRouter model list, classify it, write it to ai_models."""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    Config,
    Failure,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)
from pydantic import Field

from catalog_pipeline.assets.checks import (
    WRITE_CHECKS,
    curated_survival_result,
    modality_counts_result,
    price_moves_result,
)
from catalog_pipeline.assets.reports import SHOWN, change_report, markdown_table, scores_moved_lines
from catalog_pipeline.db import CatalogDatabaseError
from catalog_pipeline.db.models import CuratedFlagsChanged, ModelsOutcome, sync_run_committed, write_catalog
from catalog_pipeline.db.sync import CommitUnknown, Outcome, active_rows, column_descriptions
from catalog_pipeline.raw_archive import archive_catalog, load_archive, prune
from catalog_pipeline.resources.openrouter import OpenRouterClient, OpenRouterError, models_of
from catalog_pipeline.resources.postgres import CatalogDatabase
from catalog_pipeline.rules.models import FRAME_COLUMNS, MODALITIES, classify_catalog, count_modalities
from catalog_pipeline.secrets import scrub_url

GROUP = "openrouter_catalog"
OWNERS = ["team:data-platform"]


class RawFetchConfig(Config):
    """Where the catalog comes from: OpenRouter, or a raw archive of an earlier sync (replay)."""

    replay_archive: str | None = Field(
        default=None,
        description="Path to a raw_openrouter_models archive (.json.gz) to replay instead of calling the API.",
    )
    retention_days: float = Field(
        default=90, description="Raw archives and stored step values older than this are deleted by the fetch."
    )


@asset(group_name=GROUP, owners=OWNERS, kinds={"openrouter"})
def raw_openrouter_models(
    context: AssetExecutionContext, config: RawFetchConfig, openrouter: OpenRouterClient, catalog_db: CatalogDatabase
) -> MaterializeResult:
    """Every model OpenRouter lists, all output modalities, as the API returned them."""
    database_reachable(catalog_db)
    if config.replay_archive:
        catalog = load_archive(config.replay_archive)
        archive = Path(config.replay_archive)
        context.log.info(f"replaying {len(catalog.models)} model objects from {archive}")
    else:
        try:
            catalog = openrouter.fetch_catalog()
        except OpenRouterError as exc:
            raise Failure(description=str(exc)) from None
        archive = archive_catalog(catalog, context.run.run_id, openrouter.scrub)
        listings = "; ".join(f"{url}: {count}" for url, count in catalog.listed.items())
        context.log.info(f"fetched {len(catalog.models)} model objects ({listings}); archived to {archive}")
    # Never the archive being replayed, nor this run's own values.
    pruned = prune(archive.parent, config.retention_days, {archive})
    runs = Path(context.instance.storage_directory(), "runs")
    pruned += prune(runs, config.retention_days, {runs / context.run.run_id})
    return MaterializeResult(
        # The raw bodies, as the API sent them: they pickle whatever the models hold, and classification parses them.
        value={
            "bodies": catalog.bodies,
            "fetched_count": len(catalog.models),
            "fetched_at": catalog.fetched_at.isoformat(),
        },
        metadata={
            "fetched_count": len(catalog.models),
            "listed": MetadataValue.json(catalog.listed),
            "source_url": MetadataValue.url(catalog.sources[0]) if catalog.sources else "(none)",
            "fetched_at": catalog.fetched_at.isoformat(),
            "raw_archive": MetadataValue.path(str(archive)),
            "notes": MetadataValue.json(catalog.notes),
            "pruned_older_than_retention": len(pruned),
        },
    )


def database_reachable(catalog_db: CatalogDatabase) -> None:
    """Connect (and migrate) before the API is asked: a wrong DATABASE_URL fails the run with its one cause, not
    after a fetch and an archive that no write will use."""
    try:
        catalog_db.ensure_schema()
    except CatalogDatabaseError as exc:
        raise Failure(description=str(exc)) from None


def to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as the classified_models DataFrame: one column per synced column and the price components."""
    frame = pd.DataFrame.from_records(rows, columns=list(FRAME_COLUMNS))
    return frame.astype({"context_length": "Int64", "max_completion_tokens": "Int64"})


def frame_rows(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """The DataFrame's rows as plain Python values (pandas' NA markers become None), a column at a time."""
    columns = [frame[column].to_numpy(dtype=object, na_value=None).tolist() for column in FRAME_COLUMNS]
    for values in zip(*columns, strict=True):
        yield dict(zip(FRAME_COLUMNS, values, strict=True))


@asset(group_name=GROUP, owners=OWNERS, kinds={"pandas"})
def classified_models(context: AssetExecutionContext, raw_openrouter_models: dict[str, Any]) -> MaterializeResult:
    """The catalog classified: provider, display name, modality, prices per million, capabilities."""
    result = classify_catalog(models_of(raw_openrouter_models["bodies"]))
    context.log.info(
        f"classified {len(result.rows)} models; set aside {len(result.set_aside)}; "
        f"{len(result.duplicate_ids)} repeated ids dropped; by modality {result.modality_counts}"
    )
    return MaterializeResult(
        value=to_frame(result.rows),
        metadata={
            "dagster/row_count": len(result.rows),
            **{f"modality/{m}": result.modality_counts[m] for m in MODALITIES},
            "modality_counts": MetadataValue.json(result.modality_counts),
            "set_aside_count": len(result.set_aside),
            "set_aside": MetadataValue.md(
                markdown_table(["position", "id", "reason"], [list(s.values()) for s in result.set_aside], SHOWN)
                if result.set_aside
                else "No models set aside."
            ),
            "unknown_output_modalities": MetadataValue.json(result.unknown_outputs),
            "duplicate_ids_dropped": len(result.duplicate_ids),
            "models_with_benchmarks": result.with_benchmarks,
            "price_problems": result.price_problem_count,
            "unknown_price_keys": MetadataValue.json(result.unknown_price_keys),
            "field_problems": MetadataValue.json(result.field_problems[:SHOWN]),
        },
    )


@asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    pool="catalog_db_write",
    freshness_policy=FreshnessPolicy.time_window(fail_window=timedelta(hours=26)),
    check_specs=WRITE_CHECKS,
    metadata={"dagster/table_name": "ai_models"},
)
def ai_models_table(
    context: AssetExecutionContext,
    raw_openrouter_models: dict[str, Any],
    classified_models: pd.DataFrame,
    catalog_db: CatalogDatabase,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """The ai_models table in Postgres, upserted on openrouter_id in one transaction; is_curated untouched."""
    fetched = raw_openrouter_models["fetched_count"]
    run_record = {
        "started_at": datetime.now(UTC),
        "source_url": ", ".join(raw_openrouter_models["bodies"]) or None,
        "fetched": fetched,
        "set_aside": fetched - len(classified_models),
    }
    try:
        outcome = _write(catalog_db, classified_models, context.run.run_id, run_record)
    except CuratedFlagsChanged as guard:
        # The guard tripped: the check says so, with the ids, and the step fails; nothing was written.
        yield curated_survival_result(guard.before, guard.after)
        raise Failure(description=str(guard)) from None
    context.log.info(
        f"ai_models: {outcome.total} rows, {outcome.inserted} inserted, {outcome.updated} updated, "
        f"{outcome.unchanged} unchanged, {outcome.deactivated} deactivated"
    )
    yield modality_counts_result(outcome, count_modalities(classified_models["modality"]), len(classified_models))
    yield curated_survival_result(outcome.curated_before, outcome.curated_after)
    yield price_moves_result(outcome.moves)
    yield MaterializeResult(
        metadata={
            **table_metadata(catalog_db, outcome, [*_expiring_lines(outcome), *scores_moved_lines(outcome)]),
            **{f"active/{m}": outcome.active_by_modality.get(m, 0) for m in MODALITIES},
            "fetched": fetched,
            "curated_count": len(outcome.curated_after),
        }
    )


def _write(catalog_db: CatalogDatabase, frame: pd.DataFrame, run_id: str, run_record: dict[str, Any]) -> ModelsOutcome:
    """write_catalog, its failures said plainly: rolled back, or committed whatever the lost connection said."""
    with catalog_db.migrated() as conn:
        try:
            with catalog_db.explained("writing ai_models", conn):
                return write_catalog(
                    conn, frame_rows(frame), run_id=run_id, run_record=run_record, settings=catalog_db.timeouts()
                )
        except CommitUnknown:
            raise Failure(description=_after_lost_commit(catalog_db, run_id)) from None
        except (CuratedFlagsChanged, CatalogDatabaseError):
            raise
        except Exception as exc:
            message = scrub_url(str(exc), catalog_db.url)
            raise CatalogDatabaseError(
                f"writing ai_models failed and was rolled back; the table is unchanged: {message}"
            ) from None


def _after_lost_commit(catalog_db: CatalogDatabase, run_id: str) -> str:
    """What really happened to a write whose connection was lost during COMMIT, asked on a fresh connection."""
    try:
        with catalog_db.connect() as conn:
            committed = sync_run_committed(conn, run_id)
    except CatalogDatabaseError as exc:
        return f"the connection was lost during COMMIT, and whether it went through cannot be told now: {exc}"
    if committed:
        return (
            "the connection was lost during COMMIT, but the commit went through: ai_models holds this run's "
            "catalog and ai_model_sync_runs its success row. Only this materialization's report is missing."
        )
    return "the connection was lost during COMMIT and the write was rolled back; the table is unchanged"


def table_metadata(catalog_db: CatalogDatabase, outcome: Outcome, report: Sequence[str] = ()) -> dict[str, Any]:
    """What every synced table's materialization carries: its active rows, its columns described by their SQL
    COMMENTs, what the write did, and the change report (with the table's own `report` lines)."""
    with catalog_db.reading(f"describing {outcome.table}") as conn:
        columns = column_descriptions(conn, outcome.table)
        active = active_rows(conn, outcome.table)
    return {
        "dagster/row_count": active,
        "dagster/column_schema": TableSchema(
            columns=[TableColumn(name, type_, description=comment) for name, type_, comment in columns]
        ),
        "inserted": outcome.inserted,
        "updated": outcome.updated,
        "unchanged": outcome.unchanged,
        "deactivated": outcome.deactivated,
        "reactivated": outcome.reactivated,
        "repriced": outcome.changed_total,
        "price_components_opened": outcome.price_rows_opened,
        "price_components_closed": outcome.price_rows_closed,
        "change_report": MetadataValue.md(change_report(outcome, report)),
        "synced_at": outcome.synced_at.isoformat(),
    }


def _expiring_lines(outcome: ModelsOutcome) -> list[str]:
    """The change report's section on models given an expiration date this sync."""
    if not outcome.newly_expiring_total:
        return []
    lines = [f"### Newly given an expiration date ({outcome.newly_expiring_total})"]
    lines += [f"- `{model_id}`: {day}" for model_id, day in outcome.newly_expiring]
    more = outcome.newly_expiring_total - len(outcome.newly_expiring)
    return lines + ([f"- …and {more} more"] if more else [])
