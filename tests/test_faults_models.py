"""Model-level faults: each bad model is set aside or its bad field stored as NULL; the rest syncs."""

import copy
from decimal import Decimal

from conftest import check_results, materialization_metadata, run_sync
from werkzeug import Response

SQLISH = "x'); DROP TABLE ai_models;--"


def _model(template, model_id, **changes):
    model = copy.deepcopy(template)
    model["id"] = model_id
    model.update(changes)
    return model


def test_model_level_faults(catalog_db, pg, openrouter, handwritten_catalog):
    template = next(m for m in handwritten_catalog["data"] if m["id"] == "openai/gpt-4o")
    catalog = copy.deepcopy(handwritten_catalog)
    no_id = copy.deepcopy(template)
    del no_id["id"]
    faults = [
        no_id,
        _model(template, "fault/price-abc", pricing={"prompt": "abc", "completion": "0.000001"}),
        _model(template, "fault/price-empty", pricing={"prompt": "", "completion": "0.000001"}),
        _model(template, "fault/price-null", pricing={"prompt": None, "completion": "0.000001"}),
        _model(template, "fault/price-exponent", pricing={"prompt": "1e-6", "completion": "2E-6"}),
        _model(template, "fault/price-huge", pricing={"prompt": "123456", "completion": "1e300"}),
        _model(template, "fault/context-na", context_length="n/a"),
        _model(template, "fault/unicode", name="Modèle 🚀 测试 — ünïcödé"),
        _model(template, "fault/" + "x" * 5000),
        _model(template, "evil/" + SQLISH, name=SQLISH, description=SQLISH),
        _model(template, SQLISH),
    ]
    catalog["data"] += faults
    result = run_sync(catalog_db, openrouter.serve(catalog))
    assert result.success

    classified = materialization_metadata(result, "classified_models")
    assert classified["set_aside_count"] == 3  # no id, the 5,000-character id, the bare SQL-looking id
    assert "missing or non-string id" in classified["set_aside"]
    assert "longer than 512 characters (5006)" in classified["set_aside"]
    assert "no provider part" in classified["set_aside"]
    # "abc", "", null and "1e300" are unparseable; the model stays, with that price NULL.
    assert classified["price_problems"] == 4
    assert {"id": "fault/context-na", "problem": "context_length unparseable: 'n/a'"} in classified["field_problems"]

    def row(model_id, *cols):
        return pg.execute(
            f"SELECT {', '.join(cols)} FROM ai_models WHERE openrouter_id = %s",  # noqa: S608 - test-only constants
            (model_id,),
        ).fetchone()

    assert row("fault/price-abc", "input_cost_per_million", "output_cost_per_million", "pricing_kind") == (
        None,
        Decimal("1"),
        "paid",
    )
    assert row("fault/price-empty", "input_cost_per_million", "pricing->>'prompt'") == (None, "")
    assert row("fault/price-null", "input_cost_per_million") == (None,)
    assert row("fault/price-exponent", "input_cost_per_million", "output_cost_per_million") == (
        Decimal("1"),
        Decimal("2"),
    )
    assert row("fault/price-huge", "input_cost_per_million", "output_cost_per_million") == (
        Decimal("123456000000"),
        None,
    )
    assert row("fault/context-na", "context_length") == (None,)
    assert row("fault/unicode", "name") == ("Modèle 🚀 测试 — ünïcödé",)
    assert row("evil/" + SQLISH, "name", "description") == (SQLISH, SQLISH)
    assert pg.execute("SELECT to_regclass('public.ai_models') IS NOT NULL").fetchone()[0]
    assert pg.execute("SELECT count(*) FROM ai_models").fetchone()[0] == 23 + len(faults) - 3

    checks = check_results(result)
    assert checks["modality_counts"].passed
    prices = checks["prices_sane"]
    assert not prices.passed
    assert prices.severity.value == "WARN"
    assert [o["id"] for o in prices.metadata["offending"].value] == ["fault/price-huge"]
    assert "fault/price-huge" in prices.metadata["failures"].value


def test_an_answer_nested_2000_levels_deep_sets_that_one_model_aside(catalog_db, pg, openrouter, handwritten_catalog):
    deep = '{"data": {"id": "openai/gpt-4o", "endpoints": [' + "[" * 2000 + "]" * 2000 + "]}}"
    result = run_sync(
        catalog_db,
        openrouter.serve(
            handwritten_catalog, endpoints={"openai/gpt-4o": Response(deep, content_type="application/json")}
        ),
    )
    assert result.success
    meta = materialization_metadata(result, "ai_model_endpoints_table")
    assert meta["failed_ids"] == {"openai/gpt-4o": "malformed answer: nested too deep to read"}
    assert pg.execute("SELECT count(DISTINCT openrouter_id) FROM ai_model_endpoints").fetchone() == (22,)
