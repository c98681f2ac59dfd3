-- One price history. ai_model_prices owns every dated price; ai_model_price_history, which kept the headline prices
-- beside it in the same transaction, becomes a view over it with the same columns. First, the periods it alone
-- holds (from before ai_model_prices existed, 010) move into ai_model_prices, so no history is lost.
DO $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('ai_model_price_history')) = 'r' THEN
        INSERT INTO ai_model_prices
               (openrouter_id, component, unit, condition, price, price_per_million, valid_from, valid_to, dagster_run_id)
        SELECT h.openrouter_id, c.component, 'token', '', trim_scale(c.per_million / 1000000), c.per_million, h.valid_from,
               least(h.valid_to, first.valid_from), h.dagster_run_id
          FROM ai_model_price_history h
          CROSS JOIN LATERAL (VALUES ('prompt', h.input_cost_per_million), ('completion', h.output_cost_per_million))
               AS c (component, per_million)
          LEFT JOIN LATERAL (SELECT min(p.valid_from) AS valid_from FROM ai_model_prices p
                              WHERE p.openrouter_id = h.openrouter_id AND p.component = c.component AND p.condition = '')
               first ON true
         WHERE c.per_million IS NOT NULL
           AND (first.valid_from IS NULL OR h.valid_from < first.valid_from)
           AND (h.valid_to IS NOT NULL OR first.valid_from IS NOT NULL);

        DROP TABLE ai_model_price_history;
    END IF;
END
$$;

-- A period per change of a model's base token prices (prompt, completion), as the table had it: its prices per
-- million, its kind, the prices in force as a pricing object, and the period before.
CREATE OR REPLACE VIEW ai_model_price_history WITH (security_invoker = true) AS
WITH base AS (
    SELECT openrouter_id, component, price, price_per_million, valid_from, valid_to, dagster_run_id
      FROM ai_model_prices
     WHERE condition = '' AND unit = 'token' AND component IN ('prompt', 'completion')),
bounds AS (
    SELECT openrouter_id, valid_from AS at FROM base
     UNION
    SELECT openrouter_id, valid_to FROM base WHERE valid_to IS NOT NULL),
periods AS (
    SELECT openrouter_id, at AS valid_from, lead(at) OVER (PARTITION BY openrouter_id ORDER BY at) AS valid_to
      FROM bounds),
priced AS (
    SELECT p.openrouter_id, p.valid_from, p.valid_to,
           max(b.price_per_million) FILTER (WHERE b.component = 'prompt') AS input_cost_per_million,
           max(b.price_per_million) FILTER (WHERE b.component = 'completion') AS output_cost_per_million,
           jsonb_object_agg(b.component, b.price::text) AS pricing,
           max(b.dagster_run_id) FILTER (WHERE b.valid_from = p.valid_from) AS dagster_run_id
      FROM periods p
      JOIN base b ON b.openrouter_id = p.openrouter_id AND b.valid_from <= p.valid_from
                 AND (b.valid_to IS NULL OR b.valid_to > p.valid_from)
     GROUP BY p.openrouter_id, p.valid_from, p.valid_to),
kinds AS (
    SELECT *, CASE WHEN input_cost_per_million > 0 OR output_cost_per_million > 0 THEN 'paid'
                   WHEN input_cost_per_million = 0 AND output_cost_per_million = 0 THEN 'free' END AS pricing_kind
      FROM priced)
SELECT row_number() OVER (ORDER BY openrouter_id, valid_from) AS id,
       openrouter_id, input_cost_per_million, output_cost_per_million, pricing_kind, pricing,
       lag(input_cost_per_million) OVER w AS previous_input_cost_per_million,
       lag(output_cost_per_million) OVER w AS previous_output_cost_per_million,
       lag(pricing_kind) OVER w AS previous_pricing_kind,
       valid_from, valid_to, dagster_run_id
  FROM kinds
WINDOW w AS (PARTITION BY openrouter_id ORDER BY valid_from);

COMMENT ON VIEW ai_model_price_history IS
    'The periods of each model''s base token prices, read from ai_model_prices (which owns every dated price).';
GRANT SELECT ON ai_model_price_history TO PUBLIC;
