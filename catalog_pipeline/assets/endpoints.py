"""Per-provider endpoints: fetch every active model's endpoints, and write them to ai_model_endpoints."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)
from pydantic import Field

from catalog_pipeline.assets.catalog import GROUP, OWNERS, SHOWN
from catalog_pipeline.assets.checks import markdown_table, prices_sane_result
from catalog_pipeline.endpoint_store import active_endpoint_counts, endpoints_report_markdown, write_endpoints
from catalog_pipeline.endpoints import EndpointsRejected, classify_endpoints, endpoints_of
from catalog_pipeline.raw_archive import archive_endpoints, load_endpoints_archive
from catalog_pipeline.resources.openrouter import OpenRouterClient, endpoints_path, fetch_endpoints
from catalog_pipeline.resources.postgres import CatalogDatabase, set_local
from catalog_pipeline.store import column_descriptions


class EndpointsFetchConfig(Config):
    """How the endpoints are fetched: from OpenRouter, or replayed from an earlier run's archive."""

    replay_archive: str | None = Field(default=None, description="An endpoints archive (.json.gz) to replay.")


@asset(group_name=GROUP, owners=OWNERS, kinds={"openrouter"}, deps=["ai_models_table"])
def raw_openrouter_endpoints(
    context: AssetExecutionContext,
    config: EndpointsFetchConfig,
    openrouter: OpenRouterClient,
    catalog_db: CatalogDatabase,
) -> MaterializeResult:
    """Every active model's per-provider endpoints, as the API returned them."""
    with catalog_db.migrated() as conn, catalog_db.explained("listing the active models", conn):
        listed = dict(
            conn.execute(
                'SELECT openrouter_id, endpoints_path FROM ai_models WHERE is_active ORDER BY openrouter_id COLLATE "C"'
            ).fetchall()
        )
    catalog = list(listed)
    if config.replay_archive:
        fetched, catalog = load_endpoints_archive(config.replay_archive)
        archive = Path(config.replay_archive)
    else:
        paths = {model_id: endpoints_path(model_id, path) for model_id, path in listed.items()}
        fetched = fetch_endpoints(
            openrouter,
            paths,
            pool=openrouter.endpoints_pool,
            per_second=openrouter.endpoints_per_second,
            deadline_seconds=openrouter.endpoints_deadline_seconds,
            on_progress=context.log.info,
        )
        archive = archive_endpoints(fetched, catalog, context.run.run_id, openrouter.scrub)
    bodies, failed = fetched.bodies, fetched.failed
    return MaterializeResult(
        value={"bodies": bodies, "failed": failed, "catalog": catalog, "fetched_at": fetched.fetched_at.isoformat()},
        metadata={
            "models": len(catalog),
            "answered": len(bodies),
            "failed_count": len(failed),
            "failed": MetadataValue.md(_failed_table(failed)),
            "raw_archive": MetadataValue.path(str(archive)),
        },
    )


def _failed_table(failed: dict[str, str]) -> str:
    return markdown_table(["id", "why"], sorted(failed.items()), SHOWN) if failed else "No model failed."


class EndpointsWriteConfig(Config):
    """The endpoints write: its truncation guard and how long observations are kept."""

    max_failed_share: float = Field(default=0.2, description="Write nothing when more models than this failed.")
    observation_retention_days: float = Field(default=90, description="Observations older than this are pruned.")


@asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    pool="catalog_db_write",
    metadata={"dagster/table_name": "ai_model_endpoints"},
    check_specs=[
        AssetCheckSpec(
            "endpoints_cover_catalog",
            asset="ai_model_endpoints_table",
            description="Every active model has endpoint rows, except those whose endpoints failed this run.",
        ),
        AssetCheckSpec(
            "endpoint_prices_sane",
            asset="ai_model_endpoints_table",
            description="Endpoint prices within the same bounds as the model prices.",
        ),
    ],
)
def ai_model_endpoints_table(
    context: AssetExecutionContext,
    config: EndpointsWriteConfig,
    raw_openrouter_endpoints: dict[str, Any],
    catalog_db: CatalogDatabase,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """The ai_model_endpoints table: one row per model and provider endpoint, prices dated, observations appended."""
    catalog = raw_openrouter_endpoints["catalog"]
    failed = dict(raw_openrouter_endpoints["failed"])
    rows, observations = [], []
    with catalog_db.migrated() as conn:
        had = active_endpoint_counts(conn)
        for model_id, body in raw_openrouter_endpoints["bodies"].items():
            try:
                endpoints = endpoints_of(body)
            except EndpointsRejected as exc:
                failed[model_id] = f"malformed answer: {exc}"
                continue
            model_rows, model_observations = classify_endpoints(model_id, endpoints)
            if not model_rows and had.get(model_id):
                # An empty list for a model still in the catalog is a fault upstream, not all providers leaving.
                failed[model_id] = f"no endpoints listed; it had {had[model_id]} yesterday"
                continue
            rows += model_rows
            observations += model_observations
        share = len(failed) / len(catalog) if catalog else 0.0
        if share > config.max_failed_share:
            yield _coverage_result(False, failed, [], share, config.max_failed_share)
            raise Failure(
                description=f"{len(failed)} of {len(catalog)} models' endpoints failed ({share:.0%}, more than "
                f"{config.max_failed_share:.0%}); nothing was written"
            )
        answered = [m for m in raw_openrouter_endpoints["bodies"] if m not in failed]
        with catalog_db.explained("writing ai_model_endpoints", conn):
            outcome = write_endpoints(
                conn,
                rows,
                observations,
                answered=answered,
                catalog=catalog,
                keep_observation_days=config.observation_retention_days,
                run_id=context.run.run_id,
                settings=catalog_db.timeouts(),
            )
        context.log.info(
            f"{outcome.total} endpoints: {outcome.inserted} inserted, {outcome.updated} updated, "
            f"{outcome.unchanged} unchanged, {outcome.deactivated} deactivated; {len(failed)} models failed"
        )
        with catalog_db.explained("checking ai_model_endpoints", conn), conn.transaction():
            set_local(conn, catalog_db.timeouts())
            uncovered = [
                r[0]
                for r in conn.execute(
                    """SELECT m.openrouter_id FROM ai_models m
                        WHERE m.is_active AND NOT (m.openrouter_id = ANY(%s))
                          AND NOT EXISTS (SELECT 1 FROM ai_model_endpoints e
                                           WHERE e.openrouter_id = m.openrouter_id AND e.is_active)
                        ORDER BY 1""",
                    (list(failed),),
                )
            ]
            prices = prices_sane_result(conn, endpoints=True)
            active = conn.execute("SELECT count(*) FROM ai_model_endpoints WHERE is_active").fetchone()[0]
            columns = column_descriptions(conn, "ai_model_endpoints")
    yield _coverage_result(not uncovered, failed, uncovered, share, config.max_failed_share)
    yield prices
    yield MaterializeResult(
        metadata={
            "dagster/row_count": active,
            "dagster/column_schema": TableSchema(
                columns=[TableColumn(name, type_, description=comment) for name, type_, comment in columns]
            ),
            "inserted": outcome.inserted,
            "updated": outcome.updated,
            "unchanged": outcome.unchanged,
            "deactivated": outcome.deactivated,
            "observations": outcome.observations,
            "observations_pruned": outcome.observations_pruned,
            "price_components_opened": outcome.price_rows_opened,
            "price_components_closed": outcome.price_rows_closed,
            "failed_count": len(failed),
            "failed": MetadataValue.md(_failed_table(failed)),
            "failed_ids": MetadataValue.json(dict(sorted(failed.items())[:SHOWN])),
            "change_report": MetadataValue.md(endpoints_report_markdown(outcome)),
            "synced_at": datetime.now(UTC).isoformat(),
        },
    )


def _coverage_result(
    passed: bool, failed: dict[str, str], uncovered: list[str], share: float, max_share: float
) -> AssetCheckResult:
    rows = [(m, "no active endpoint rows") for m in uncovered] + sorted(failed.items())
    return AssetCheckResult(
        check_name="endpoints_cover_catalog",
        asset_key="ai_model_endpoints_table",
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        description=None if passed else f"{len(failed)} models failed ({share:.0%}; at most {max_share:.0%} allowed)",
        metadata={
            "uncovered": MetadataValue.json(uncovered[:SHOWN]),
            "failed_this_run": MetadataValue.json(dict(sorted(failed.items())[:SHOWN])),
            "failed_share": round(share, 4),
            "failures": MetadataValue.md(markdown_table(["id", "why"], rows)),
        },
    )
