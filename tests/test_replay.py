"""Replay a sequence of real-derived catalogs; assert price history, reactivations and sync-run counts exactly."""

import copy
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
from conftest import active_token_priced, materialization_metadata, run_sync

from catalog_pipeline.db.models import write_catalog
from catalog_pipeline.rules.models import classify_catalog

pytestmark = pytest.mark.real_data

DAY = [datetime(2026, 7, d, 3, 0, tzinfo=UTC) for d in range(1, 6)]
REPRICED = "openai/gpt-4o"
REMOVED = ["anthropic/claude-3.5-sonnet", "google/gemini-2.5-pro"]  # the first comes back on day 3
NEW = "openai/gpt-4o-replay-clone"


def _variants(base: dict) -> list[dict]:
    v1 = copy.deepcopy(base)
    by_id = {m["id"]: m for m in v1["data"]}
    assert REPRICED in by_id and all(r in by_id for r in REMOVED)

    v2 = copy.deepcopy(v1)
    v2["data"] = [m for m in v2["data"] if m["id"] not in REMOVED]
    for model in v2["data"]:
        if model["id"] == REPRICED:
            model["pricing"]["prompt"] = "0.000005"
    clone = copy.deepcopy(by_id[REPRICED])
    clone["id"] = NEW
    v2["data"].append(clone)

    v3 = copy.deepcopy(v1)  # the original prices again; REMOVED[0] returns, REMOVED[1] stays gone
    v3["data"] = [m for m in v3["data"] if m["id"] != REMOVED[1]]
    return [v1, v2, v3, copy.deepcopy(v3)]


def _cost_on(conn, model_id, when):
    return conn.execute(
        "SELECT input_cost_per_million FROM ai_model_price_history "
        "WHERE openrouter_id = %s AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)",
        (model_id, when, when),
    ).fetchall()


def test_replay_of_catalog_history(real_catalog, catalog_db, pg):
    catalog_db.ensure_schema()
    variants = _variants(real_catalog("2026-02-27"))
    n = len({m["id"] for m in variants[0]["data"]})
    pg.execute("UPDATE ai_models SET is_curated = true")  # no rows yet: nothing to do
    outcomes = []
    for day, variant in zip(DAY, variants, strict=False):
        classified = classify_catalog(variant["data"])
        with psycopg.connect(catalog_db.url, autocommit=True) as conn:
            outcomes.append(
                write_catalog(
                    conn,
                    classified.rows,
                    run_id=f"replay-{day:%d}",
                    synced_at=day,
                    run_record={
                        "started_at": day,
                        "source_url": "replay",
                        "fetched": len(variant["data"]),
                        "set_aside": len(classified.set_aside),
                    },
                )
            )
        if day == DAY[0]:
            pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = ANY(%s)", (REMOVED,))

    counts = pg.execute(
        "SELECT dagster_run_id, fetched, inserted, updated, unchanged, deactivated, reactivated, "
        "curated_before, curated_after, outcome FROM ai_model_sync_runs ORDER BY started_at"
    ).fetchall()
    assert counts == [
        ("replay-01", n, n, 0, 0, 0, 0, 0, 0, "success"),
        ("replay-02", n - 1, 1, 1, n - 3, 2, 0, 2, 2, "success"),
        # REMOVED[0] reactivated and REPRICED back to its old price: 2 updates; NEW leaves.
        ("replay-03", n - 1, 0, 2, n - 3, 1, 1, 2, 2, "success"),
        ("replay-04", n - 1, 0, 0, n - 1, 0, 0, 2, 2, "success"),
    ]
    assert [o.changed_total for o in outcomes] == [0, 1, 1, 0]

    history = pg.execute(
        "SELECT input_cost_per_million, previous_input_cost_per_million, valid_from, valid_to "
        "FROM ai_model_price_history WHERE openrouter_id = %s ORDER BY valid_from",
        (REPRICED,),
    ).fetchall()
    assert history == [
        (Decimal("2.5"), None, DAY[0], DAY[1]),
        (Decimal("5"), Decimal("2.5"), DAY[1], DAY[2]),
        (Decimal("2.5"), Decimal("5"), DAY[2], None),
    ]
    assert _cost_on(pg, REPRICED, datetime(2026, 7, 2, 12, tzinfo=UTC)) == [(Decimal("5"),)]
    assert _cost_on(pg, REPRICED, datetime(2026, 7, 4, tzinfo=UTC)) == [(Decimal("2.5"),)]

    returned = pg.execute(
        "SELECT valid_from, valid_to FROM ai_model_price_history WHERE openrouter_id = %s ORDER BY valid_from",
        (REMOVED[0],),
    ).fetchall()
    assert returned == [(DAY[0], DAY[1]), (DAY[2], None)]
    assert _cost_on(pg, REMOVED[0], datetime(2026, 7, 2, 12, tzinfo=UTC)) == []
    gone = pg.execute(
        "SELECT is_active, removed_at, is_curated FROM ai_models WHERE openrouter_id = %s", (REMOVED[1],)
    ).fetchone()
    assert gone == (False, DAY[1], True)
    assert pg.execute(
        "SELECT valid_from, valid_to FROM ai_model_price_history WHERE openrouter_id = %s", (NEW,)
    ).fetchall() == [(DAY[1], DAY[2])]
    assert pg.execute(
        "SELECT is_active, removed_at, is_curated FROM ai_models WHERE openrouter_id = %s", (REMOVED[0],)
    ).fetchone() == (True, None, True)
    # Open periods = active models with token prices (the routers have none); every model has one row.
    assert (
        pg.execute("SELECT count(*) FROM ai_model_price_history WHERE valid_to IS NULL").fetchone()[0]
        == active_token_priced(pg)
        == n - 3
    )
    assert pg.execute("SELECT count(*), count(*) FILTER (WHERE is_active) FROM ai_models").fetchone() == (n + 1, n - 1)


def test_a_replayed_endpoints_archive_deactivates_nothing_it_cannot_see(
    catalog_db, pg, openrouter, handwritten_catalog
):
    small = copy.deepcopy(handwritten_catalog)
    small["data"] = small["data"][:20]
    first = run_sync(catalog_db, openrouter.serve(small))
    assert first.success
    archive = materialization_metadata(first, "raw_openrouter_endpoints")["raw_archive"]
    # Three models are added the next day, with their endpoints.
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success
    active = "SELECT openrouter_id, tag FROM ai_model_endpoints WHERE is_active ORDER BY 1, 2"
    before = pg.execute(active).fetchall()
    replay = run_sync(
        catalog_db,
        openrouter.serve(handwritten_catalog),
        run_config={"ops": {"raw_openrouter_endpoints": {"config": {"replay_archive": archive}}}},
    )
    assert replay.success
    assert pg.execute(active).fetchall() == before
    assert materialization_metadata(replay, "ai_model_endpoints_table")["deactivated"] == 0
