"""Every run of the sync job is on record in ai_model_sync_runs, each part of it: a failure, whatever step ended it,
too, beside what was written before it."""

from datetime import UTC, datetime

from dagster import HookContext, failure_hook

from catalog_pipeline.resources.openrouter import MODELS_PATH, redact_url
from catalog_pipeline.secrets import scrub_resources
from catalog_pipeline.store import record_run_part, sync_run_committed


@failure_hook(required_resource_keys={"catalog_db", "openrouter"})
def record_failed_run(context: HookContext) -> None:
    """The run's row says which part failed, in which step and why (scrubbed of secrets), beside what was written."""
    catalog_db, openrouter = context.resources.catalog_db, context.resources.openrouter
    error = context.op_exception
    message = f"{type(error).__name__}: {error}" if error is not None else "the step failed"
    message = scrub_resources(message, catalog_db, openrouter)[:2000]
    record = context.instance.get_run_record_by_id(context.run_id)
    started = record.start_time if record and record.start_time else datetime.now(UTC).timestamp()
    part: str | None = "endpoints" if "endpoints" in context.step_key else "catalog"
    try:
        with catalog_db.migrated() as conn:
            if part == "catalog" and sync_run_committed(conn, context.run_id):
                part = None  # the catalog was written; what failed after it fails the run, not the write
            record_run_part(
                conn,
                run_id=context.run_id,
                part=part,
                written=False,
                started_at=datetime.fromtimestamp(started, UTC),
                stage=context.step_key,
                error=message,
                source_url=redact_url(openrouter.url(MODELS_PATH)),
            )
    except Exception as exc:  # noqa: BLE001 - the step's own failure is what the operator needs
        context.log.warning(f"could not record the failed sync in ai_model_sync_runs: {type(exc).__name__}")
