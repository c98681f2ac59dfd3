-- A digest of each row's synced values as last written. A sync compares it with the digest of the row it is
-- about to write and stages only rows that differ (or are new or inactive), so an unchanged catalog costs
-- one read of ids and digests instead of re-sending every row. The database comparison (IS DISTINCT FROM)
-- still decides what is written; the digest only narrows what is sent.
ALTER TABLE ai_models ADD COLUMN IF NOT EXISTS sync_hash text;

COMMENT ON COLUMN ai_models.sync_hash IS
    'Digest of the synced values as last written by the sync; an optimisation, never read by consumers.';

-- A hand edit of a synced column (say, a corrected name) forgets the digest, so the next sync compares that
-- row in full and restores the catalog's value.
CREATE OR REPLACE FUNCTION ai_models_forget_sync_hash() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.openrouter_id, NEW.canonical_slug, NEW.name, NEW.description, NEW.provider, NEW.provider_slug,
            NEW.modality, NEW.input_modalities, NEW.output_modalities, NEW.context_length,
            NEW.max_completion_tokens, NEW.input_cost_per_million, NEW.output_cost_per_million,
            NEW.pricing_kind, NEW.pricing, NEW.capabilities, NEW.supported_parameters,
            NEW.hugging_face_id, NEW.tokenizer, NEW.instruct_type, NEW.openrouter_created_at,
            NEW.expiration_date)
           IS DISTINCT FROM
           (OLD.openrouter_id, OLD.canonical_slug, OLD.name, OLD.description, OLD.provider, OLD.provider_slug,
            OLD.modality, OLD.input_modalities, OLD.output_modalities, OLD.context_length,
            OLD.max_completion_tokens, OLD.input_cost_per_million, OLD.output_cost_per_million,
            OLD.pricing_kind, OLD.pricing, OLD.capabilities, OLD.supported_parameters,
            OLD.hugging_face_id, OLD.tokenizer, OLD.instruct_type, OLD.openrouter_created_at,
            OLD.expiration_date)
    THEN
        NEW.sync_hash := NULL;
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS ai_models_forget_sync_hash ON ai_models;
-- WHEN keeps the sync's own updates (which always carry a new digest) from calling the function at all.
CREATE TRIGGER ai_models_forget_sync_hash
    BEFORE UPDATE ON ai_models
    FOR EACH ROW
    WHEN (NEW.sync_hash IS NOT DISTINCT FROM OLD.sync_hash)
    EXECUTE FUNCTION ai_models_forget_sync_hash();
