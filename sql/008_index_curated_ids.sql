-- 007 meant to index the curated rows' ids, but 002 had already created an index of that name (on is_curated),
-- so 007's CREATE INDEX IF NOT EXISTS did nothing. The curated-id reads worked through 002's index all along;
-- this gives the index the shape 007 describes, so those reads need not visit the table.
DROP INDEX IF EXISTS idx_ai_models_curated;
CREATE INDEX idx_ai_models_curated ON ai_models (openrouter_id) WHERE is_curated;
