"""The sync's three assets: fetch the OpenRouter catalog, classify it, write it to ai_models."""

import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    Backoff,
    Config,
    Failure,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    TableColumn,
    TableSchema,
    asset,
)
from pydantic import Field

from catalog_pipeline.catalog_db import CatalogDatabase, CatalogDatabaseError, scrub
from catalog_pipeline.catalog_store import (
    CuratedFlagsChanged,
    SyncOutcome,
    record_sync_run,
    write_catalog,
)
from catalog_pipeline.change_report import change_report_markdown
from catalog_pipeline.checks_logic import curated_survival_result, modality_counts_result, prices_sane_result
from catalog_pipeline.classification import MODALITIES, SYNCED_COLUMNS, classify_catalog
from catalog_pipeline.openrouter import OpenRouterClient, OpenRouterError
from catalog_pipeline.raw_archive import archive_catalog, load_archive

GROUP = "openrouter_catalog"
OWNERS = ["team:data-platform"]
SET_ASIDE_SHOWN = 50
# First step-level retry delay (doubling) after the HTTP client's own retries are exhausted.
FETCH_RETRY_DELAY_SECONDS = float(os.environ.get("CATALOG_FETCH_RETRY_DELAY_SECONDS", "30"))

AI_MODELS_SCHEMA = TableSchema(
    columns=[
        TableColumn("id", "uuid", description="Primary key"),
        TableColumn("openrouter_id", "text", description="OpenRouter model id; upsert key"),
        TableColumn("canonical_slug", "text"),
        TableColumn("name", "text", description="Display name"),
        TableColumn("description", "text"),
        TableColumn("provider", "text", description="Provider display name"),
        TableColumn("provider_slug", "text"),
        TableColumn("modality", "text", description="text, image, video, audio, embedding or multimodal"),
        TableColumn("input_modalities", "text[]"),
        TableColumn("output_modalities", "text[]"),
        TableColumn("context_length", "integer"),
        TableColumn("max_completion_tokens", "integer"),
        TableColumn("input_cost_per_million", "numeric", description="USD per million input tokens"),
        TableColumn("output_cost_per_million", "numeric", description="USD per million output tokens"),
        TableColumn("pricing_kind", "text", description="paid, free or variable"),
        TableColumn("pricing", "jsonb", description="Raw pricing object"),
        TableColumn("capabilities", "jsonb"),
        TableColumn("supported_parameters", "text[]"),
        TableColumn("hugging_face_id", "text"),
        TableColumn("tokenizer", "text"),
        TableColumn("instruct_type", "text"),
        TableColumn("openrouter_created_at", "timestamptz"),
        TableColumn("expiration_date", "date"),
        TableColumn("is_curated", "boolean", description="Set by people; never written by a sync"),
        TableColumn("is_active", "boolean"),
        TableColumn("first_seen_at", "timestamptz"),
        TableColumn("removed_at", "timestamptz"),
        TableColumn("created_at", "timestamptz"),
        TableColumn("updated_at", "timestamptz"),
        TableColumn("sync_hash", "text", description="Digest of the synced values; lets a re-sync skip unchanged rows"),
    ]
)


class RawFetchConfig(Config):
    """Where the catalog comes from: OpenRouter, or a raw archive of an earlier sync (replay)."""

    replay_archive: str | None = Field(
        default=None,
        description="Path to a raw_openrouter_models archive (.json.gz) to replay instead of calling the API.",
    )


def _output_modality_counts(models: list[Any]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for model in models:
        arch = model.get("architecture") if isinstance(model, dict) else None
        outputs = arch.get("output_modalities") if isinstance(arch, dict) else None
        if isinstance(outputs, list):
            counts["+".join(sorted(str(o) for o in outputs))] += 1
        elif isinstance(arch, dict) and isinstance(arch.get("modality"), str):
            counts[arch["modality"].split("->")[-1]] += 1
        else:
            counts["(none)"] += 1
    return dict(sorted(counts.items()))


@asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"openrouter"},
    retry_policy=RetryPolicy(max_retries=2, delay=FETCH_RETRY_DELAY_SECONDS, backoff=Backoff.EXPONENTIAL),
)
def raw_openrouter_models(
    context: AssetExecutionContext, config: RawFetchConfig, openrouter: OpenRouterClient
) -> MaterializeResult:
    """Every model OpenRouter lists, all output modalities, as the API returned them."""
    if config.replay_archive:
        catalog = load_archive(config.replay_archive)
        context.log.info(f"replaying {len(catalog.models)} models from {config.replay_archive}")
        archive = Path(config.replay_archive)
    else:
        try:
            catalog = openrouter.fetch_catalog()
        except OpenRouterError as exc:
            if exc.transient:
                raise  # the RetryPolicy tries the step again later
            # A malformed answer will not fix itself in a minute: fail now, without step retries.
            raise Failure(description=str(exc), allow_retries=False) from None
        archive = archive_catalog(catalog, context.run.run_id)
        context.log.info(
            f"fetched {len(catalog.models)} models from {len(catalog.sources)} listing(s) "
            f"({'; '.join(catalog.listings)}); archived to {archive}"
        )
    return MaterializeResult(
        value={"models": catalog.models, "sources": catalog.sources, "fetched_at": catalog.fetched_at.isoformat()},
        metadata={
            "fetched_count": len(catalog.models),
            "output_modality_counts": MetadataValue.json(_output_modality_counts(catalog.models)),
            "source_url": MetadataValue.url(catalog.sources[0]) if catalog.sources else "(none)",
            "sources": MetadataValue.json(catalog.sources),
            "duplicate_ids_dropped": catalog.duplicate_ids,
            "fetched_at": catalog.fetched_at.isoformat(),
            "raw_archive": MetadataValue.path(str(archive)),
            "notes": MetadataValue.json(catalog.notes),
        },
    )


def _set_aside_markdown(set_aside: list[dict[str, str]]) -> str:
    if not set_aside:
        return "No models set aside."
    lines = ["| position | id | reason |", "|---|---|---|"]
    for item in set_aside[:SET_ASIDE_SHOWN]:
        safe = {k: str(v).replace("|", "\\|").replace("\n", " ") for k, v in item.items()}
        lines.append(f"| {safe['position']} | `{safe['id'][:80]}` | {safe['reason']} |")
    if len(set_aside) > SET_ASIDE_SHOWN:
        lines.append(f"\n…and {len(set_aside) - SET_ASIDE_SHOWN} more ({len(set_aside)} in all).")
    return "\n".join(lines)


@asset(group_name=GROUP, owners=OWNERS, kinds={"pandas"})
def classified_models(context: AssetExecutionContext, raw_openrouter_models: dict[str, Any]) -> MaterializeResult:
    """The catalog classified: provider, display name, modality, prices per million, capabilities."""
    models = raw_openrouter_models["models"]
    result = classify_catalog(models)
    frame = pd.DataFrame.from_records(result.rows, columns=list(SYNCED_COLUMNS)).astype(
        {"context_length": "Int64", "max_completion_tokens": "Int64"}
    )
    # Travels with the frame (pickled with it) so the write can record what this run fetched.
    frame.attrs = {
        "fetched": len(models),
        "set_aside": len(result.set_aside),
        "sources": list(raw_openrouter_models.get("sources", [])),
    }
    context.log.info(
        f"classified {len(result.rows)} models; set aside {len(result.set_aside)}; by modality {result.modality_counts}"
    )
    if result.set_aside:
        context.log.warning(f"set aside {len(result.set_aside)} malformed models: {result.set_aside[:5]}")
    return MaterializeResult(
        value=frame,
        metadata={
            "dagster/row_count": len(frame),
            **{f"modality/{m}": result.modality_counts[m] for m in MODALITIES},
            "modality_counts": MetadataValue.json(result.modality_counts),
            "set_aside_count": len(result.set_aside),
            "set_aside": MetadataValue.md(_set_aside_markdown(result.set_aside)),
            "unknown_output_modalities": MetadataValue.json(result.unknown_outputs),
            "duplicate_ids_dropped": len(result.duplicate_ids),
            "unparseable_prices": result.price_problem_count,
            "field_problems": MetadataValue.json(result.field_problems[:SET_ASIDE_SHOWN]),
            "fetched_count": len(models),
        },
    )


def _frame_rows(frame: pd.DataFrame):
    """Rows as dicts of plain Python values (pandas' NA markers become None, numpy integers Python ints).

    Converted a column at a time: a per-value conversion cost about 18 µs per row, more than the write itself
    spends on a row.
    """
    columns = [frame[column].to_numpy(dtype=object, na_value=None).tolist() for column in SYNCED_COLUMNS]
    for values in zip(*columns, strict=True):
        yield dict(zip(SYNCED_COLUMNS, values, strict=True))


@asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    pool="catalog_db_write",
    freshness_policy=FreshnessPolicy.time_window(fail_window=timedelta(hours=26)),
    check_specs=[
        AssetCheckSpec(
            "modality_counts",
            asset="ai_models_table",
            description="Active rows per modality match this run's classification.",
        ),
        AssetCheckSpec(
            "prices_sane",
            asset="ai_models_table",
            description="No negative cost, none above $10,000 per million tokens, no cost on a variable-priced row.",
        ),
        AssetCheckSpec(
            "curated_rows_survive",
            asset="ai_models_table",
            description="The curated ids are identical before and after the write.",
        ),
    ],
    metadata={"dagster/table_name": "ai_models", "dagster/column_schema": AI_MODELS_SCHEMA},
)
def ai_models_table(
    context: AssetExecutionContext, classified_models: pd.DataFrame, catalog_db: CatalogDatabase
) -> MaterializeResult:
    """The ai_models table in Postgres, upserted on openrouter_id in one transaction; is_curated untouched."""
    started_at = datetime.now(UTC)
    fetched = int(classified_models.attrs.get("fetched", len(classified_models)))
    set_aside = int(classified_models.attrs.get("set_aside", 0))
    source = ", ".join(classified_models.attrs.get("sources", [])) or None
    run_record = {"started_at": started_at, "source_url": source, "fetched": fetched, "set_aside": set_aside}
    with catalog_db.migrated() as conn:
        try:
            outcome = write_catalog(
                conn,
                _frame_rows(classified_models),
                run_id=context.run.run_id,
                run_record=run_record,
                on_progress=context.log.info,
            )
        except Exception as exc:
            message = scrub(str(exc), catalog_db.url or "")
            _record_failure(catalog_db, context.run.run_id, run_record, message, context)
            if isinstance(exc, CatalogDatabaseError | CuratedFlagsChanged):
                raise
            raise CatalogDatabaseError(
                f"writing ai_models failed and was rolled back; the table is unchanged: {message}"
            ) from None
        # Checked here, on the committed table: a check step of its own would cost more than this query.
        prices = prices_sane_result(conn)

    return MaterializeResult(
        metadata=_write_metadata(outcome, fetched, set_aside),
        check_results=[
            modality_counts_result(outcome, _classified_counts(classified_models), fetched - set_aside),
            curated_survival_result(outcome.curated_before, outcome.curated_after),
            prices,
        ],
    )


def _classified_counts(frame: pd.DataFrame) -> dict[str, int]:
    counts = frame["modality"].value_counts().to_dict() if len(frame) else {}
    return {m: int(counts.get(m, 0)) for m in MODALITIES} | {
        str(k): int(v) for k, v in counts.items() if k not in MODALITIES
    }


def _write_metadata(outcome: SyncOutcome, fetched: int, set_aside: int) -> dict[str, Any]:
    return {
        "dagster/row_count": outcome.active_total,
        "dagster/table_name": "ai_models",
        "dagster/column_schema": AI_MODELS_SCHEMA,
        "active_total": outcome.active_total,
        **{f"active/{m}": outcome.active_by_modality.get(m, 0) for m in MODALITIES},
        "fetched": fetched,
        "set_aside": set_aside,
        "inserted": outcome.inserted,
        "updated": outcome.updated,
        "unchanged": outcome.unchanged,
        "deactivated": outcome.deactivated,
        "reactivated": outcome.reactivated,
        "repriced": outcome.repriced_total,
        "curated_count": len(outcome.curated_after),
        "price_periods_opened": outcome.price_periods_opened,
        "change_report": MetadataValue.md(change_report_markdown(outcome)),
    }


def _record_failure(catalog_db: CatalogDatabase, run_id: str, run_record: dict, message: str, context) -> None:
    """Best effort: the failure goes into ai_model_sync_runs after the rollback, if the database is up."""
    try:
        with catalog_db.connect() as conn:
            record_sync_run(conn, run_id=run_id, outcome="failed", error=message[:2000], **run_record)
    except Exception as exc:  # noqa: BLE001 - the original error is what the operator needs
        context.log.warning(f"could not record the failed sync in ai_model_sync_runs: {type(exc).__name__}")
