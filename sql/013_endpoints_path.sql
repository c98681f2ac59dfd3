-- Where each model's endpoints are listed (links.details), so the endpoints fetch can run from the table alone.
ALTER TABLE ai_models ADD COLUMN IF NOT EXISTS endpoints_path text;
COMMENT ON COLUMN ai_models.endpoints_path IS 'The API path of the model''s per-provider endpoints (links.details); NULL in catalogs before 2026.';
