-- True to the real API: stored prices in their real unit, no markers stored as prices, views with every column,
-- and a sync-run row that says what happened to each part of the run.

-- "-1" marks a router whose price depends on the model it picks: a marker, not a price (ai_models has NULL).
DELETE FROM ai_model_prices WHERE price < 0;
DELETE FROM ai_model_endpoint_prices WHERE price < 0;

-- image_output is per token: google/gemini-3-pro-image's "0.00012" is Google's $120 per million image-output
-- tokens. image is per token in the 2026 API when it is below $0.00005 or equals the prompt price in force beside
-- it (see catalog_pipeline/prices.py, image_unit). Periods already stored are corrected, not reopened.
UPDATE ai_model_prices SET unit = 'token', price_per_million = trim_scale(price * 1000000)
 WHERE component = 'image_output' AND unit = 'image';
UPDATE ai_model_endpoint_prices SET unit = 'token', price_per_million = trim_scale(price * 1000000)
 WHERE component = 'image_output' AND unit = 'image';
UPDATE ai_model_prices p SET unit = 'token', price_per_million = trim_scale(p.price * 1000000)
 WHERE p.component = 'image' AND p.unit = 'image'
   AND ((p.price > 0 AND p.price < 0.00005)
        OR EXISTS (SELECT 1 FROM ai_model_prices q
                    WHERE q.openrouter_id = p.openrouter_id AND q.component = 'prompt' AND q.condition = p.condition
                      AND q.price = p.price AND q.price <> 0
                      AND tstzrange(q.valid_from, q.valid_to) && tstzrange(p.valid_from, p.valid_to)));
UPDATE ai_model_endpoint_prices p SET unit = 'token', price_per_million = trim_scale(p.price * 1000000)
 WHERE p.component = 'image' AND p.unit = 'image'
   AND ((p.price > 0 AND p.price < 0.00005)
        OR EXISTS (SELECT 1 FROM ai_model_endpoint_prices q
                    WHERE q.openrouter_id = p.openrouter_id AND q.tag = p.tag AND q.component = 'prompt'
                      AND q.condition = p.condition AND q.price = p.price AND q.price <> 0
                      AND tstzrange(q.valid_from, q.valid_to) && tstzrange(p.valid_from, p.valid_to)));

-- PostgreSQL fixes a view's columns when it is created: 003's SELECT * missed every column added since.
DROP VIEW IF EXISTS ai_models_curated;
CREATE VIEW ai_models_curated AS
SELECT * FROM ai_models WHERE is_curated AND is_active;
COMMENT ON VIEW ai_models_curated IS 'Curated (is_curated) models that are still active in the OpenRouter catalog.';

-- Each part of a run: the catalog and the endpoints, written or failed (NULL: the run did not reach it).
ALTER TABLE ai_model_sync_runs
    ADD COLUMN IF NOT EXISTS catalog_outcome text CHECK (catalog_outcome IN ('written', 'failed')),
    ADD COLUMN IF NOT EXISTS endpoints_outcome text CHECK (endpoints_outcome IN ('written', 'failed'));
UPDATE ai_model_sync_runs SET catalog_outcome = 'written' WHERE outcome = 'success' AND catalog_outcome IS NULL;
COMMENT ON COLUMN ai_model_sync_runs.outcome IS 'success when every part the run reached was written; else failed.';
COMMENT ON COLUMN ai_model_sync_runs.catalog_outcome IS 'ai_models: written (committed) or failed; NULL when the run did not reach it.';
COMMENT ON COLUMN ai_model_sync_runs.endpoints_outcome IS 'ai_model_endpoints: written (committed) or failed; NULL when the run did not reach it.';
COMMENT ON COLUMN ai_model_sync_runs.error IS 'What went wrong, in the step named by stage, scrubbed of secrets.';
