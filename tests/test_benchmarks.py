"""Benchmarks beside prices: the real 2026-07-29 listing (194 of 367 models with `benchmarks`, see the fixtures
README) stored exactly, dated as prices are, and the value frontier worked out here from the same data."""

import copy
import re
from decimal import Decimal

import psycopg
import pytest
from conftest import check_results, materialization_metadata, providers_of, run_sync, user_guides
from endpoint_data import derived_endpoints

from catalog_pipeline.rules.benchmarks import benchmark_rows

pytestmark = pytest.mark.real_data
JULY = "2026-07-29_jvrck_openrouterlist-models.json"
STORED = "SELECT openrouter_id, source, benchmark, category, score, win_rate, rank FROM ai_model_benchmarks"


def _as_sent(value) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


def expected_rows(model: dict) -> set[tuple]:
    """The rows a model's `benchmarks` must give, read here straight from the JSON (not through the rules)."""
    benchmarks, rows = model.get("benchmarks") or {}, set()
    for name, value in (benchmarks.get("artificial_analysis") or {}).items():
        if value is not None:
            rows.add((model["id"], "artificial_analysis", name, "", _as_sent(value), None, None))
    for e in benchmarks.get("design_arena") or []:
        rows.add(
            (
                model["id"],
                "design_arena",
                e["arena"],
                e["category"],
                _as_sent(e["elo"]),
                _as_sent(e["win_rate"]),
                e["rank"],
            )
        )
    return rows


@pytest.fixture
def july(real_file):
    return real_file(JULY)


def _sync(catalog_db, openrouter, catalog):
    result = run_sync(catalog_db, openrouter.serve(catalog))
    assert result.success
    return result


def test_every_benchmark_row_equals_the_models_benchmarks_and_the_headline_columns_follow(
    july, catalog_db, pg, openrouter
):
    result = _sync(catalog_db, openrouter, july)
    expected = set().union(*(expected_rows(m) for m in july["data"]))
    stored = set(pg.execute(STORED + " WHERE valid_to IS NULL").fetchall())
    assert stored == expected
    assert len({r[0] for r in expected}) == 194 and len(expected) > 1400
    assert pg.execute("SELECT count(*) FROM ai_model_benchmarks WHERE valid_to IS NOT NULL").fetchone() == (0,)
    assert materialization_metadata(result, "classified_models")["models_with_benchmarks"] == 194
    assert check_results(result)["benchmark_scores_plausible"].passed

    columns = (
        "intelligence_index, coding_index, agentic_index, reasoning_mandatory, reasoning_default_enabled, "
        "reasoning_default_effort, reasoning_supported_efforts, reasoning_supports_max_tokens"
    )
    stored = {r[0]: r[1:] for r in pg.execute(f"SELECT openrouter_id, {columns} FROM ai_models")}  # noqa: S608
    for model in july["data"]:
        indexes = (model.get("benchmarks") or {}).get("artificial_analysis") or {}
        reasoning = model.get("reasoning") or {}
        assert stored[model["id"]] == (
            _as_sent(indexes.get("intelligence_index")),
            _as_sent(indexes.get("coding_index")),
            _as_sent(indexes.get("agentic_index")),
            reasoning.get("mandatory"),
            reasoning.get("default_enabled"),
            reasoning.get("default_effort"),
            reasoning.get("supported_efforts"),
            reasoning.get("supports_max_tokens"),
        ), model["id"]


def test_moved_scores_are_dated_and_a_model_losing_its_benchmarks_closes_its_periods(july, catalog_db, pg, openrouter):
    _sync(catalog_db, openrouter, july)
    scored = [m for m in july["data"] if (m.get("benchmarks") or {}).get("artificial_analysis")]
    with_arena = [m for m in july["data"] if len((m.get("benchmarks") or {}).get("design_arena") or []) > 1]
    moved, arena_moved, loses, leaves = scored[0], with_arena[1], scored[2], scored[3]
    assert len({moved["id"], arena_moved["id"], loses["id"], leaves["id"]}) == 4
    later = copy.deepcopy(july)
    models = {m["id"]: m for m in later["data"]}
    models[moved["id"]]["benchmarks"]["artificial_analysis"]["coding_index"] = 99.5
    arena = models[arena_moved["id"]]["benchmarks"]["design_arena"]
    arena[0]["elo"] += 7
    dropped = arena.pop()
    del models[loses["id"]]["benchmarks"]
    later["data"] = [m for m in later["data"] if m["id"] != leaves["id"]]
    later["total_count"] = len(later["data"])  # the listing says how many it holds
    before = set(pg.execute(STORED + " WHERE valid_to IS NULL").fetchall())

    result = _sync(catalog_db, openrouter, later)
    second = pg.execute("SELECT max(valid_from) FROM ai_model_benchmarks").fetchone()[0]
    closed = set(pg.execute(STORED + " WHERE valid_to = %s", (second,)).fetchall())
    opened = set(pg.execute(STORED + " WHERE valid_from = %s", (second,)).fetchall())
    assert opened == {
        (moved["id"], "artificial_analysis", "coding_index", "", Decimal("99.5"), None, None),
        (arena_moved["id"], "design_arena", arena[0]["arena"], arena[0]["category"], _as_sent(arena[0]["elo"]),
         _as_sent(arena[0]["win_rate"]), arena[0]["rank"]),
    }  # fmt: skip
    assert closed == (
        {r for r in before if r[0] == moved["id"] and r[2] == "coding_index"}
        | {r for r in before if r[0] == arena_moved["id"] and r[2:4] in {(arena[0]["arena"], arena[0]["category"]),
                                                                          (dropped["arena"], dropped["category"])}}
        | {r for r in before if r[0] in (loses["id"], leaves["id"])}
    )  # fmt: skip
    assert set(pg.execute(STORED + " WHERE valid_to IS NULL").fetchall()) == set().union(
        *(expected_rows(m) for m in later["data"])
    )
    assert pg.execute(
        "SELECT coding_index, intelligence_index FROM ai_models WHERE openrouter_id = %s", (loses["id"],)
    ).fetchone() == (None, None)
    report = materialization_metadata(result, "ai_models_table")["change_report"]
    assert "### Benchmark scores moved (2)" in report and f"`{moved['id']}` artificial_analysis coding_index" in report
    assert "→ 99.5" in report

    # The same catalog again: nothing moves.
    _sync(catalog_db, openrouter, later)
    assert pg.execute("SELECT max(valid_from) FROM ai_model_benchmarks").fetchone()[0] == second


INTELLIGENCE = ("artificial_analysis", "intelligence_index", "")


def frontier_worked_out(pg, benchmark=INTELLIGENCE, *, include_free=False, include_variants=False) -> list[tuple]:
    """The frontier from the stored rows, by brute force in Python: every candidate, every pair compared."""
    rows = pg.execute(
        """SELECT m.openrouter_id, m.modality, b.score, m.input_cost_per_million, m.output_cost_per_million
             FROM ai_models m JOIN ai_model_benchmarks b ON b.openrouter_id = m.openrouter_id AND b.valid_to IS NULL
            WHERE m.is_active AND m.billing_unit = 'token'
              AND b.source = %s AND b.benchmark = %s AND b.category = %s""",
        benchmark,
    ).fetchall()
    candidates = [
        (model_id, score, (3 * i + o) / 4, i, o)
        for model_id, modality, score, i, o in rows
        if modality in ("text", "multimodal") and i is not None and o is not None
        and (include_free or i > 0 or o > 0) and (include_variants or ":" not in model_id)
    ]  # fmt: skip
    on = [
        c for c in candidates
        if not any(d[1] >= c[1] and d[2] <= c[2] and (d[1] > c[1] or d[2] < c[2]) for d in candidates)
    ]  # fmt: skip
    return sorted(((c[0], c[1], c[2].normalize(), c[3], c[4]) for c in on), key=lambda c: (c[2], -c[1], c[0].encode()))


def _frontier(pg, sql: str, params=()) -> list[tuple]:
    return [(r[0], r[1], r[2].normalize(), r[3], r[4]) for r in pg.execute(sql, params).fetchall()]


def test_the_value_frontier_equals_the_one_worked_out_here(july, catalog_db, pg, openrouter):
    _sync(catalog_db, openrouter, july)
    default = _frontier(pg, "SELECT * FROM ai_model_value_frontier()")
    assert default == frontier_worked_out(pg) and len(default) >= 3
    blended = [r[2] for r in default]
    scores = [r[1] for r in default]
    assert blended == sorted(blended) and scores == sorted(scores)  # dearer only where better
    assert _frontier(pg, "SELECT * FROM ai_model_value_frontier('coding_index')") == frontier_worked_out(
        pg, ("artificial_analysis", "coding_index", "")
    )
    assert _frontier(
        pg, "SELECT * FROM ai_model_value_frontier('agentic_index', include_free => true, include_variants => true)"
    ) == frontier_worked_out(pg, ("artificial_analysis", "agentic_index", ""), include_free=True, include_variants=True)
    arena = _frontier(pg, "SELECT * FROM ai_model_value_frontier('design_arena:models/website')")
    assert arena and arena == frontier_worked_out(pg, ("design_arena", "models", "website"))
    # The 28 `:batch` variants share their base's scores at a lower price: let in, they take the frontier's cheap end.
    with_variants = _frontier(pg, "SELECT * FROM ai_model_value_frontier(include_variants => true)")
    assert with_variants == frontier_worked_out(pg, include_variants=True)
    assert any(":" in r[0] for r in with_variants) and not any(":" in r[0] for r in default)
    # On the day before the first sync nothing was listed.
    assert pg.execute("SELECT count(*) FROM ai_model_value_frontier(at => now() - interval '1 day')").fetchone() == (0,)
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="unknown benchmark 'math_index'"):
        pg.execute("SELECT * FROM ai_model_value_frontier('math_index')")


def test_the_readmes_benchmark_queries_answer_and_endpoint_filters_price_as_the_cheapest_endpoint(
    july, catalog_db, pg, openrouter
):
    """The README's queries of benchmarks and the frontier, on a database one sync of the real listing old, whose
    endpoints (derived from each model's prices) keep no data, half of their providers in Germany."""
    models = {m["id"]: m for m in july["data"]}
    tags = [(model_id, e["tag"]) for model_id, m in models.items() for e in derived_endpoints(model_id, m)]
    providers = providers_of(models)
    for i, provider in enumerate(providers["data"]):
        provider["datacenters"] = ["DE"] if i % 2 else ["US"]
    zdr = {"data": [{"model_id": m, "tag": t, "provider_name": t} for m, t in tags]}
    assert run_sync(catalog_db, openrouter.serve(july, providers=providers, zdr=zdr)).success
    filtered = pg.execute(
        "SELECT openrouter_id, input_cost_per_million, output_cost_per_million "
        "FROM ai_model_value_frontier(require_zero_data_retention => true, datacenter_countries => ARRAY['DE'])"
    ).fetchall()
    assert filtered
    for model_id, input_cost, output_cost in filtered:
        cheapest = pg.execute(
            "SELECT input_cost_per_million, output_cost_per_million FROM ai_model_cheapest_endpoint(%s, true, %s)",
            (model_id, ["DE"]),
        ).fetchone()
        assert cheapest == (input_cost, output_cost), model_id
    blocks = [b for guide in user_guides() for b in re.findall(r"```sql\n(.*?)```", guide, flags=re.S)]
    statements = [s.strip() for b in blocks for s in b.split(";") if "benchmark" in s or "frontier" in s]
    assert len(statements) >= 2
    for statement in statements:
        assert pg.execute(statement).fetchall(), statement


def test_the_rules_read_every_real_benchmark_without_a_problem(july):
    for model in july["data"]:
        scores = benchmark_rows(model.get("benchmarks"))
        assert scores.problems == [], model["id"]
        assert {(model["id"], *r) for r in scores.rows} == expected_rows(model)
