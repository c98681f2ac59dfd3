-- earlier checksum: 3b07703b419cbe8de1c291bfda33c3421f33c6f531809bdef467f7f6b19f5d86
-- Dated price history: one row per price period of a model, [valid_from, valid_to).
-- "What did model X cost on date D" is:
--   SELECT * FROM ai_model_price_history
--    WHERE openrouter_id = X AND valid_from <= D AND (valid_to IS NULL OR valid_to > D);
CREATE TABLE IF NOT EXISTS ai_model_price_history (
    id                               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    openrouter_id                    text NOT NULL,
    input_cost_per_million           numeric,
    output_cost_per_million          numeric,
    pricing_kind                     text,
    pricing                          jsonb,
    previous_input_cost_per_million  numeric,
    previous_output_cost_per_million numeric,
    previous_pricing_kind            text,
    valid_from                       timestamptz NOT NULL,
    valid_to                         timestamptz,
    dagster_run_id                   text,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);

-- At most one open period per model. Only while it is a table: since 016 it is a view, and a ledger restored
-- empty re-runs this file over it.
DO $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('ai_model_price_history')) = 'r' THEN
        CREATE UNIQUE INDEX IF NOT EXISTS uq_ai_model_price_history_open
            ON ai_model_price_history (openrouter_id) WHERE valid_to IS NULL;
        CREATE INDEX IF NOT EXISTS idx_ai_model_price_history_lookup
            ON ai_model_price_history (openrouter_id, valid_from);
        COMMENT ON TABLE ai_model_price_history IS
            'Prices of each model over time; a period is closed when the price changes or the model leaves the catalog.';
    END IF;
END
$$;
