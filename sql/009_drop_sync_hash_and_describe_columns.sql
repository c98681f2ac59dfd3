-- The sync now compares staged rows with the stored ones directly, so the digest column, its trigger and its
-- function go. Every column gets a comment: the Dagster UI's column descriptions are read from these.
DROP TRIGGER IF EXISTS ai_models_forget_sync_hash ON ai_models;
DROP FUNCTION IF EXISTS ai_models_forget_sync_hash();
ALTER TABLE ai_models DROP COLUMN IF EXISTS sync_hash;

COMMENT ON COLUMN ai_models.id IS 'Surrogate primary key (uuid); stable for the life of the row.';
COMMENT ON COLUMN ai_models.openrouter_id IS 'OpenRouter model id, e.g. openai/gpt-4o; the sync''s upsert key.';
COMMENT ON COLUMN ai_models.canonical_slug IS 'OpenRouter''s canonical slug; variants (:free, :nitro, …) share their base model''s.';
COMMENT ON COLUMN ai_models.name IS 'Display name (the API''s name, or one made from the id when that is missing or too long).';
COMMENT ON COLUMN ai_models.description IS 'OpenRouter''s description of the model (often truncated with "..." since 2026).';
COMMENT ON COLUMN ai_models.provider IS 'Display name of the provider, e.g. OpenAI.';
COMMENT ON COLUMN ai_models.provider_slug IS 'The id''s part before the slash, e.g. openai.';
COMMENT ON COLUMN ai_models.input_modalities IS 'Input modalities, lower-case and sorted (text, image, audio, video, file).';
COMMENT ON COLUMN ai_models.output_modalities IS 'Output modalities, lower-case and sorted.';
COMMENT ON COLUMN ai_models.context_length IS 'Context window in tokens; NULL when unknown (routers).';
COMMENT ON COLUMN ai_models.max_completion_tokens IS 'The top provider''s output limit in tokens; NULL when unknown.';
COMMENT ON COLUMN ai_models.pricing_kind IS 'paid, free (every price zero) or variable (a router: prices depend on the model it picks).';
COMMENT ON COLUMN ai_models.capabilities IS 'jsonb: vision, web_search, tool_calling, reasoning, structured_outputs (null = unknown).';
COMMENT ON COLUMN ai_models.supported_parameters IS 'Request parameters the model accepts, as the API lists them; NULL in older catalogs.';
COMMENT ON COLUMN ai_models.hugging_face_id IS 'The model''s Hugging Face repository, when it has one.';
COMMENT ON COLUMN ai_models.tokenizer IS 'Tokenizer family, e.g. GPT, Claude, Llama3.';
COMMENT ON COLUMN ai_models.instruct_type IS 'Instruction format for open models, e.g. chatml; NULL when none.';
COMMENT ON COLUMN ai_models.openrouter_created_at IS 'When OpenRouter added the model (its created field).';
COMMENT ON COLUMN ai_models.expiration_date IS 'The date OpenRouter will retire the model, when announced.';
COMMENT ON COLUMN ai_models.first_seen_at IS 'When a sync first wrote the model.';
COMMENT ON COLUMN ai_models.removed_at IS 'When a sync last found the model gone from the catalog; NULL while active.';
COMMENT ON COLUMN ai_models.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN ai_models.updated_at IS 'When a sync last changed a synced value of the row.';

COMMENT ON COLUMN ai_model_sync_runs.set_aside IS 'Model objects fetched but not written: malformed (set aside) or repeating an id.';
