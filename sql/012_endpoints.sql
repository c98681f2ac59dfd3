-- Per-provider endpoints: who serves each model, at what price, precision, context and uptime.
CREATE TABLE IF NOT EXISTS ai_model_endpoints (
    id                           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    openrouter_id                text NOT NULL,
    tag                          text NOT NULL,
    provider_name                text,
    quantization                 text,
    context_length               integer,
    max_completion_tokens        integer,
    max_prompt_tokens            integer,
    supported_parameters         text[],
    supports_implicit_caching    boolean,
    billing_unit                 text,
    pricing_kind                 text,
    input_cost_per_million       numeric,
    output_cost_per_million      numeric,
    cache_read_cost_per_million  numeric,
    pricing                      jsonb,
    is_active                    boolean NOT NULL DEFAULT true,
    first_seen_at                timestamptz NOT NULL DEFAULT now(),
    removed_at                   timestamptz,
    updated_at                   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (openrouter_id, tag)
);

COMMENT ON TABLE ai_model_endpoints IS 'One row per model and provider endpoint (tag); an endpoint that goes is deactivated, never deleted.';
COMMENT ON COLUMN ai_model_endpoints.id IS 'Surrogate key.';
COMMENT ON COLUMN ai_model_endpoints.openrouter_id IS 'The model (ai_models.openrouter_id).';
COMMENT ON COLUMN ai_model_endpoints.tag IS 'The provider/variant slug, e.g. deepinfra/fp8; the provider''s name where the API gives no tag.';
COMMENT ON COLUMN ai_model_endpoints.provider_name IS 'The provider serving the model, e.g. DeepInfra.';
COMMENT ON COLUMN ai_model_endpoints.quantization IS 'Precision as the API gives it (fp8, bf16, int4, unknown, …); NULL when not given.';
COMMENT ON COLUMN ai_model_endpoints.context_length IS 'This endpoint''s context window in tokens.';
COMMENT ON COLUMN ai_model_endpoints.max_completion_tokens IS 'This endpoint''s output limit in tokens.';
COMMENT ON COLUMN ai_model_endpoints.max_prompt_tokens IS 'This endpoint''s prompt limit in tokens.';
COMMENT ON COLUMN ai_model_endpoints.supported_parameters IS 'Request parameters this endpoint accepts.';
COMMENT ON COLUMN ai_model_endpoints.supports_implicit_caching IS 'Whether the provider caches prompts without being asked.';
COMMENT ON COLUMN ai_model_endpoints.billing_unit IS 'token, or the unit of the endpoint''s main price (as ai_models.billing_unit).';
COMMENT ON COLUMN ai_model_endpoints.pricing_kind IS 'paid, free or variable.';
COMMENT ON COLUMN ai_model_endpoints.input_cost_per_million IS 'USD per million input tokens, exact; per-token prices only.';
COMMENT ON COLUMN ai_model_endpoints.output_cost_per_million IS 'USD per million output tokens, exact; per-token prices only.';
COMMENT ON COLUMN ai_model_endpoints.cache_read_cost_per_million IS 'USD per million cached input tokens read; NULL when not offered.';
COMMENT ON COLUMN ai_model_endpoints.pricing IS 'The raw pricing object of the endpoint (a discount factor included).';
COMMENT ON COLUMN ai_model_endpoints.is_active IS 'false once the provider stopped serving the model, or the model left the catalog.';
COMMENT ON COLUMN ai_model_endpoints.first_seen_at IS 'When a sync first wrote the endpoint.';
COMMENT ON COLUMN ai_model_endpoints.removed_at IS 'When a sync last found the endpoint gone; NULL while active.';
COMMENT ON COLUMN ai_model_endpoints.updated_at IS 'When a sync last changed the endpoint.';

-- Every price of every endpoint, dated, as ai_model_prices is for models.
CREATE TABLE IF NOT EXISTS ai_model_endpoint_prices (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    openrouter_id      text NOT NULL,
    tag                text NOT NULL,
    component          text NOT NULL,
    unit               text,
    condition          text NOT NULL DEFAULT '',
    tier               text,
    override_position  integer,
    min_prompt_tokens  numeric,
    utc_start          integer,
    utc_end            integer,
    price              numeric NOT NULL,
    price_per_million  numeric,
    valid_from         timestamptz NOT NULL,
    valid_to           timestamptz,
    dagster_run_id     text,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_ai_model_endpoint_prices_open
    ON ai_model_endpoint_prices (openrouter_id, tag, component, condition) WHERE valid_to IS NULL;
COMMENT ON TABLE ai_model_endpoint_prices IS
    'Every price of every endpoint, one row per component and condition per period (as ai_model_prices for models).';

-- The volatile figures: one dated row per endpoint per sync.
CREATE TABLE IF NOT EXISTS ai_model_endpoint_observations (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    observed_at          timestamptz NOT NULL,
    openrouter_id        text NOT NULL,
    tag                  text NOT NULL,
    status               integer,
    uptime_last_5m       double precision,
    uptime_last_30m      double precision,
    uptime_last_1d       double precision,
    latency_last_30m     jsonb,
    throughput_last_30m  jsonb,
    dagster_run_id       text
);
CREATE INDEX IF NOT EXISTS idx_ai_model_endpoint_observations_endpoint
    ON ai_model_endpoint_observations (openrouter_id, tag, observed_at);
CREATE INDEX IF NOT EXISTS idx_ai_model_endpoint_observations_time ON ai_model_endpoint_observations (observed_at);
COMMENT ON TABLE ai_model_endpoint_observations IS
    'Status, uptime, latency and throughput of each endpoint at each sync; pruned after 90 days by default.';
COMMENT ON COLUMN ai_model_endpoint_observations.status IS 'OpenRouter''s endpoint status code, stored as given (0 is normal).';
COMMENT ON COLUMN ai_model_endpoint_observations.latency_last_30m IS 'jsonb percentiles (p50, p75, p90, p99), ms to first token; NULL without authentication.';
COMMENT ON COLUMN ai_model_endpoint_observations.throughput_last_30m IS 'jsonb percentiles, output tokens per second; NULL without authentication.';

-- One row per active model with endpoints: how many, the cheapest per-token prices and who offers them.
CREATE OR REPLACE VIEW ai_model_endpoint_summary AS
SELECT m.openrouter_id,
       count(e.*) AS endpoint_count,
       min(e.input_cost_per_million) AS cheapest_input_cost_per_million,
       (SELECT c.provider_name FROM ai_model_endpoints c
         WHERE c.openrouter_id = m.openrouter_id AND c.is_active AND c.input_cost_per_million IS NOT NULL
         ORDER BY c.input_cost_per_million, c.tag LIMIT 1) AS cheapest_input_provider,
       min(e.output_cost_per_million) AS cheapest_output_cost_per_million,
       max(e.context_length) AS max_context_length,
       array_agg(DISTINCT e.provider_name ORDER BY e.provider_name) FILTER (WHERE e.provider_name IS NOT NULL)
           AS providers
  FROM ai_models m
  JOIN ai_model_endpoints e ON e.openrouter_id = m.openrouter_id AND e.is_active
 WHERE m.is_active
 GROUP BY m.openrouter_id;

COMMENT ON VIEW ai_model_endpoint_summary IS 'Per active model: its active endpoints, the cheapest per-token prices and their provider, the largest context.';
