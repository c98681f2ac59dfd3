-- is_active holds two values and nearly every row is true, so no query reads this index: the active set is a
-- whole-table scan either way. Every sync paid to maintain it on each insert and on each non-HOT update.
DROP INDEX IF EXISTS idx_ai_models_active;

-- Each sync reads the curated ids twice (before and after its write, to prove none was lost); a few hand-picked
-- rows should not cost two scans of the whole catalog. Only curated rows are in the index, so the sync's own
-- inserts and updates of uncurated rows never touch it. The ai_models_curated view reads it too.
CREATE INDEX IF NOT EXISTS idx_ai_models_curated ON ai_models (openrouter_id) WHERE is_curated;
