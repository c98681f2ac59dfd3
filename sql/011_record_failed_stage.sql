-- Every run of the sync job is on record, whatever step ended it: the step that failed, beside its error.
ALTER TABLE ai_model_sync_runs ADD COLUMN IF NOT EXISTS stage text;

COMMENT ON TABLE ai_model_sync_runs IS 'One row per run of the sync job: a success written in its transaction, or a failure and the step it failed in.';
COMMENT ON COLUMN ai_model_sync_runs.id IS 'Surrogate key.';
COMMENT ON COLUMN ai_model_sync_runs.dagster_run_id IS 'The Dagster run.';
COMMENT ON COLUMN ai_model_sync_runs.started_at IS 'When the write (or, for a failure, the run) started.';
COMMENT ON COLUMN ai_model_sync_runs.finished_at IS 'When it finished.';
COMMENT ON COLUMN ai_model_sync_runs.source_url IS 'The listing URLs the catalog came from (no credentials).';
COMMENT ON COLUMN ai_model_sync_runs.fetched IS 'Model objects fetched, repeats included.';
COMMENT ON COLUMN ai_model_sync_runs.outcome IS 'success or failed.';
COMMENT ON COLUMN ai_model_sync_runs.error IS 'What went wrong, scrubbed of secrets.';
COMMENT ON COLUMN ai_model_sync_runs.stage IS 'The step a failed run ended in: raw_openrouter_models, classified_models_catalog_not_truncated, ai_models_table, …';
