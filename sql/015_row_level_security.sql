-- Safe where it lands. On Supabase every table created in public is granted to the API roles anon and
-- authenticated, and PostgREST serves it to anyone holding the public anon key. Here:
--   * every table has row level security: the catalog tables (models, prices, endpoints, their history) are
--     readable by everyone who may read the schema; the operational ones (sync runs, endpoint observations,
--     schema_migrations) by no one but their owner and the sync's writer role, since their errors name hosts;
--   * writes pass RLS only for the owner (the role that migrates) and members of catalog_writer (a least-privilege
--     sync role); is_curated is set by members of catalog_curator, a column the sync never writes;
--   * the API roles, where they exist, lose every write privilege (TRUNCATE is not subject to RLS);
--   * the views run with the reader's rights, and the function has a fixed search_path.
-- Harmless on a plain PostgreSQL: roles are created only where the migrating role may, and every statement can run
-- again (a second run, or a DBA's own policy of the same name, is not an error). Needs PostgreSQL 15.

DO $$
DECLARE
    catalog text[] := ARRAY['ai_models', 'ai_model_prices', 'ai_model_price_history', 'ai_model_endpoints',
                            'ai_model_endpoint_prices'];
    operational text[] := ARRAY['ai_model_sync_runs', 'ai_model_endpoint_observations', 'schema_migrations'];
    may_create_roles boolean := (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user);
    role_name text;
    command text;
    t text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['catalog_writer', 'catalog_curator'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
            IF may_create_roles THEN
                BEGIN  -- roles belong to the cluster: another database's migration may create it first
                    EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
                EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
                END;
            ELSE
                RAISE NOTICE 'role % not created (% may not create roles): only the owner writes', role_name, current_user;
            END IF;
        END IF;
    END LOOP;

    FOREACH t IN ARRAY catalog || operational LOOP
        CONTINUE WHEN (SELECT relkind FROM pg_class WHERE oid = to_regclass(t)) IS DISTINCT FROM 'r';  -- a view by now
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        FOREACH role_name IN ARRAY ARRAY['anon', 'authenticated'] LOOP
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
                EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %I FROM %I', t, role_name);
                IF t = ANY (operational) THEN
                    EXECUTE format('REVOKE SELECT ON %I FROM %I', t, role_name);
                END IF;
            END IF;
        END LOOP;
        IF t = ANY (operational) THEN
            EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', t);
        ELSE
            EXECUTE format('GRANT SELECT ON %I TO PUBLIC', t);
            IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = current_schema() AND tablename = t AND policyname = 'everyone_reads') THEN
                EXECUTE format('CREATE POLICY everyone_reads ON %I FOR SELECT TO PUBLIC USING (true)', t);
            END IF;
        END IF;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'catalog_writer') THEN
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO catalog_writer', t);
            IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = t::regclass AND attname = 'id')
               AND pg_get_serial_sequence(t, 'id') IS NOT NULL THEN
                EXECUTE format('GRANT USAGE ON SEQUENCE %s TO catalog_writer', pg_get_serial_sequence(t, 'id'));
            END IF;
            -- A policy per write: one for ALL would overlap everyone_reads on SELECT (splinter's
            -- multiple_permissive_policies); an operational table has no other policy, so ALL there.
            FOREACH command IN ARRAY CASE WHEN t = ANY (operational) THEN ARRAY['ALL']
                                          ELSE ARRAY['INSERT', 'UPDATE', 'DELETE'] END LOOP
                IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = current_schema() AND tablename = t
                                                           AND policyname = 'the_sync_' || lower(command)) THEN
                    EXECUTE format('CREATE POLICY %I ON %I FOR %s TO catalog_writer %s', 'the_sync_' || lower(command),
                                   t, command, CASE command WHEN 'INSERT' THEN 'WITH CHECK (true)'
                                                            WHEN 'DELETE' THEN 'USING (true)'
                                                            ELSE 'USING (true) WITH CHECK (true)' END);
                END IF;
            END LOOP;
        END IF;
    END LOOP;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'catalog_curator') THEN
        GRANT SELECT, UPDATE (is_curated) ON ai_models TO catalog_curator;
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = current_schema() AND tablename = 'ai_models'
                                                    AND policyname = 'curators_flag') THEN
            CREATE POLICY curators_flag ON ai_models FOR UPDATE TO catalog_curator USING (true) WITH CHECK (true);
        END IF;
    END IF;
END
$$;

ALTER VIEW ai_models_curated SET (security_invoker = true);
ALTER VIEW ai_model_endpoint_summary SET (security_invoker = true);
GRANT SELECT ON ai_models_curated, ai_model_endpoint_summary TO PUBLIC;

ALTER FUNCTION ai_model_request_cost(text, bigint, bigint, bigint, timestamptz) SET search_path = public, pg_temp;
