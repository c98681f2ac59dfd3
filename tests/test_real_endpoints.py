"""The real per-model endpoints answers of 2026-05-16 (see the fixtures README), served where links.details says."""

import copy
import re
from collections import Counter
from decimal import Decimal

import pytest
from conftest import check_results, materialization_metadata, run_sync, serve_real_day, user_guides
from werkzeug import Response

pytestmark = pytest.mark.real_data

MODELS = "2026-05-16_mddb_openrouter-models.json"
ENDPOINTS = "2026-05-16_mddb_openrouter-endpoints.json"
DAY = "SELECT now()"


@pytest.fixture
def served_day(real_file, openrouter):
    """The real catalog and its real endpoints answers; every provider the real tags name (in the spec's shape);
    the zero-retention list answers 403, as it does without a management key."""
    catalog, saved = real_file(MODELS), real_file(ENDPOINTS)["data"]
    serve_real_day(openrouter.server, catalog, saved, *_providers_and_zdr(saved))
    return catalog, saved


def _providers_and_zdr(saved: list[dict]) -> tuple[dict, Response]:
    slugs = {ep["tag"].split("/")[0] for e in saved for ep in e["response"]["data"]["endpoints"]}
    providers = {"data": [{"slug": s, "name": s, "headquarters": "US", "datacenters": ["US"]} for s in sorted(slugs)]}
    return providers, Response('{"error": {"code": 403, "message": "Only management keys"}}', status=403)


def test_every_model_stores_exactly_its_own_real_answer(served_day, catalog_db, pg, openrouter):
    catalog, saved = served_day
    result = run_sync(catalog_db, openrouter.base_url)
    assert result.success
    synced_at = pg.execute("SELECT max(updated_at) FROM ai_model_endpoints").fetchone()[0]

    owners = {entry["response"]["data"]["id"] for entry in saved}
    answer_of = {entry["response"]["data"]["id"]: entry["response"]["data"]["endpoints"] for entry in saved}
    checked = 0
    for owner, endpoints in answer_of.items():
        first = {}
        for endpoint in endpoints:
            first.setdefault(endpoint["tag"], endpoint)  # a repeated tag keeps the first listed
        stored = {
            r[0]: r[1:]
            for r in pg.execute(
                "SELECT tag, provider_name, quantization, context_length, max_completion_tokens, max_prompt_tokens, "
                "billing_unit, input_cost_per_million, output_cost_per_million FROM ai_model_endpoints "
                "WHERE openrouter_id = %s AND is_active",
                (owner,),
            )
        }
        assert set(stored) == set(first), owner
        for tag, endpoint in first.items():
            provider, quantization, context, completion, prompt_limit, unit, per_m_in, per_m_out = stored[tag]
            # A limit of 0 (amazon-bedrock's context_length for qwen3-coder-30b) says "unknown": stored NULL.
            assert (provider, quantization, context, completion, prompt_limit) == (
                endpoint["provider_name"],
                endpoint["quantization"],
                endpoint["context_length"] or None,
                endpoint["max_completion_tokens"] or None,
                endpoint["max_prompt_tokens"] or None,
            ), (owner, tag)
            if unit == "token":
                assert per_m_in == Decimal(endpoint["pricing"]["prompt"]).scaleb(6), (owner, tag)
                assert per_m_out == Decimal(endpoint["pricing"]["completion"]).scaleb(6), (owner, tag)
                checked += 1
            # Every price component as sent, dated from this sync.
            components = {
                c: (p, since)
                for c, p, since in pg.execute(
                    "SELECT component, price, valid_from FROM ai_model_endpoint_prices "
                    "WHERE openrouter_id = %s AND tag = %s AND valid_to IS NULL AND condition = ''",
                    (owner, tag),
                )
            }
            sent = {k: Decimal(v) for k, v in endpoint["pricing"].items() if k != "discount" and Decimal(v) >= 0}
            if unit != "token":
                sent = {k: v for k, v in sent.items() if k not in ("prompt", "completion")}
            assert {c: p for c, (p, _) in components.items()} == sent, (owner, tag)
            assert {since for _, since in components.values()} <= {synced_at}
    assert checked == 799  # every (model, tag) row of the real answers: all of them billed per token

    # No model carries another model's endpoints as its own: a variant, or a dated alias, has none.
    listed = {m["id"] for m in catalog["data"]}
    stored_ids = {r[0] for r in pg.execute("SELECT DISTINCT openrouter_id FROM ai_model_endpoints")}
    assert stored_ids <= owners & listed
    served_by = {
        e["modelId"]: e["response"]["data"]["id"] for e in saved if e["modelId"] != e["response"]["data"]["id"]
    }
    # 25 :free or :thinking variants and 2 dated aliases of google/gemini-2.5-pro; 8 of the bases are not listed.
    assert len(served_by) == 27 and sum(":" in m for m in served_by) == 25
    assert len(set(served_by.values()) - listed) == 8
    assert not stored_ids & set(served_by)
    meta = materialization_metadata(result, "ai_model_endpoints_table")
    assert meta["served_by_another_count"] == 27 and meta["failed_count"] == 0
    assert check_results(result)["endpoints_cover_catalog"].passed
    # A :free model is never shown with a paid endpoint: none is in the summary with a price above zero.
    assert pg.execute(
        "SELECT count(*) FROM ai_model_endpoint_summary WHERE openrouter_id LIKE '%:free' "
        "AND cheapest_input_cost_per_million > 0"
    ).fetchone() == (0,)
    # The bases keep their own, paid, summary.
    assert pg.execute(
        "SELECT cheapest_input_cost_per_million > 0 FROM ai_model_endpoint_summary "
        "WHERE openrouter_id = 'deepseek/deepseek-v4-flash'"
    ).fetchone() == (True,)


def test_a_real_answer_that_repeats_a_tag_stores_the_first_and_counts_the_repeat(
    served_day, catalog_db, pg, openrouter
):
    """qwen/qwen3-235b-a22b-2507 lists google-vertex/us-south1 at $0.22 and then at $0.25 per million input tokens."""
    _, saved = served_day
    repeats = sum(
        n - 1
        for entry in saved
        if entry["modelId"] == entry["response"]["data"]["id"]
        for n in Counter(e["tag"] for e in entry["response"]["data"]["endpoints"]).values()
    )
    assert repeats == 1
    result = run_sync(catalog_db, openrouter.base_url)
    assert result.success
    assert pg.execute(
        "SELECT input_cost_per_million, output_cost_per_million FROM ai_model_endpoints "
        "WHERE openrouter_id = 'qwen/qwen3-235b-a22b-2507' AND tag = 'google-vertex/us-south1'"
    ).fetchall() == [(Decimal("0.22"), Decimal("0.88"))]
    meta = materialization_metadata(result, "ai_model_endpoints_table")
    assert meta["repeated_tags_count"] == 1
    assert meta["repeated_tags"] == ["qwen/qwen3-235b-a22b-2507 google-vertex/us-south1"]


def test_every_query_in_the_readme_answers_on_a_database_one_sync_old(served_day, catalog_db, pg, openrouter):
    """The README's SQL, run as a newcomer would after their first sync of the real catalog."""
    assert run_sync(catalog_db, openrouter.base_url).success
    blocks = [b for guide in user_guides() for b in re.findall(r"```sql\n(.*?)```", guide, flags=re.S)]
    code = "\n".join(line for block in blocks for line in block.splitlines() if not line.lstrip().startswith("--"))
    # The benchmark queries answer on a listing with benchmarks (test_benchmarks.py), the change feed's after a
    # sync that changed something (test_changes.py).
    statements = [
        s.strip()
        for s in code.split(";")
        if s.strip().upper().startswith("SELECT")
        and not any(later in s for later in ("benchmark", "frontier", "ai_catalog_changes"))
    ]
    assert len(statements) >= 4  # the queries of the schema section (the production section's grants are not run)
    for statement in statements:
        rows = pg.execute(statement).fetchall()
        assert rows and rows[0][0] is not None, statement


ALIASES = ("google/gemini-2.5-pro-preview", "google/gemini-2.5-pro-preview-05-06")


def test_a_model_answered_by_another_follows_it_only_at_equal_prices(served_day, catalog_db, pg, openrouter):
    """The two dated aliases answered by google/gemini-2.5-pro's endpoints, at its list prices, answer through it in
    the summary, the cheapest endpoint and the frontier; every `:free` variant answered by its paid base, never
    show a paid endpoint."""
    catalog, saved = served_day
    assert run_sync(catalog_db, openrouter.base_url).success
    served = dict(pg.execute("SELECT openrouter_id, served_by FROM ai_models WHERE served_by IS NOT NULL").fetchall())
    expected = {e["modelId"]: e["response"]["data"]["id"] for e in saved if e["modelId"] != e["response"]["data"]["id"]}
    assert served == {m: base for m, base in expected.items() if m in served}
    assert {a: served[a] for a in ALIASES} == dict.fromkeys(ALIASES, "google/gemini-2.5-pro")
    base = pg.execute("SELECT * FROM ai_model_cheapest_endpoint('google/gemini-2.5-pro')").fetchall()
    summary = (
        "SELECT endpoint_count, cheapest_input_cost_per_million, providers FROM ai_model_endpoint_summary "
        "WHERE openrouter_id = %s"
    )
    for alias in ALIASES:
        assert base and pg.execute("SELECT * FROM ai_model_cheapest_endpoint(%s)", (alias,)).fetchall() == base
        assert pg.execute(summary, (alias,)).fetchall() == pg.execute(summary, ("google/gemini-2.5-pro",)).fetchall()
    free = sorted(m for m in served if m.endswith(":free"))
    assert free == sorted(m for m in expected if m.endswith(":free")) and len(free) >= 17
    for model_id in free:
        assert pg.execute("SELECT * FROM ai_model_cheapest_endpoint(%s)", (model_id,)).fetchall() == []
        assert pg.execute(summary, (model_id,)).fetchall() == []

    # The frontier follows the same link: give the alias, its base and a :free variant a score.
    scored = [ALIASES[0], "google/gemini-2.5-pro", free[0]]
    pg.execute(
        "INSERT INTO ai_model_benchmarks (openrouter_id, source, benchmark, score, valid_from) "
        "SELECT unnest(%s::text[]), 'artificial_analysis', 'intelligence_index', 50, now() - interval '1 minute'",
        (scored,),
    )
    frontier = pg.execute(
        "SELECT openrouter_id, input_cost_per_million, output_cost_per_million FROM ai_model_value_frontier("
        "include_variants => true, include_free => true, datacenter_countries => ARRAY['US'])"
    ).fetchall()
    assert {r[0] for r in frontier} == {ALIASES[0], "google/gemini-2.5-pro"}
    assert {r[1:] for r in frontier} == {tuple(base[0][2:])}


# Each provider's own list price, per million tokens (input, output), from its price sheet (rules/prices.py,
# endpoint_discount): the stored price is the list price less the discount the answer names.
LIST_PRICES = {
    ("qwen/qwen3-max", "alibaba"): (Decimal("1.20"), Decimal("6.00")),  # Alibaba Model Studio, 0-32K input
    ("qwen/qwen3.5-plus-02-15", "alibaba"): (Decimal("0.40"), None),  # Model Studio's Qwen3.5-Plus input
    ("meta-llama/llama-3.3-70b-instruct", "sambanova-turbo"): (Decimal("0.60"), Decimal("1.20")),  # SambaCloud
}


def test_discounts_are_already_in_the_prices_as_the_providers_sheets_show_and_are_dated(
    served_day, catalog_db, pg, openrouter
):
    catalog, saved = served_day
    assert run_sync(catalog_db, openrouter.base_url).success
    stored = {(m, t): d for m, t, d in pg.execute("SELECT openrouter_id, tag, discount FROM ai_model_endpoints")}
    sent = {
        (e["response"]["data"]["id"], ep["tag"]): ep["pricing"].get("discount")
        for e in saved
        for ep in reversed(e["response"]["data"]["endpoints"])  # a repeated tag keeps its first
    }
    assert {k: v for k, v in stored.items() if v} == {k: Decimal(repr(v)) for k, v in sent.items() if v}
    assert sum(1 for v in stored.values() if v) >= 40
    for (model_id, tag), (list_input, list_output) in LIST_PRICES.items():
        discount, charged_input, charged_output = pg.execute(
            "SELECT discount, input_cost_per_million, output_cost_per_million FROM ai_model_endpoints "
            "WHERE openrouter_id = %s AND tag = %s",
            (model_id, tag),
        ).fetchone()
        assert charged_input == list_input * (1 - discount), (model_id, tag)
        assert list_output is None or charged_output == list_output * (1 - discount), (model_id, tag)
    assert pg.execute("SELECT count(*) FROM ai_model_endpoint_discounts WHERE valid_to IS NULL").fetchone() == (
        sum(1 for v in stored.values() if v is not None),
    )

    # Alibaba deepens the discount on qwen3-max: the old period closes, a new one opens.
    changed = [dict(e) for e in saved]
    for entry in changed:
        if entry["response"]["data"]["id"] == "qwen/qwen3-max":
            entry["response"] = copy.deepcopy(entry["response"])
            for endpoint in entry["response"]["data"]["endpoints"]:
                if endpoint["tag"] == "alibaba":
                    endpoint["pricing"]["discount"] = 0.4
    serve_real_day(openrouter.server, catalog, changed, *_providers_and_zdr(saved))
    assert run_sync(catalog_db, openrouter.base_url).success
    periods = pg.execute(
        "SELECT discount, valid_to IS NULL FROM ai_model_endpoint_discounts "
        "WHERE openrouter_id = 'qwen/qwen3-max' AND tag = 'alibaba' ORDER BY valid_from"
    ).fetchall()
    assert periods == [(Decimal("0.35"), False), (Decimal("0.4"), True)]
