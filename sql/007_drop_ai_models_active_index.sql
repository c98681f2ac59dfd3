-- is_active holds two values and nearly every row is true, so no query reads this index: the active set is a
-- whole-table scan either way. Every sync paid to maintain it on each insert and on each non-HOT update.
DROP INDEX IF EXISTS idx_ai_models_active;
