-- A model answered by another model's endpoints says so. On the real 2026-05-16 answers `google/gemini-2.5-pro-preview`
-- and `google/gemini-2.5-pro-preview-05-06` are answered by `google/gemini-2.5-pro`'s endpoints (`data.id`), at the
-- same list prices; `:free` variants are answered by their paid base. The link is stored; the endpoint reads follow it
-- only where the model's own token prices equal its server's, so a `:free` variant never shows paid endpoints
-- (018 adds the column, ai_models.served_by, and ai_model_endpoints_owner, which the value frontier follows too).
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
