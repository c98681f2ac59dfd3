-- The catalog of AI models, one row per OpenRouter model id. Synced columns are owned by the
-- pipeline; is_curated (002) is owned by people. Rows are never deleted: a model that leaves the
-- catalog is marked inactive and keeps its history.
-- Needs PostgreSQL 13 or later (gen_random_uuid() is built in).
CREATE TABLE IF NOT EXISTS ai_models (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    openrouter_id            text NOT NULL UNIQUE,
    canonical_slug           text,
    name                     text NOT NULL,
    description              text,
    provider                 text NOT NULL,
    provider_slug            text NOT NULL,
    input_modalities         text[],
    output_modalities        text[],
    context_length           integer CHECK (context_length IS NULL OR context_length > 0),
    max_completion_tokens    integer,
    input_cost_per_million   numeric,
    output_cost_per_million  numeric,
    pricing_kind             text CHECK (pricing_kind IN ('paid', 'free', 'variable')),
    pricing                  jsonb,
    capabilities             jsonb NOT NULL DEFAULT '{}'::jsonb,
    supported_parameters     text[],
    hugging_face_id          text,
    tokenizer                text,
    instruct_type            text,
    openrouter_created_at    timestamptz,
    expiration_date          date,
    is_active                boolean NOT NULL DEFAULT true,
    first_seen_at            timestamptz NOT NULL DEFAULT now(),
    removed_at               timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS idx_ai_models_provider_slug ON ai_models (provider_slug);
CREATE INDEX IF NOT EXISTS idx_ai_models_active ON ai_models (is_active);

COMMENT ON TABLE ai_models IS 'AI models listed by OpenRouter, kept in step by the catalog_pipeline Dagster sync.';
COMMENT ON COLUMN ai_models.openrouter_id IS 'OpenRouter model id, e.g. openai/gpt-4o; the sync''s upsert key.';
COMMENT ON COLUMN ai_models.input_cost_per_million IS 'USD per million input tokens, exact; NULL when variable or unknown.';
COMMENT ON COLUMN ai_models.output_cost_per_million IS 'USD per million output tokens, exact; NULL when variable or unknown.';
COMMENT ON COLUMN ai_models.pricing IS 'The raw OpenRouter pricing object (per-token strings, per-unit prices).';
COMMENT ON COLUMN ai_models.is_active IS 'false once the model has left the OpenRouter catalog; set back to true if it returns.';
