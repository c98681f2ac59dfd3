-- Curation: the output modality consumers filter on, and the hand-set curated flag.
ALTER TABLE ai_models
    ADD COLUMN IF NOT EXISTS modality TEXT NOT NULL DEFAULT 'text'
        CHECK (modality IN ('text', 'image', 'video', 'audio', 'embedding', 'multimodal'));

ALTER TABLE ai_models
    ADD COLUMN IF NOT EXISTS is_curated BOOLEAN NOT NULL DEFAULT false;

CREATE INDEX IF NOT EXISTS idx_ai_models_modality ON ai_models (modality);
CREATE INDEX IF NOT EXISTS idx_ai_models_curated ON ai_models (is_curated) WHERE is_curated = true;

COMMENT ON COLUMN ai_models.modality IS
    'The model''s output modality: text, image, video, audio, embedding or multimodal (text output from image/audio/video input).';
COMMENT ON COLUMN ai_models.is_curated IS
    'Manually flagged for the curated view. Never synced: the OpenRouter sync neither reads nor writes it.';

-- Curation seed, run by hand once if wanted (a sync never sets is_curated):
-- UPDATE ai_models SET is_curated = true
--  WHERE openrouter_id LIKE 'anthropic/claude-%'
--     OR openrouter_id LIKE 'openai/gpt-4o%'
--     OR openrouter_id LIKE 'openai/gpt-4-turbo%'
--     OR openrouter_id LIKE 'google/gemini-2%'
--     OR openrouter_id LIKE 'google/gemini-pro%'
--     OR openrouter_id LIKE 'meta-llama/llama-3.3%'
--     OR openrouter_id LIKE 'mistralai/mistral-large%'
--     OR openrouter_id LIKE 'x-ai/grok%';

-- Rollback (by hand; drops every curated flag):
-- DROP INDEX IF EXISTS idx_ai_models_curated;
-- DROP INDEX IF EXISTS idx_ai_models_modality;
-- ALTER TABLE ai_models DROP COLUMN IF EXISTS is_curated;
-- ALTER TABLE ai_models DROP COLUMN IF EXISTS modality;
