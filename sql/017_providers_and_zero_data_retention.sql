-- Who serves it, where, and what they keep: the providers (GET /providers), each endpoint's provider, and whether
-- it keeps no data (GET /endpoints/zdr), dated; and the cheapest endpoint of a model under those conditions.
CREATE TABLE IF NOT EXISTS ai_providers (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug                  text NOT NULL UNIQUE,
    name                  text,
    headquarters          text,
    datacenters           text[],
    privacy_policy_url    text,
    terms_of_service_url  text,
    status_page_url       text,
    is_active             boolean NOT NULL DEFAULT true,
    first_seen_at         timestamptz NOT NULL DEFAULT now(),
    removed_at            timestamptz,
    updated_at            timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ai_providers IS 'One row per OpenRouter provider (GET /providers); a provider that goes is deactivated, never deleted.';
COMMENT ON COLUMN ai_providers.id IS 'Surrogate key; stable for the life of the row.';
COMMENT ON COLUMN ai_providers.slug IS 'The provider''s slug, e.g. deepinfra: the first segment of its endpoints'' tags.';
COMMENT ON COLUMN ai_providers.name IS 'Display name, e.g. DeepInfra.';
COMMENT ON COLUMN ai_providers.headquarters IS 'ISO 3166-1 alpha-2 code of the country of its headquarters, as sent.';
COMMENT ON COLUMN ai_providers.datacenters IS 'ISO 3166-1 alpha-2 codes of the countries of its datacenters, as sent (unknown codes included).';
COMMENT ON COLUMN ai_providers.privacy_policy_url IS 'Its privacy policy.';
COMMENT ON COLUMN ai_providers.terms_of_service_url IS 'Its terms of service.';
COMMENT ON COLUMN ai_providers.status_page_url IS 'Its status page.';
COMMENT ON COLUMN ai_providers.is_active IS 'false once /providers no longer lists it; true again if it returns.';
COMMENT ON COLUMN ai_providers.first_seen_at IS 'When a sync first wrote the provider.';
COMMENT ON COLUMN ai_providers.removed_at IS 'When a sync last found it gone; NULL while active.';
COMMENT ON COLUMN ai_providers.updated_at IS 'When a sync last changed it.';

ALTER TABLE ai_model_endpoints
    ADD COLUMN IF NOT EXISTS provider_slug text,
    ADD COLUMN IF NOT EXISTS zero_data_retention boolean;
CREATE INDEX IF NOT EXISTS idx_ai_model_endpoints_provider ON ai_model_endpoints (provider_slug);
COMMENT ON COLUMN ai_model_endpoints.provider_slug IS 'The provider (ai_providers.slug): the tag''s first segment, deepinfra for deepinfra/fp4.';
COMMENT ON COLUMN ai_model_endpoints.zero_data_retention IS 'true when /endpoints/zdr lists the endpoint, false when the list was fetched and does not, NULL when it never could be had; dated in ai_model_endpoint_zero_data_retention.';

-- The flag's periods, as prices are dated: what held on a given day.
CREATE TABLE IF NOT EXISTS ai_model_endpoint_zero_data_retention (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    openrouter_id        text NOT NULL,
    tag                  text NOT NULL,
    zero_data_retention  boolean,
    valid_from           timestamptz NOT NULL,
    valid_to             timestamptz,
    dagster_run_id       text,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_ai_model_endpoint_zdr_open
    ON ai_model_endpoint_zero_data_retention (openrouter_id, tag) WHERE valid_to IS NULL;
COMMENT ON TABLE ai_model_endpoint_zero_data_retention IS 'Each endpoint''s zero-data-retention flag over time, [valid_from, valid_to).';
COMMENT ON COLUMN ai_model_endpoint_zero_data_retention.zero_data_retention IS 'The flag in force over the period.';

-- Both new tables are catalog tables: readable by all, written by the owner and catalog_writer (as 015).
DO $$
DECLARE
    t text;
    command text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ai_providers', 'ai_model_endpoint_zero_data_retention'] LOOP
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

-- The active endpoint of a model with the lowest input price per million (ties: output price, then tag), among
-- those that keep no data when asked, and whose provider has a datacenter in one of the countries when given.
-- No row when none qualifies. Runs with the caller's rights, on a fixed search_path.
CREATE OR REPLACE FUNCTION ai_model_cheapest_endpoint(
    openrouter_id text,
    require_zero_data_retention boolean DEFAULT false,
    datacenter_countries text[] DEFAULT NULL
) RETURNS TABLE (tag text, provider_name text, input_cost_per_million numeric, output_cost_per_million numeric)
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT e.tag, e.provider_name, e.input_cost_per_million, e.output_cost_per_million
      FROM ai_model_endpoints e
      LEFT JOIN ai_providers p ON p.slug = e.provider_slug AND p.is_active
     WHERE e.openrouter_id = ai_model_cheapest_endpoint.openrouter_id
       AND e.is_active AND e.input_cost_per_million IS NOT NULL
       AND (NOT ai_model_cheapest_endpoint.require_zero_data_retention OR e.zero_data_retention)
       AND (ai_model_cheapest_endpoint.datacenter_countries IS NULL
            OR p.datacenters && ai_model_cheapest_endpoint.datacenter_countries)
     ORDER BY e.input_cost_per_million, e.output_cost_per_million, e.tag COLLATE "C"
     LIMIT 1
$$;
COMMENT ON FUNCTION ai_model_cheapest_endpoint(text, boolean, text[]) IS
    'The cheapest active endpoint of a model by input price (then output price, then tag), keeping no data when asked, with a provider datacenter in one of the countries when given; no row when none qualifies.';
