-- Prices as they are billed: every component in its own unit, exact, dated, with tiers and conditions; the
-- 2026 API's new model fields; and the exact cost of one request at the prices in force at a given time.
ALTER TABLE ai_models
    ADD COLUMN IF NOT EXISTS billing_unit text,
    ADD COLUMN IF NOT EXISTS cache_read_cost_per_million numeric,
    ADD COLUMN IF NOT EXISTS cache_write_cost_per_million numeric,
    ADD COLUMN IF NOT EXISTS knowledge_cutoff date,
    ADD COLUMN IF NOT EXISTS alias_target text,
    ADD COLUMN IF NOT EXISTS reasoning jsonb,
    ADD COLUMN IF NOT EXISTS is_moderated boolean,
    ADD COLUMN IF NOT EXISTS per_request_limits jsonb;

COMMENT ON COLUMN ai_models.input_cost_per_million IS
    'USD per million input tokens, exact; NULL when the model is not billed per token (see billing_unit), is variable-priced or the price is unknown.';
COMMENT ON COLUMN ai_models.output_cost_per_million IS
    'USD per million output tokens, exact; NULL when the model is not billed per token, is variable-priced or the price is unknown.';
COMMENT ON COLUMN ai_models.billing_unit IS
    'token for a model billed per token; else the unit of its main price (minute, hour, second, image, megapixel, million characters, search, song, …).';
COMMENT ON COLUMN ai_models.cache_read_cost_per_million IS 'USD per million cached input tokens read, exact; NULL when not offered.';
COMMENT ON COLUMN ai_models.cache_write_cost_per_million IS 'USD per million input tokens written to the cache (the default TTL), exact; NULL when not offered.';
COMMENT ON COLUMN ai_models.knowledge_cutoff IS 'The date the model''s training data ends, when OpenRouter says.';
COMMENT ON COLUMN ai_models.alias_target IS 'For a ~…-latest alias, the slug of the model it points to today.';
COMMENT ON COLUMN ai_models.reasoning IS 'jsonb: how the model reasons (mandatory, supported_efforts, default_effort), as the API sends it.';
COMMENT ON COLUMN ai_models.is_moderated IS 'Whether the top provider moderates content.';
COMMENT ON COLUMN ai_models.per_request_limits IS 'jsonb: per-request token limits, as the API sends them; NULL when none.';

-- One row per model, price component and condition, for each period [valid_from, valid_to) it was in force.
CREATE TABLE IF NOT EXISTS ai_model_prices (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    openrouter_id      text NOT NULL,
    component          text NOT NULL,
    unit               text,
    condition          text NOT NULL DEFAULT '',
    tier               text,
    override_position  integer,
    min_prompt_tokens  numeric,
    utc_start          integer CHECK (utc_start BETWEEN 0 AND 2400),
    utc_end            integer CHECK (utc_end BETWEEN 0 AND 2400),
    price              numeric NOT NULL,
    price_per_million  numeric,
    valid_from         timestamptz NOT NULL,
    valid_to           timestamptz,
    dagster_run_id     text,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);

CREATE UNIQUE INDEX IF NOT EXISTS uq_ai_model_prices_open
    ON ai_model_prices (openrouter_id, component, condition) WHERE valid_to IS NULL;
CREATE INDEX IF NOT EXISTS idx_ai_model_prices_lookup ON ai_model_prices (openrouter_id, component, valid_from);

COMMENT ON TABLE ai_model_prices IS
    'Every price of every model, one row per component and condition per period; a change closes the period and opens a new one.';
COMMENT ON COLUMN ai_model_prices.id IS 'Surrogate key.';
COMMENT ON COLUMN ai_model_prices.openrouter_id IS 'The model (ai_models.openrouter_id).';
COMMENT ON COLUMN ai_model_prices.component IS
    'prompt, completion, input_cache_read, input_cache_write, input_cache_write_1h, internal_reasoning, web_search, request, image, image_output, audio, audio_output, input_audio_cache, or a pricing.units entry by its label.';
COMMENT ON COLUMN ai_model_prices.unit IS 'token, image, second, minute, hour, megapixel, million characters, search, request, …; NULL for a key the sync does not know yet.';
COMMENT ON COLUMN ai_model_prices.condition IS 'Empty for the base price; else the tier or the override''s conditions in words (unique per model and component).';
COMMENT ON COLUMN ai_model_prices.tier IS 'A units tier label, e.g. 1080p; NULL otherwise.';
COMMENT ON COLUMN ai_model_prices.override_position IS 'Position (1, 2, …) of the pricing.overrides entry; a later applicable entry wins per component.';
COMMENT ON COLUMN ai_model_prices.min_prompt_tokens IS 'The override applies when the request''s prompt tokens are strictly more than this.';
COMMENT ON COLUMN ai_model_prices.utc_start IS 'The override applies from this UTC time of day (HHMM, inclusive)…';
COMMENT ON COLUMN ai_model_prices.utc_end IS '…to this one (HHMM, exclusive), wrapping past midnight when utc_start > utc_end.';
COMMENT ON COLUMN ai_model_prices.price IS 'USD per unit, exactly as OpenRouter sent it (negative: variable-priced router).';
COMMENT ON COLUMN ai_model_prices.price_per_million IS 'USD per million tokens, for token units; NULL otherwise.';
COMMENT ON COLUMN ai_model_prices.valid_from IS 'When a sync first saw this price.';
COMMENT ON COLUMN ai_model_prices.valid_to IS 'When a sync saw it change or go; NULL while in force.';
COMMENT ON COLUMN ai_model_prices.dagster_run_id IS 'The Dagster run that opened the period.';

-- The exact USD cost of one request at the prices in force at `at`: cached prompt tokens at the cache-read price
-- (else the prompt price), a per-request fee if any, and the applicable overrides (prompt strictly above
-- min_prompt_tokens; UTC window [utc_start, utc_end) of `at`, wrapping past midnight), later entries winning per
-- component. NULL for a variable-priced model, one not billed per token, an unknown id or a time before the
-- model was first seen: it never guesses.
CREATE OR REPLACE FUNCTION ai_model_request_cost(
    openrouter_id text,
    prompt_tokens bigint,
    completion_tokens bigint,
    cached_prompt_tokens bigint DEFAULT 0,
    at timestamptz DEFAULT now()
) RETURNS numeric
LANGUAGE sql STABLE AS $$
    WITH in_force AS (
        SELECT p.component, p.unit, p.price, p.override_position, p.min_prompt_tokens, p.utc_start, p.utc_end
          FROM ai_model_prices p
         WHERE p.openrouter_id = ai_model_request_cost.openrouter_id
           AND p.tier IS NULL
           AND p.valid_from <= ai_model_request_cost.at
           AND (p.valid_to IS NULL OR p.valid_to > ai_model_request_cost.at)),
    clock AS (
        SELECT (extract(hour FROM ai_model_request_cost.at AT TIME ZONE 'UTC') * 100
                + extract(minute FROM ai_model_request_cost.at AT TIME ZONE 'UTC'))::integer AS hhmm),
    effective AS (
        SELECT DISTINCT ON (p.component) p.component, p.unit, p.price
          FROM in_force p, clock c
         WHERE p.override_position IS NULL
            OR ((p.min_prompt_tokens IS NULL OR ai_model_request_cost.prompt_tokens > p.min_prompt_tokens)
                AND (p.utc_start IS NULL
                     OR CASE WHEN p.utc_start <= p.utc_end THEN c.hhmm >= p.utc_start AND c.hhmm < p.utc_end
                             ELSE c.hhmm >= p.utc_start OR c.hhmm < p.utc_end END))
         ORDER BY p.component, p.override_position DESC NULLS LAST),
    base AS (
        SELECT max(price) FILTER (WHERE component = 'prompt' AND unit = 'token') AS prompt,
               max(price) FILTER (WHERE component = 'completion' AND unit = 'token') AS completion,
               max(price) FILTER (WHERE component = 'input_cache_read' AND unit = 'token') AS cache_read,
               max(price) FILTER (WHERE component = 'request' AND unit = 'request') AS request,
               bool_or(price < 0) AS variable
          FROM in_force WHERE override_position IS NULL),
    chosen AS (
        SELECT max(price) FILTER (WHERE component = 'prompt' AND unit = 'token') AS prompt,
               max(price) FILTER (WHERE component = 'completion' AND unit = 'token') AS completion,
               max(price) FILTER (WHERE component = 'input_cache_read' AND unit = 'token') AS cache_read,
               max(price) FILTER (WHERE component = 'request' AND unit = 'request') AS request
          FROM effective)
    SELECT CASE
               WHEN b.variable OR b.prompt IS NULL OR b.completion IS NULL THEN NULL
               ELSE (ai_model_request_cost.prompt_tokens - ai_model_request_cost.cached_prompt_tokens) * c.prompt
                    + ai_model_request_cost.cached_prompt_tokens * coalesce(c.cache_read, c.prompt)
                    + ai_model_request_cost.completion_tokens * c.completion
                    + coalesce(c.request, 0)
           END
      FROM base b, chosen c
$$;

COMMENT ON FUNCTION ai_model_request_cost(text, bigint, bigint, bigint, timestamptz) IS
    'Exact USD cost of one request at the prices in force at `at` (tiers, UTC windows, cache reads, request fee); NULL when it cannot be known.';
