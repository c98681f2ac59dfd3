"""Per-provider endpoints: fetch every active model's endpoints, and write them to ai_model_endpoints."""

from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, Config, Failure, MaterializeResult, MetadataValue, asset
from pydantic import Field

from catalog_pipeline.assets.models import GROUP, OWNERS, table_metadata
from catalog_pipeline.assets.reports import SHOWN, markdown_table
from catalog_pipeline.db.endpoints import active_endpoint_counts, write_endpoints
from catalog_pipeline.raw_archive import archive_endpoints, load_endpoints_archive
from catalog_pipeline.resources.openrouter import OpenRouterClient, endpoints_path, fetch_endpoints
from catalog_pipeline.resources.postgres import CatalogDatabase
from catalog_pipeline.rules.endpoints import Assignment, PreparedEndpoints, assign_answers, prepare_endpoints
from catalog_pipeline.rules.providers import zero_retention


class EndpointsFetchConfig(Config):
    """How the endpoints are fetched: from OpenRouter, or replayed from an earlier run's archive."""

    replay_archive: str | None = Field(default=None, description="An endpoints archive (.json.gz) to replay.")
    max_failed_share: float = Field(
        default=0.2, description="More models failing than this share writes nothing, and stops the fetch asking."
    )


@asset(group_name=GROUP, owners=OWNERS, kinds={"openrouter"}, deps=["ai_models_table"])
def raw_openrouter_endpoints(
    context: AssetExecutionContext,
    config: EndpointsFetchConfig,
    openrouter: OpenRouterClient,
    catalog_db: CatalogDatabase,
) -> MaterializeResult:
    """Every active model's per-provider endpoints, as the API returned them."""
    if config.replay_archive:
        fetched, archive = load_endpoints_archive(config.replay_archive), Path(config.replay_archive)
    else:
        with catalog_db.migrated() as conn, catalog_db.explained("listing the active models", conn):
            listed = conn.execute(
                'SELECT openrouter_id, endpoints_path FROM ai_models WHERE is_active ORDER BY openrouter_id COLLATE "C"'
            ).fetchall()
        fetched = fetch_endpoints(
            openrouter,
            {model_id: endpoints_path(model_id, path) for model_id, path in listed},
            pool=openrouter.endpoints_pool,
            per_second=openrouter.endpoints_per_second,
            deadline_seconds=openrouter.endpoints_deadline_seconds,
            max_failed=int(config.max_failed_share * len(listed)),
            on_progress=context.log.info,
        )
        archive = archive_endpoints(fetched, context.run.run_id, openrouter.scrub)
        if fetched.stopped:
            raise Failure(
                description=f"{fetched.stopped} ({config.max_failed_share:.0%} of {len(listed)}); nothing was "
                f"written and yesterday's endpoints are kept. The answers so far are in {archive}.",
                metadata={"failed": MetadataValue.md(_failed_table(fetched.failed))},
            )
    return MaterializeResult(
        value={
            "asked": fetched.asked,
            "bodies": fetched.bodies,
            "failed": fetched.failed,
            "replay": bool(config.replay_archive),
            "max_failed_share": config.max_failed_share,
            "fetched_at": fetched.fetched_at.isoformat(),
        },
        metadata={
            "models": len(fetched.asked),
            "requests": len(set(fetched.asked.values())),
            "answered": len(fetched.bodies),
            "failed_count": len(fetched.failed),
            "failed": MetadataValue.md(_failed_table(fetched.failed)),
            "raw_archive": MetadataValue.path(str(archive)),
        },
    )


def _failed_table(failed: dict[str, str]) -> str:
    return markdown_table(["id", "why"], sorted(failed.items()), SHOWN) if failed else "None failed."


class EndpointsWriteConfig(Config):
    """The endpoints write: how long observations are kept."""

    observation_retention_days: float = Field(default=90, description="Observations older than this are pruned.")


@asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    pool="catalog_db_write",
    metadata={"dagster/table_name": "ai_model_endpoints"},
)
def ai_model_endpoints_table(
    context: AssetExecutionContext,
    config: EndpointsWriteConfig,
    raw_openrouter_endpoints: dict[str, Any],
    raw_openrouter_providers: dict[str, Any],
    catalog_db: CatalogDatabase,
) -> MaterializeResult:
    """The ai_model_endpoints table: one row per model and provider endpoint, prices dated, observations appended."""
    raw = raw_openrouter_endpoints
    assignment = assign_answers(raw["asked"], raw["bodies"], raw["failed"])
    zero, zero_unknown = zero_retention(raw_openrouter_providers)
    with catalog_db.reading("counting today's endpoints") as conn:
        prepared = prepare_endpoints(assignment, active_endpoint_counts(conn), zero and zero.endpoints)
    failed, share = prepared.failed, len(prepared.failed) / max(len(raw["asked"]), 1)
    if share > raw["max_failed_share"]:
        raise Failure(
            description=f"{len(failed)} of {len(raw['asked'])} models' endpoints failed ({share:.0%}, more than "
            f"{raw['max_failed_share']:.0%}); nothing was written and yesterday's endpoints are kept",
            metadata={"failed_share": round(share, 4), "failed": MetadataValue.md(_failed_table(failed))},
        )
    with catalog_db.migrated() as conn, catalog_db.explained("writing ai_model_endpoints", conn):
        outcome, appended, pruned = write_endpoints(
            conn,
            prepared.rows,
            prepared.observations,
            answered=prepared.answered,
            catalog=None if raw["replay"] else list(raw["asked"]),  # a replay deactivates nothing it cannot see
            keep_observation_days=config.observation_retention_days,
            run_id=context.run.run_id,
            settings=catalog_db.timeouts(),
            zero_retention_known=zero is not None,
            served_by=assignment.served_by,
        )
    context.log.info(
        f"ai_model_endpoints: {outcome.total} rows, {outcome.inserted} inserted, {outcome.updated} updated, "
        f"{outcome.unchanged} unchanged, {outcome.deactivated} deactivated; {len(failed)} models failed"
    )
    metadata = table_metadata(catalog_db, outcome)
    context.log.info(_summary(catalog_db, metadata["dagster/row_count"], failed))
    return MaterializeResult(
        metadata={
            **metadata,
            **_answers_metadata(prepared, assignment, appended, pruned),
            "zero_data_retention": "kept as it was: " + zero_unknown if zero is None else "updated from /endpoints/zdr",
            "zero_data_retention_set_aside": MetadataValue.json((zero.set_aside if zero else [])[:SHOWN]),
        }
    )


def _answers_metadata(
    prepared: PreparedEndpoints, assignment: Assignment, appended: int, pruned: int
) -> dict[str, Any]:
    """What the answers held besides rows: failures, models served by another's answer, repeats, entries set aside."""
    failed = prepared.failed
    return {
        "observations": appended,
        "observations_pruned": pruned,
        "failed_count": len(failed),
        "failed": MetadataValue.md(_failed_table(failed)),
        "failed_ids": MetadataValue.json(dict(sorted(failed.items())[:SHOWN])),
        "served_by_another_count": len(assignment.served_by),
        "served_by_another": MetadataValue.json(dict(sorted(assignment.served_by.items())[:SHOWN])),
        "repeated_tags_count": len(prepared.repeated_tags),
        "repeated_tags": MetadataValue.json([f"{m} {t}" for m, t in prepared.repeated_tags[:SHOWN]]),
        "endpoints_set_aside_count": len(prepared.set_aside),
        "endpoints_set_aside": MetadataValue.json([f"{m}: {w}" for m, w in prepared.set_aside[:SHOWN]]),
    }


def _summary(catalog_db: CatalogDatabase, endpoints: int, failed: dict[str, str]) -> str:
    """The run's last lines, for a person: what is where, what failed, and how to look at it."""
    kept = f"; {len(failed)} models kept their earlier endpoints (see this step's `failed`)" if failed else ""
    psql = 'psql "$(python3 -m catalog_pipeline.local_db psql-uri)"' if catalog_db.url is None else "psql $DATABASE_URL"
    return (
        f"Sync done: the catalog and {endpoints} active endpoints are in {catalog_db.describe()}{kept}.\n"
        f"Look at it: {psql} -c '{_LOOK}'"
    )


_LOOK = "SELECT modality, count(*) FROM ai_models WHERE is_active GROUP BY 1"
