-- Which model is good enough, and who really serves it at what price: each model's benchmark scores (OpenRouter's
-- `benchmarks`, since June 2026), dated as prices are; today's headline indexes and the reasoning settings on ai_models;
-- the models no other beats on both score and blended price; the model whose endpoints serve a model answered by
-- another; each endpoint's discount, dated.
CREATE TABLE IF NOT EXISTS ai_model_benchmarks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    openrouter_id   text NOT NULL,
    source          text NOT NULL,
    benchmark       text NOT NULL,
    category        text NOT NULL DEFAULT '',
    score           numeric NOT NULL,
    win_rate        numeric,
    rank            integer,
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz,
    dagster_run_id  text,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_ai_model_benchmarks_open
    ON ai_model_benchmarks (openrouter_id, source, benchmark, category) WHERE valid_to IS NULL;
-- The frontier reads one benchmark of every model at a date.
CREATE INDEX IF NOT EXISTS idx_ai_model_benchmarks_lookup
    ON ai_model_benchmarks (source, benchmark, category, valid_from);
COMMENT ON TABLE ai_model_benchmarks IS 'Each model''s benchmark scores over time, [valid_from, valid_to): a change closes a period and opens one; a score that goes closes its period.';
COMMENT ON COLUMN ai_model_benchmarks.id IS 'Surrogate key; stable for the life of the row.';
COMMENT ON COLUMN ai_model_benchmarks.openrouter_id IS 'The model (ai_models.openrouter_id); a variant carries its base model''s scores.';
COMMENT ON COLUMN ai_model_benchmarks.source IS 'Who measured it: artificial_analysis (indexes) or design_arena (arena results).';
COMMENT ON COLUMN ai_model_benchmarks.benchmark IS 'The index''s key (intelligence_index, coding_index, agentic_index), or the Design Arena arena (models, agents).';
COMMENT ON COLUMN ai_model_benchmarks.category IS 'The Design Arena category (website, 3d, …); '''' for an index.';
COMMENT ON COLUMN ai_model_benchmarks.score IS 'The index''s value (0 to 100), or the arena''s elo, exactly as sent.';
COMMENT ON COLUMN ai_model_benchmarks.win_rate IS 'Design Arena: the win rate in percent, as sent; NULL for an index.';
COMMENT ON COLUMN ai_model_benchmarks.rank IS 'Design Arena: the model''s rank in its arena and category; NULL for an index.';
COMMENT ON COLUMN ai_model_benchmarks.valid_from IS 'When a sync first saw these values.';
COMMENT ON COLUMN ai_model_benchmarks.valid_to IS 'When a sync saw them change or go; NULL while in force.';
COMMENT ON COLUMN ai_model_benchmarks.dagster_run_id IS 'The Dagster run that opened the period.';

ALTER TABLE ai_models
    ADD COLUMN IF NOT EXISTS intelligence_index numeric,
    ADD COLUMN IF NOT EXISTS coding_index numeric,
    ADD COLUMN IF NOT EXISTS agentic_index numeric,
    ADD COLUMN IF NOT EXISTS reasoning_mandatory boolean,
    ADD COLUMN IF NOT EXISTS reasoning_default_enabled boolean,
    ADD COLUMN IF NOT EXISTS reasoning_default_effort text,
    ADD COLUMN IF NOT EXISTS reasoning_supported_efforts text[],
    ADD COLUMN IF NOT EXISTS reasoning_supports_max_tokens boolean;
COMMENT ON COLUMN ai_models.intelligence_index IS 'Artificial Analysis'' intelligence index today (0 to 100); NULL when not sent. Dated in ai_model_benchmarks.';
COMMENT ON COLUMN ai_models.coding_index IS 'Artificial Analysis'' coding index today (0 to 100); NULL when not sent. Dated in ai_model_benchmarks.';
COMMENT ON COLUMN ai_models.agentic_index IS 'Artificial Analysis'' agentic index today (0 to 100); NULL when not sent. Dated in ai_model_benchmarks.';
COMMENT ON COLUMN ai_models.reasoning_mandatory IS 'reasoning.mandatory: reasoning cannot be turned off; NULL when not sent.';
COMMENT ON COLUMN ai_models.reasoning_default_enabled IS 'reasoning.default_enabled: reasoning is on unless turned off; NULL when not sent.';
COMMENT ON COLUMN ai_models.reasoning_default_effort IS 'reasoning.default_effort, e.g. medium; NULL when not sent.';
COMMENT ON COLUMN ai_models.reasoning_supported_efforts IS 'reasoning.supported_efforts, in the API''s order, e.g. {high,medium,low}; NULL when not sent.';
COMMENT ON COLUMN ai_models.reasoning_supports_max_tokens IS 'reasoning.supports_max_tokens: a reasoning token budget can be set; NULL when not sent.';

-- Who serves a model answered by another model's endpoints: on the real 2026-05-16 answers google/gemini-2.5-pro-preview
-- and -05-06 are answered by google/gemini-2.5-pro's endpoints (`data.id`), at the same list prices.
ALTER TABLE ai_models ADD COLUMN IF NOT EXISTS served_by text;
COMMENT ON COLUMN ai_models.served_by IS 'The model whose endpoints answer serves this one (its links.details answers for that model); NULL for a model that answers for itself, or whose endpoints were never fetched.';

-- PostgreSQL fixes a view's columns when it is created: recreated with the new ones (as 014).
DROP VIEW IF EXISTS ai_models_curated;
CREATE VIEW ai_models_curated WITH (security_invoker = true) AS
SELECT * FROM ai_models WHERE is_curated AND is_active;
COMMENT ON VIEW ai_models_curated IS 'Curated (is_curated) models that are still active in the OpenRouter catalog.';
GRANT SELECT ON ai_models_curated TO PUBLIC;

-- What `discount` means: an endpoint's price strings already include it (they are what a request is charged; the list
-- price is price / (1 - discount)), as the providers' own price sheets show (catalog_pipeline/rules/prices.py,
-- endpoint_discount). Each endpoint's discount is kept, dated as its prices are.
ALTER TABLE ai_model_endpoints ADD COLUMN IF NOT EXISTS discount numeric;
COMMENT ON COLUMN ai_model_endpoints.discount IS 'pricing.discount as sent (0.35 = 35 % off), already applied to the prices: the list price is price / (1 - discount). NULL when not sent. Dated in ai_model_endpoint_discounts.';

CREATE TABLE IF NOT EXISTS ai_model_endpoint_discounts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    openrouter_id   text NOT NULL,
    tag             text NOT NULL,
    discount        numeric NOT NULL,
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz,
    dagster_run_id  text,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_ai_model_endpoint_discounts_open
    ON ai_model_endpoint_discounts (openrouter_id, tag) WHERE valid_to IS NULL;
COMMENT ON TABLE ai_model_endpoint_discounts IS 'Each endpoint''s discount over time, [valid_from, valid_to): a change closes a period and opens one.';
COMMENT ON COLUMN ai_model_endpoint_discounts.id IS 'Surrogate key; stable for the life of the row.';
COMMENT ON COLUMN ai_model_endpoint_discounts.openrouter_id IS 'The model (ai_models.openrouter_id).';
COMMENT ON COLUMN ai_model_endpoint_discounts.tag IS 'The endpoint (ai_model_endpoints.tag).';
COMMENT ON COLUMN ai_model_endpoint_discounts.discount IS 'The discount in force over the period, already applied to the endpoint''s prices.';
COMMENT ON COLUMN ai_model_endpoint_discounts.valid_from IS 'When a sync first saw it.';
COMMENT ON COLUMN ai_model_endpoint_discounts.valid_to IS 'When a sync saw it change or go; NULL while in force.';
COMMENT ON COLUMN ai_model_endpoint_discounts.dagster_run_id IS 'The Dagster run that opened the period.';

-- What changed, told once: each synced row's periods in the catalog (a model, an endpoint, a provider: added, gone,
-- back), and each model's context window, dated, so ai_catalog_changes (below) can be built from dated tables alone.
CREATE TABLE IF NOT EXISTS ai_model_listings (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    openrouter_id      text NOT NULL,
    valid_from         timestamptz NOT NULL,
    valid_to           timestamptz,
    dagster_run_id     text,
    removed_by_run_id  text,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_ai_model_listings_open ON ai_model_listings (openrouter_id) WHERE valid_to IS NULL;
CREATE TABLE IF NOT EXISTS ai_model_endpoint_listings (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    openrouter_id      text NOT NULL,
    tag                text NOT NULL,
    valid_from         timestamptz NOT NULL,
    valid_to           timestamptz,
    dagster_run_id     text,
    removed_by_run_id  text,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_ai_model_endpoint_listings_open
    ON ai_model_endpoint_listings (openrouter_id, tag) WHERE valid_to IS NULL;
CREATE TABLE IF NOT EXISTS ai_provider_listings (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug               text NOT NULL,
    valid_from         timestamptz NOT NULL,
    valid_to           timestamptz,
    dagster_run_id     text,
    removed_by_run_id  text,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_ai_provider_listings_open ON ai_provider_listings (slug) WHERE valid_to IS NULL;
CREATE TABLE IF NOT EXISTS ai_model_context_lengths (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    openrouter_id   text NOT NULL,
    context_length  integer,
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz,
    dagster_run_id  text,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_ai_model_context_lengths_open
    ON ai_model_context_lengths (openrouter_id) WHERE valid_to IS NULL;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ai_model_listings', 'ai_model_endpoint_listings', 'ai_provider_listings'] LOOP
        EXECUTE format('COMMENT ON TABLE %I IS %L', t, 'Each row''s periods in the catalog, [valid_from, valid_to): '
                       'a period opens when a sync adds the row or finds it back, and closes when a sync finds it gone.');
        EXECUTE format('COMMENT ON COLUMN %I.id IS %L', t, 'Surrogate key; stable for the life of the row.');
        EXECUTE format('COMMENT ON COLUMN %I.valid_from IS %L', t, 'When a sync added it, or found it back.');
        EXECUTE format('COMMENT ON COLUMN %I.valid_to IS %L', t, 'When a sync found it gone; NULL while listed.');
        EXECUTE format('COMMENT ON COLUMN %I.dagster_run_id IS %L', t, 'The Dagster run that opened the period.');
        EXECUTE format('COMMENT ON COLUMN %I.removed_by_run_id IS %L', t, 'The Dagster run that closed it.');
    END LOOP;
END
$$;
COMMENT ON COLUMN ai_model_listings.openrouter_id IS 'The model (ai_models.openrouter_id).';
COMMENT ON COLUMN ai_model_endpoint_listings.openrouter_id IS 'The model (ai_models.openrouter_id).';
COMMENT ON COLUMN ai_model_endpoint_listings.tag IS 'The endpoint (ai_model_endpoints.tag).';
COMMENT ON COLUMN ai_provider_listings.slug IS 'The provider (ai_providers.slug).';
COMMENT ON TABLE ai_model_context_lengths IS 'Each model''s context window over time, [valid_from, valid_to).';
COMMENT ON COLUMN ai_model_context_lengths.id IS 'Surrogate key; stable for the life of the row.';
COMMENT ON COLUMN ai_model_context_lengths.openrouter_id IS 'The model (ai_models.openrouter_id).';
COMMENT ON COLUMN ai_model_context_lengths.context_length IS 'The context window in force over the period, in tokens.';
COMMENT ON COLUMN ai_model_context_lengths.valid_from IS 'When a sync first saw it.';
COMMENT ON COLUMN ai_model_context_lengths.valid_to IS 'When a sync saw it change, or the model go; NULL while in force.';
COMMENT ON COLUMN ai_model_context_lengths.dagster_run_id IS 'The Dagster run that opened the period.';

-- A catalog synced before the feed: one period per row as the tables tell it now (first seen; gone when inactive).
-- A model that left and came back before this migration shows its latest return only.
INSERT INTO ai_model_listings (openrouter_id, valid_from, valid_to)
SELECT m.openrouter_id, m.first_seen_at,
       CASE WHEN NOT m.is_active THEN greatest(coalesce(m.removed_at, m.updated_at), m.first_seen_at + interval '1 ms') END
  FROM ai_models m
 WHERE NOT EXISTS (SELECT 1 FROM ai_model_listings l WHERE l.openrouter_id = m.openrouter_id);
INSERT INTO ai_model_endpoint_listings (openrouter_id, tag, valid_from, valid_to)
SELECT e.openrouter_id, e.tag, e.first_seen_at,
       CASE WHEN NOT e.is_active THEN greatest(coalesce(e.removed_at, e.updated_at), e.first_seen_at + interval '1 ms') END
  FROM ai_model_endpoints e
 WHERE NOT EXISTS (SELECT 1 FROM ai_model_endpoint_listings l WHERE l.openrouter_id = e.openrouter_id AND l.tag = e.tag);
INSERT INTO ai_provider_listings (slug, valid_from, valid_to)
SELECT p.slug, p.first_seen_at,
       CASE WHEN NOT p.is_active THEN greatest(coalesce(p.removed_at, p.updated_at), p.first_seen_at + interval '1 ms') END
  FROM ai_providers p
 WHERE NOT EXISTS (SELECT 1 FROM ai_provider_listings l WHERE l.slug = p.slug);
INSERT INTO ai_model_context_lengths (openrouter_id, context_length, valid_from, valid_to)
SELECT m.openrouter_id, m.context_length, m.first_seen_at,
       CASE WHEN NOT m.is_active THEN greatest(coalesce(m.removed_at, m.updated_at), m.first_seen_at + interval '1 ms') END
  FROM ai_models m
 WHERE NOT EXISTS (SELECT 1 FROM ai_model_context_lengths c WHERE c.openrouter_id = m.openrouter_id);

-- The new tables are catalog tables: readable by all, written by the owner and catalog_writer (as 015 and 017).
DO $$
DECLARE
    t text;
    command text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ai_model_benchmarks', 'ai_model_endpoint_discounts', 'ai_model_listings',
                             'ai_model_endpoint_listings', 'ai_provider_listings', 'ai_model_context_lengths'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('GRANT SELECT ON %I TO PUBLIC', t);
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
            EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %I FROM anon', t);
        END IF;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
            EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %I FROM authenticated', t);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = current_schema() AND tablename = t
                                                   AND policyname = 'everyone_reads') THEN
            EXECUTE format('CREATE POLICY everyone_reads ON %I FOR SELECT TO PUBLIC USING (true)', t);
        END IF;
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'catalog_writer');
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO catalog_writer', t);
        EXECUTE format('GRANT USAGE ON SEQUENCE %s TO catalog_writer', pg_get_serial_sequence(t, 'id'));
        FOREACH command IN ARRAY ARRAY['INSERT', 'UPDATE', 'DELETE'] LOOP
            IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = current_schema() AND tablename = t
                                                       AND policyname = 'the_sync_' || lower(command)) THEN
                EXECUTE format('CREATE POLICY %I ON %I FOR %s TO catalog_writer %s', 'the_sync_' || lower(command),
                               t, command, CASE command WHEN 'INSERT' THEN 'WITH CHECK (true)'
                                                        WHEN 'DELETE' THEN 'USING (true)'
                                                        ELSE 'USING (true) WITH CHECK (true)' END);
            END IF;
        END LOOP;
    END LOOP;
END
$$;

-- The one owner of "whose endpoints serve this model".
CREATE OR REPLACE FUNCTION ai_model_endpoints_owner(openrouter_id text) RETURNS text
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT coalesce(
        (SELECT s.openrouter_id
           FROM ai_models m JOIN ai_models s ON s.openrouter_id = m.served_by
          WHERE m.openrouter_id = ai_model_endpoints_owner.openrouter_id
            AND m.input_cost_per_million = s.input_cost_per_million
            AND m.output_cost_per_million = s.output_cost_per_million),
        ai_model_endpoints_owner.openrouter_id)
$$;
COMMENT ON FUNCTION ai_model_endpoints_owner(text) IS
    'The model whose endpoints serve this one: its served_by when its token prices equal that model''s, else itself.';

-- The value frontier: the models that answer in one of `modalities`, billed per token, listed and scored at `at`,
-- that no other such model beats on both score and blended price, (3 × input + output) / 4 per million tokens (the
-- convention Artificial Analysis uses). A model is on it unless another is at least as good and at most as dear, and
-- strictly better on one. With an endpoint filter a model's prices are those of its cheapest endpoint that qualifies
-- at `at` (lowest input price, then output price, then tag, as ai_model_cheapest_endpoint chooses), and a model with
-- none is left out. Cheapest first.
CREATE OR REPLACE FUNCTION ai_model_value_frontier(
    benchmark text DEFAULT 'intelligence_index',
    modalities text[] DEFAULT ARRAY['text', 'multimodal'],
    include_free boolean DEFAULT false,
    include_variants boolean DEFAULT false,
    at timestamptz DEFAULT now(),
    require_zero_data_retention boolean DEFAULT false,
    datacenter_countries text[] DEFAULT NULL
) RETURNS TABLE (openrouter_id text, score numeric, blended_cost_per_million numeric,
                 input_cost_per_million numeric, output_cost_per_million numeric)
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    arg text := ai_model_value_frontier.benchmark;
    when_ timestamptz := ai_model_value_frontier.at;
    zdr boolean := ai_model_value_frontier.require_zero_data_retention;
    countries text[] := ai_model_value_frontier.datacenter_countries;
    wanted_source text := 'artificial_analysis';
    wanted text := arg;
    wanted_category text := '';
BEGIN
    IF arg LIKE 'design\_arena:%/%' THEN
        wanted_source := 'design_arena';
        wanted := split_part(substr(arg, length('design_arena:') + 1), '/', 1);
        wanted_category := substr(arg, length('design_arena:') + length(wanted) + 2);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ai_model_benchmarks b
                    WHERE b.source = wanted_source AND b.benchmark = wanted AND b.category = wanted_category) THEN
        RAISE EXCEPTION 'unknown benchmark %', quote_literal(coalesce(arg, 'NULL'))
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Use intelligence_index, coding_index, agentic_index, or design_arena:<arena>/<category> '
                           'as stored in ai_model_benchmarks, e.g. design_arena:models/website.';
    END IF;
    RETURN QUERY
    WITH scored AS (
        SELECT b.openrouter_id, b.score FROM ai_model_benchmarks b
         WHERE b.source = wanted_source AND b.benchmark = wanted AND b.category = wanted_category
           AND b.valid_from <= when_ AND (b.valid_to IS NULL OR b.valid_to > when_)),
    listed AS (  -- the model's own token prices at `at` (a model that had left has none)
        SELECT p.openrouter_id,
               max(p.price_per_million) FILTER (WHERE p.component = 'prompt') AS input,
               max(p.price_per_million) FILTER (WHERE p.component = 'completion') AS output
          FROM ai_model_prices p
         WHERE p.unit = 'token' AND p.condition = '' AND p.component IN ('prompt', 'completion')
           AND p.valid_from <= when_ AND (p.valid_to IS NULL OR p.valid_to > when_)
         GROUP BY p.openrouter_id),
    offered AS (  -- each endpoint's token prices at `at`
        SELECT p.openrouter_id, p.tag,
               max(p.price_per_million) FILTER (WHERE p.component = 'prompt') AS input,
               max(p.price_per_million) FILTER (WHERE p.component = 'completion') AS output
          FROM ai_model_endpoint_prices p
         WHERE (zdr OR countries IS NOT NULL)
           AND p.unit = 'token' AND p.condition = '' AND p.component IN ('prompt', 'completion')
           AND p.valid_from <= when_ AND (p.valid_to IS NULL OR p.valid_to > when_)
         GROUP BY p.openrouter_id, p.tag),
    qualifying AS (
        SELECT DISTINCT ON (o.openrouter_id) o.openrouter_id, o.input, o.output
          FROM offered o
          JOIN ai_model_endpoints e ON e.openrouter_id = o.openrouter_id AND e.tag = o.tag
          LEFT JOIN ai_providers pr ON pr.slug = e.provider_slug AND pr.is_active
         WHERE o.input IS NOT NULL
           AND (NOT zdr OR EXISTS (SELECT 1 FROM ai_model_endpoint_zero_data_retention z
                                    WHERE z.openrouter_id = o.openrouter_id AND z.tag = o.tag AND z.zero_data_retention
                                      AND z.valid_from <= when_ AND (z.valid_to IS NULL OR z.valid_to > when_)))
           AND (countries IS NULL OR pr.datacenters && countries)
         ORDER BY o.openrouter_id, o.input, o.output, o.tag COLLATE "C"),
    candidates AS (
        SELECT m.openrouter_id, s.score,
               CASE WHEN zdr OR countries IS NOT NULL THEN q.input ELSE l.input END AS input,
               CASE WHEN zdr OR countries IS NOT NULL THEN q.output ELSE l.output END AS output
          FROM ai_models m
          JOIN scored s ON s.openrouter_id = m.openrouter_id
          JOIN listed l ON l.openrouter_id = m.openrouter_id
          LEFT JOIN qualifying q ON q.openrouter_id = ai_model_endpoints_owner(m.openrouter_id)
         WHERE m.modality = ANY (ai_model_value_frontier.modalities)
           AND (ai_model_value_frontier.include_variants OR position(':' IN m.openrouter_id) = 0)),
    priced AS (
        SELECT c.openrouter_id, c.score, c.input, c.output, trim_scale((3 * c.input + c.output) / 4) AS blended
          FROM candidates c
         WHERE c.input IS NOT NULL AND c.output IS NOT NULL
           AND (ai_model_value_frontier.include_free OR c.input > 0 OR c.output > 0))
    SELECT c.openrouter_id, c.score, c.blended, c.input, c.output
      FROM priced c
     WHERE NOT EXISTS (SELECT 1 FROM priced d
                        WHERE d.score >= c.score AND d.blended <= c.blended
                          AND (d.score > c.score OR d.blended < c.blended))
     ORDER BY c.blended, c.score DESC, c.openrouter_id COLLATE "C";
END
$$;
COMMENT ON FUNCTION ai_model_value_frontier(text, text[], boolean, boolean, timestamptz, boolean, text[]) IS
    'The models no other beats on both a benchmark score and blended price ((3 × input + output) / 4 per million tokens) at a date, cheapest first; with endpoint filters, the price of the cheapest qualifying endpoint.';

-- The endpoint reads follow served_by only where the model's own token prices equal its server's, so a `:free`
-- variant never shows paid endpoints.
CREATE OR REPLACE VIEW ai_model_endpoint_summary WITH (security_invoker = true) AS
SELECT m.openrouter_id,
       count(e.*) AS endpoint_count,
       min(e.input_cost_per_million) AS cheapest_input_cost_per_million,
       (SELECT c.provider_name FROM ai_model_endpoints c
         WHERE c.openrouter_id = ai_model_endpoints_owner(m.openrouter_id) AND c.is_active
           AND c.input_cost_per_million IS NOT NULL
         ORDER BY c.input_cost_per_million, c.tag LIMIT 1) AS cheapest_input_provider,
       min(e.output_cost_per_million) AS cheapest_output_cost_per_million,
       max(e.context_length) AS max_context_length,
       array_agg(DISTINCT e.provider_name ORDER BY e.provider_name) FILTER (WHERE e.provider_name IS NOT NULL)
           AS providers
  FROM ai_models m
  JOIN ai_model_endpoints e ON e.openrouter_id = ai_model_endpoints_owner(m.openrouter_id) AND e.is_active
 WHERE m.is_active
 GROUP BY m.openrouter_id;
COMMENT ON VIEW ai_model_endpoint_summary IS 'Per active model: its active endpoints (those of the model serving it, at equal prices), the cheapest per-token prices and their provider, the largest context.';
GRANT SELECT ON ai_model_endpoint_summary TO PUBLIC;

CREATE OR REPLACE FUNCTION ai_model_cheapest_endpoint(
    openrouter_id text,
    require_zero_data_retention boolean DEFAULT false,
    datacenter_countries text[] DEFAULT NULL
) RETURNS TABLE (tag text, provider_name text, input_cost_per_million numeric, output_cost_per_million numeric)
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT e.tag, e.provider_name, e.input_cost_per_million, e.output_cost_per_million
      FROM ai_model_endpoints e
      LEFT JOIN ai_providers p ON p.slug = e.provider_slug AND p.is_active
     WHERE e.openrouter_id = ai_model_endpoints_owner(ai_model_cheapest_endpoint.openrouter_id)
       AND e.is_active AND e.input_cost_per_million IS NOT NULL
       AND (NOT ai_model_cheapest_endpoint.require_zero_data_retention OR e.zero_data_retention)
       AND (ai_model_cheapest_endpoint.datacenter_countries IS NULL
            OR p.datacenters && ai_model_cheapest_endpoint.datacenter_countries)
     ORDER BY e.input_cost_per_million, e.output_cost_per_million, e.tag COLLATE "C"
     LIMIT 1
$$;
COMMENT ON FUNCTION ai_model_cheapest_endpoint(text, boolean, text[]) IS
    'The cheapest active endpoint of a model (or of the model serving it, at equal prices) by input price (then output price, then tag), keeping no data when asked, with a provider datacenter in one of the countries when given; no row when none qualifies.';

-- The change feed: one row per change, built from the dated tables, so it is true for every sync since each began.
-- A price is per million tokens for a token price, else per its unit; a change is a period that replaced another
-- at the same moment with another value. Removals are told by the run that found the row gone.
CREATE OR REPLACE VIEW ai_catalog_changes WITH (security_invoker = true) AS
WITH listed AS (
    SELECT 'model' AS what, openrouter_id, NULL::text AS tag, NULL::text AS subject, valid_from, valid_to,
           dagster_run_id, removed_by_run_id,
           valid_from = min(valid_from) OVER (PARTITION BY openrouter_id) AS first
      FROM ai_model_listings
    UNION ALL
    SELECT 'endpoint', openrouter_id, tag, NULL, valid_from, valid_to, dagster_run_id, removed_by_run_id,
           valid_from = min(valid_from) OVER (PARTITION BY openrouter_id, tag)
      FROM ai_model_endpoint_listings
    UNION ALL
    SELECT 'provider', NULL, NULL, slug, valid_from, valid_to, dagster_run_id, removed_by_run_id,
           valid_from = min(valid_from) OVER (PARTITION BY slug)
      FROM ai_provider_listings),
dated AS (
    SELECT 'price_changed' AS kind, openrouter_id, NULL::text AS tag,
           component || CASE WHEN condition <> '' THEN ' [' || condition || ']' ELSE '' END AS subject,
           (CASE WHEN unit = 'token' THEN price_per_million ELSE price END)::text AS value,
           valid_from, valid_to, dagster_run_id
      FROM ai_model_prices
    UNION ALL
    SELECT 'endpoint_price_changed', openrouter_id, tag,
           component || CASE WHEN condition <> '' THEN ' [' || condition || ']' ELSE '' END,
           (CASE WHEN unit = 'token' THEN price_per_million ELSE price END)::text, valid_from, valid_to, dagster_run_id
      FROM ai_model_endpoint_prices
    UNION ALL
    SELECT 'context_changed', openrouter_id, NULL, 'context_length', context_length::text, valid_from, valid_to,
           dagster_run_id
      FROM ai_model_context_lengths
    UNION ALL
    SELECT 'zero_data_retention_changed', openrouter_id, tag, 'zero_data_retention', zero_data_retention::text,
           valid_from, valid_to, dagster_run_id
      FROM ai_model_endpoint_zero_data_retention
    UNION ALL
    SELECT 'benchmark_changed', openrouter_id, NULL,
           CASE WHEN category = '' THEN benchmark ELSE source || ':' || benchmark || '/' || category END,
           score::text, valid_from, valid_to, dagster_run_id
      FROM ai_model_benchmarks),
moves AS (
    SELECT *, lag(value) OVER w AS old_value, lag(valid_to) OVER w AS before_to
      FROM dated
    WINDOW w AS (PARTITION BY kind, openrouter_id, tag, subject ORDER BY valid_from))
SELECT valid_from AS changed_at, what || CASE WHEN first THEN '_added' ELSE '_returned' END AS kind,
       openrouter_id, tag, subject, NULL::text AS old_value, NULL::text AS new_value, dagster_run_id
  FROM listed
UNION ALL
SELECT valid_to, what || '_removed', openrouter_id, tag, subject, NULL, NULL, removed_by_run_id
  FROM listed WHERE valid_to IS NOT NULL
UNION ALL
SELECT valid_from, kind, openrouter_id, tag, subject, old_value, value, dagster_run_id
  FROM moves
 WHERE before_to = valid_from AND old_value IS DISTINCT FROM value
   -- a flag first learnt (unknown before the zero-retention list could be read) is not a change
   AND NOT (kind = 'zero_data_retention_changed' AND old_value IS NULL);
COMMENT ON VIEW ai_catalog_changes IS 'One row per change of the catalog, from its dated tables: models, endpoints and providers added, removed or back; prices, context windows, zero-retention flags and benchmark scores that moved (old → new, as text; token prices per million).';
GRANT SELECT ON ai_catalog_changes TO PUBLIC;
