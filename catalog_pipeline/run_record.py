"""Every run of the sync job is on record in ai_model_sync_runs: a failure, whatever step ended it, too."""

from datetime import UTC, datetime

from dagster import HookContext, failure_hook

from catalog_pipeline.resources.openrouter import MODELS_PATH, redact_url
from catalog_pipeline.secrets import scrub_resources
from catalog_pipeline.store import record_sync_run, sync_run_committed


@failure_hook(required_resource_keys={"catalog_db", "openrouter"})
def record_failed_run(context: HookContext) -> None:
    """A failed row for the run, with the step and its error scrubbed of secrets, unless the run's write committed."""
    catalog_db, openrouter = context.resources.catalog_db, context.resources.openrouter
    error = context.op_exception
    message = f"{type(error).__name__}: {error}" if error is not None else "the step failed"
    message = scrub_resources(message, catalog_db, openrouter)[:2000]
    record = context.instance.get_run_record_by_id(context.run_id)
    started = record.start_time if record and record.start_time else datetime.now(UTC).timestamp()
    try:
        with catalog_db.migrated() as conn:
            if sync_run_committed(conn, context.run_id):
                return  # the write committed; what failed after it is in the run's log
            record_sync_run(
                conn,
                run_id=context.run_id,
                outcome="failed",
                started_at=datetime.fromtimestamp(started, UTC),
                source_url=redact_url(openrouter.url(MODELS_PATH)),
                error=message,
                stage=context.step_key,
            )
    except Exception as exc:  # noqa: BLE001 - the step's own failure is what the operator needs
        context.log.warning(f"could not record the failed sync in ai_model_sync_runs: {type(exc).__name__}")
