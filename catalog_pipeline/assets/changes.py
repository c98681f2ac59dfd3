"""What a sync changed, told once: this run's rows of ai_catalog_changes, posted as a digest."""

from collections import Counter

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from catalog_pipeline.assets.models import GROUP, OWNERS
from catalog_pipeline.db.changes import run_changes
from catalog_pipeline.resources.postgres import CatalogDatabase
from catalog_pipeline.resources.webhook import AlertWebhook
from catalog_pipeline.rules.changes import digest


@asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    deps=["ai_models_table", "ai_model_endpoints_table", "ai_providers_table"],
    metadata={"dagster/table_name": "ai_catalog_changes"},
)
def catalog_changes(
    context: AssetExecutionContext, catalog_db: CatalogDatabase, changes_webhook: AlertWebhook
) -> MaterializeResult:
    """What this sync changed in the catalog (ai_catalog_changes), posted once as a digest when anything did."""
    run_id = context.run.run_id
    with catalog_db.reading("reading this run's changes") as conn:
        changes = run_changes(conn, run_id)
    text = digest(changes, changes_webhook.run_link(run_id))
    if changes and changes_webhook.url:
        why_not = changes_webhook.send(text)
        if why_not:  # a webhook that is down never fails the sync
            context.log.warning(f"the changes digest was not posted: {why_not}")
    context.log.info(f"catalog changes: {len(changes)}" if changes else "catalog changes: none")
    return MaterializeResult(
        metadata={
            "changes": len(changes),
            "by_kind": MetadataValue.json(dict(sorted(Counter(c.kind for c in changes).items()))),
            "change_report": MetadataValue.md(text or "No changes in this sync."),
        }
    )
