"""The code location's operations: every run on record (a failure hook), alerts that reach people (sensors
posting to a webhook), and step values kept per run (an IO manager)."""

import json
import os
import pickle
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckSeverity,
    ConfigurableIOManager,
    DefaultSensorStatus,
    Failure,
    HookContext,
    InputContext,
    OutputContext,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SkipReason,
    failure_hook,
    run_failure_sensor,
    sensor,
)

from catalog_pipeline.assets import CATALOG_CHECK_KEYS
from catalog_pipeline.db.models import record_run_part, sync_run_committed
from catalog_pipeline.resources.http import redact_url
from catalog_pipeline.resources.openrouter import MODELS_PATH, OpenRouterClient
from catalog_pipeline.resources.postgres import CatalogDatabase
from catalog_pipeline.resources.webhook import AlertWebhook
from catalog_pipeline.secrets import scrub_resources


def _scrubbed(text: str, catalog_db: CatalogDatabase, openrouter: OpenRouterClient) -> str:
    return scrub_resources(text, catalog_db, openrouter)[:1500]


@run_failure_sensor(name="alert_on_failed_run", default_status=DefaultSensorStatus.RUNNING)
def alert_on_failed_run(
    context: RunFailureSensorContext,
    alert_webhook: AlertWebhook,
    catalog_db: CatalogDatabase,
    openrouter: OpenRouterClient,
) -> None:
    """Posts each failed run of this code location: the job, the run's link, the failed steps and their errors."""
    run = context.dagster_run
    lines = [f":red_circle: *{run.job_name}* failed: {alert_webhook.run_link(run.run_id)}"]
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        message = error.message.strip() if error else "no error recorded"
        lines.append(f"• step `{event.step_key}`: {_scrubbed(message, catalog_db, openrouter)}")
    if len(lines) == 1:
        lines.append(f"• {_scrubbed(context.failure_event.message or 'the run failed', catalog_db, openrouter)}")
    problem = alert_webhook.send("\n".join(lines))
    if problem:
        context.log.warning(f"no alert sent for run {run.run_id}: {problem}")


@sensor(name="alert_on_failed_checks", minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING)
def alert_on_failed_checks(context: SensorEvaluationContext, alert_webhook: AlertWebhook) -> SkipReason:
    """Posts each of the catalog's asset checks whose latest result, new since the last tick, failed (ERROR or
    WARN): the check, its run's link, and why."""
    latest = {key: context.instance.get_latest_asset_check_evaluation_record(key) for key in CATALOG_CHECK_KEYS}
    seen = {key.to_user_string(): record.id for key, record in latest.items() if record is not None}
    if context.cursor is None:  # the first tick: start from now, not from the history
        context.update_cursor(json.dumps(seen))
        return SkipReason("started watching check results")
    known = json.loads(context.cursor)
    failed = []
    for key, record in latest.items():
        if record is None or record.id <= known.get(key.to_user_string(), 0) or record.event is None:
            continue
        evaluation = record.event.dagster_event.event_specific_data
        if evaluation.passed:
            continue
        severity = "WARN" if evaluation.severity == AssetCheckSeverity.WARN else "ERROR"
        metadata = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
        why = metadata.get("failures") or json.dumps(metadata, default=str)[:600]
        failed.append(
            f":warning: check *{key.name}* on `{key.asset_key.to_user_string()}` failed ({severity}): "
            f"{alert_webhook.run_link(record.run_id)}\n{str(why)[:1200]}"
        )
    context.update_cursor(json.dumps(seen))
    if not failed:
        return SkipReason("no new failed check")
    problem = alert_webhook.send("\n\n".join(sorted(failed)))
    if problem:
        context.log.warning(f"no alert sent for {len(failed)} failed checks: {problem}")
        return SkipReason(f"{len(failed)} failed checks; no alert sent: {problem}")
    return SkipReason(f"alerted on {len(failed)} failed checks")


alert_sensors = [alert_on_failed_run, alert_on_failed_checks]


@failure_hook(required_resource_keys={"catalog_db", "openrouter"})
def record_failed_run(context: HookContext) -> None:
    """The run's row says which part failed, in which step and why (scrubbed of secrets), beside what was written."""
    catalog_db, openrouter = context.resources.catalog_db, context.resources.openrouter
    error = context.op_exception
    message = f"{type(error).__name__}: {error}" if error is not None else "the step failed"
    message = scrub_resources(message, catalog_db, openrouter)[:2000]
    record = context.instance.get_run_record_by_id(context.run_id)
    started = record.start_time if record and record.start_time else datetime.now(UTC).timestamp()
    # The step's part of the run: the providers steps have none of their own (their failure fails the run only).
    part: str | None = "catalog"
    if "endpoints" in context.step_key:
        part = "endpoints"
    elif "providers" in context.step_key:
        part = None
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


class RunScopedPickleIOManager(ConfigurableIOManager):
    """Pickles each asset's value under <instance storage>/runs/<run id>/. A step reads what its own run wrote,
    or, materialized alone, the exact run of the upstream asset's latest materialization; never a file that
    another run, running at the same time, is writing."""

    def _path(self, storage: str, run_id: str, asset_path: list[str]) -> Path:
        return Path(storage, "runs", run_id, *asset_path).with_suffix(".pickle")

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        path = self._path(context.step_context.instance.storage_directory(), context.run_id, context.asset_key.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader sees the whole value or none.
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, path)

    def load_input(self, context: InputContext) -> Any:
        key = context.asset_key
        storage = context.instance.storage_directory()
        path = self._path(storage, context.step_context.run_id, key.path)
        if not path.exists():
            event = context.instance.get_latest_materialization_event(key)
            if event is None:
                raise Failure(f"{key.to_user_string()} has never been materialized: materialize it first")
            path = self._path(storage, event.run_id, key.path)
            if not path.exists():
                raise Failure(
                    f"the value of {key.to_user_string()} from run {event.run_id} is no longer stored: "
                    "materialize it again"
                )
        with path.open("rb") as handle:
            return pickle.load(handle)  # noqa: S301 - files this IO manager wrote itself
