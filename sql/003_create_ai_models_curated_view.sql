-- What the curated browse screen lists: hand-picked models that OpenRouter still offers.
CREATE OR REPLACE VIEW ai_models_curated AS
SELECT *
  FROM ai_models
 WHERE is_curated AND is_active;

COMMENT ON VIEW ai_models_curated IS 'Curated (is_curated) models that are still active in the OpenRouter catalog.';
