-- One row per sync attempt, written in the sync's transaction on success and after the rollback on failure.
CREATE TABLE IF NOT EXISTS ai_model_sync_runs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dagster_run_id   text,
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    source_url       text,
    fetched          integer,
    set_aside        integer,
    inserted         integer,
    updated          integer,
    unchanged        integer,
    deactivated      integer,
    reactivated      integer,
    curated_before   integer,
    curated_after    integer,
    outcome          text NOT NULL CHECK (outcome IN ('success', 'failed')),
    error            text
);

CREATE INDEX IF NOT EXISTS idx_ai_model_sync_runs_started ON ai_model_sync_runs (started_at DESC);
CREATE INDEX IF NOT EXISTS idx_ai_model_sync_runs_run ON ai_model_sync_runs (dagster_run_id);
