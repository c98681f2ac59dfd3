"""Through a transaction-mode pooler (PgBouncer, as Supabase's pooler on port 6543) the sync behaves as direct.

In transaction mode each transaction may run on a different server connection, and a server connection serves
other clients between transactions. A sync must therefore keep all of its session state inside its one
transaction (temporary tables, settings, locks) and use no server-side prepared statements.
"""

import copy
import dataclasses

import psycopg
import pytest
from conftest import (
    check_results,
    four_days_of,
    materialization_metadata,
    replay,
    reset_schema,
    run_sync,
    table_snapshot,
    two_syncs_behind_the_sync_lock,
)

from catalog_pipeline.db.models import write_catalog
from catalog_pipeline.resources.postgres import CatalogDatabase
from catalog_pipeline.rules.models import classify_catalog

pytestmark = pytest.mark.slow

HISTORY = "SELECT openrouter_id, input_cost_per_million, valid_from, valid_to FROM ai_model_price_history ORDER BY id"


@pytest.fixture
def pooled_db(transaction_pooler, pg_url) -> CatalogDatabase:
    """The catalog database reached through the one-connection pool, on an empty schema."""
    reset_schema(pg_url)
    return CatalogDatabase(url=transaction_pooler.url("single"))


def test_the_sync_job_runs_through_the_pooler(pooled_db, pg, openrouter, handwritten_catalog):
    """Migrations, a first load, a curated re-sync with a re-price and a removal: as over a direct connection."""
    first = run_sync(pooled_db, openrouter.serve(handwritten_catalog))
    assert first.success
    assert pg.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 8
    pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id IN ('openai/gpt-4o', 'openrouter/auto')")

    changed = copy.deepcopy(handwritten_catalog)
    changed["data"] = [m for m in changed["data"] if m["id"] != "openrouter/auto"]
    for model in changed["data"]:
        if model["id"] == "openai/gpt-4o":
            model["pricing"]["prompt"] = "0.000002"
    second = run_sync(pooled_db, openrouter.serve(changed))
    assert second.success
    meta = materialization_metadata(second, "ai_models_table")
    assert (meta["inserted"], meta["updated"], meta["deactivated"], meta["repriced"]) == (0, 1, 1, 1)
    checks = check_results(second)
    assert checks["curated_rows_survive"].passed and checks["modality_counts"].passed
    assert checks["catalog_not_truncated"].passed
    curated = pg.execute("SELECT openrouter_id, is_active FROM ai_models WHERE is_curated ORDER BY 1").fetchall()
    assert curated == [("openai/gpt-4o", True), ("openrouter/auto", False)]
    assert pg.execute(
        "SELECT input_cost_per_million::text FROM ai_model_price_history "
        "WHERE openrouter_id = 'openai/gpt-4o' AND valid_to IS NULL"
    ).fetchone() == ("2",)
    # The two runs left no session state on the pool's one server connection: a third finds a clean one.
    assert run_sync(pooled_db, openrouter.serve(changed)).success


def test_four_days_through_the_pooler_write_what_a_direct_connection_writes(
    transaction_pooler, pg_url, handwritten_catalog
):
    catalogs = four_days_of(handwritten_catalog)
    direct = replay(pg_url, catalogs)
    pooled = replay(transaction_pooler.url("single"), catalogs)
    assert [dataclasses.asdict(o) for o in pooled[0]] == [dataclasses.asdict(o) for o in direct[0]]
    assert pooled[1] == direct[1]
    assert pooled[2] == direct[2]
    assert (
        direct[0][1].changed_total > 3 and direct[0][2].reactivated > 3
    )  # the replay did change prices and return models


def test_a_refused_row_through_the_pooler_undoes_the_write_and_frees_the_server_connection(
    pooled_db, pg, handwritten_catalog
):
    pooled_db.ensure_schema()
    rows = classify_catalog(handwritten_catalog["data"]).rows
    with pooled_db.connect() as conn:
        write_catalog(conn, rows)
    pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = %s", (rows[1]["openrouter_id"],))
    before = (table_snapshot(pg), pg.execute(HISTORY).fetchall())

    renamed = [{**r, "name": r["name"] + " v2"} for r in rows]
    poisoned = [dict(r) for r in renamed]
    poisoned[-1]["context_length"] = -1  # Postgres refuses it, last of all
    with pooled_db.connect() as conn:
        with pytest.raises(psycopg.errors.CheckViolation, match="context_length"):
            write_catalog(conn, poisoned)
    assert (table_snapshot(pg), pg.execute(HISTORY).fetchall()) == before

    # A new client gets the same server connection, clean: no aborted transaction, no leftover stage.
    with pooled_db.connect() as conn:
        assert write_catalog(conn, renamed).updated == len(rows)
    curated = pg.execute("SELECT is_curated FROM ai_models WHERE openrouter_id = %s", (rows[1]["openrouter_id"],))
    assert curated.fetchone() == (True,)


def test_concurrent_syncs_through_the_pooler_are_serialised(transaction_pooler, pg_url, pg, handwritten_catalog):
    """Two syncs on two server connections wait for the sync lock, then write one after the other."""
    reset_schema(pg_url)
    database = CatalogDatabase(url=transaction_pooler.url("shared"))
    database.ensure_schema()
    rows = classify_catalog(handwritten_catalog["data"]).rows
    outcomes = two_syncs_behind_the_sync_lock(database, rows, pg_url, pg)
    assert sorted((o.inserted, o.unchanged) for o in outcomes) == [(0, len(rows)), (len(rows), 0)]
    count = pg.execute("SELECT count(*), count(DISTINCT openrouter_id) FROM ai_models").fetchone()
    assert count == (len(rows), len(rows))
