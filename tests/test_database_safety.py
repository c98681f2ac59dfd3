"""Database faults, concurrency and migrations, against the real Postgres."""

import copy
import shutil
import threading
import time
from pathlib import Path

import psycopg
import psycopg.sql
import pytest
from conftest import (
    active_token_priced,
    failure_text,
    run_sync,
    table_snapshot,
    two_syncs_behind_the_sync_lock,
    wait_for,
)

from catalog_pipeline.db import CatalogDatabaseError
from catalog_pipeline.db.migrations import packaged_migrations
from catalog_pipeline.db.models import write_catalog
from catalog_pipeline.db.sync import DuplicateKeys, column_descriptions
from catalog_pipeline.resources.postgres import CatalogDatabase
from catalog_pipeline.rules.models import classify_catalog

SECRET = "s3cr3t-Pa55word"
SQL_DIR = Path(__file__).parent.parent / "sql"


def test_unreachable_database_fails_clearly_without_the_secret(openrouter, handwritten_catalog, capfd):
    db = CatalogDatabase(url=f"postgresql://catalog:{SECRET}@127.0.0.1:1/catalog", connect_timeout_seconds=2)
    result = run_sync(db, openrouter.serve(handwritten_catalog))
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failures
    messages = []
    for event in failures:
        error = event.step_failure_data.error
        while error:
            messages.append(error.to_string())
            error = error.cause
    text = "\n".join(messages)
    assert "cannot connect to the catalog database at 127.0.0.1:1/catalog" in text
    assert "Check DATABASE_URL" in text
    assert openrouter.server.log == []  # the database is tried before the API is asked anything
    everything = text + "".join(str(e) for e in result.all_events) + "".join(capfd.readouterr())
    assert SECRET not in everything


def test_write_connection_killed_mid_transaction(catalog_db, pg, openrouter, handwritten_catalog):
    base = openrouter.serve(handwritten_catalog)
    assert run_sync(catalog_db, base).success
    pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = 'openai/gpt-4o'")
    before = table_snapshot(pg)

    changed = {"data": [dict(m) for m in handwritten_catalog["data"]]}
    for model in changed["data"]:
        model["pricing"] = dict(model["pricing"])
        if model["id"] == "openai/gpt-4o":
            model["pricing"]["prompt"] = "0.000001"
    openrouter.serve(changed)

    # Another session locks the gpt-4o row, so the sync's upsert waits inside its transaction (after COPY
    # and the price-history writes); then that backend is terminated.
    killer_errors = []

    def hold_and_kill():
        try:
            with psycopg.connect(catalog_db.url) as holder, psycopg.connect(catalog_db.url, autocommit=True) as admin:
                holder.execute("SELECT 1 FROM ai_models WHERE openrouter_id = 'openai/gpt-4o' FOR UPDATE")
                pid = wait_for(
                    admin,
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'catalog_pipeline' "
                    "AND wait_event_type = 'Lock' AND query LIKE '%%INSERT INTO \"ai_models\"%%'",
                )
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                holder.rollback()
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            killer_errors.append(exc)

    killer = threading.Thread(target=hold_and_kill)
    killer.start()
    time.sleep(0.3)  # let the holder take its lock first
    result = run_sync(catalog_db, base)
    killer.join()
    assert not killer_errors
    assert not result.success
    assert table_snapshot(pg) == before
    failed = pg.execute("SELECT outcome, error FROM ai_model_sync_runs ORDER BY id DESC LIMIT 1").fetchone()
    assert failed[0] == "failed"
    assert "terminat" in failed[1]
    # A period per model with token prices (the history is a view over ai_model_prices).
    assert pg.execute("SELECT count(*) FROM ai_model_price_history").fetchone()[0] == active_token_priced(pg) == 19

    result = run_sync(catalog_db, base)
    assert result.success
    assert pg.execute(
        "SELECT input_cost_per_million::text, is_curated FROM ai_models WHERE openrouter_id = 'openai/gpt-4o'"
    ).fetchone() == ("1", True)


def test_concurrent_syncs_are_serialised(catalog_db, pg, handwritten_catalog):
    catalog_db.ensure_schema()
    rows = classify_catalog(handwritten_catalog["data"]).rows
    outcomes = two_syncs_behind_the_sync_lock(catalog_db, rows, catalog_db.url, pg)
    assert sorted((o.inserted, o.unchanged) for o in outcomes) == [(0, 23), (23, 0)]
    assert pg.execute("SELECT count(*), count(DISTINCT openrouter_id) FROM ai_models").fetchone() == (23, 23)
    # A period per model with token prices (the history is a view over ai_model_prices).
    assert pg.execute("SELECT count(*) FROM ai_model_price_history").fetchone()[0] == active_token_priced(pg) == 19


def test_migrations_run_twice_and_are_recorded(catalog_db, pg):
    assert catalog_db.ensure_schema() == [p.stem for p in sorted(SQL_DIR.glob("0*.sql"))]
    assert catalog_db.ensure_schema() == []
    # Each file is also safe to run again by hand, alone, over the schema the later ones built; but 003's view
    # (SELECT * at 003's time, recreated with every column by 014) needs 014 after it.
    for path in sorted(SQL_DIR.glob("0*.sql")):
        if path.stem != "003_create_ai_models_curated_view":
            pg.execute(path.read_text())
    assert pg.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(list(SQL_DIR.glob("0*.sql")))
    comment = pg.execute(
        "SELECT col_description('ai_models'::regclass, attnum) FROM pg_attribute "
        "WHERE attrelid = 'ai_models'::regclass AND attname = 'is_curated'"
    ).fetchone()[0]
    assert "never synced" in comment.lower()
    columns = {
        r[0] for r in pg.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'ai_models'")
    }
    described = column_descriptions(pg)
    assert {name for name, _, _ in described} == columns
    assert [name for name, _, comment in described if not comment] == []  # the UI shows no blank description
    with pytest.raises(psycopg.errors.CheckViolation):
        pg.execute(
            "INSERT INTO ai_models (openrouter_id, name, provider, provider_slug, modality) "
            "VALUES ('a/b', 'b', 'a', 'a', 'hologram')"
        )


def test_a_migration_made_re_runnable_is_accepted_under_its_earlier_checksum(catalog_db, pg, caplog):
    """004 was applied everywhere before it was made re-runnable: its earlier checksum is not an edit."""
    catalog_db.ensure_schema()
    earlier = "3b07703b419cbe8de1c291bfda33c3421f33c6f531809bdef467f7f6b19f5d86"
    pg.execute(
        "UPDATE schema_migrations SET checksum = %s WHERE version = '004_create_ai_model_price_history'", (earlier,)
    )
    with caplog.at_level("WARNING"):
        assert catalog_db.ensure_schema() == []
    assert "changed after it was applied" not in caplog.text
    pg.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = '004_create_ai_model_price_history'")
    with caplog.at_level("WARNING"):
        catalog_db.ensure_schema()
    assert "004_create_ai_model_price_history.sql changed after it was applied" in caplog.text


def test_new_migrations_apply_and_edited_ones_are_reported(catalog_db, pg, tmp_path, caplog):
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    catalog_db.ensure_schema(sql_dir)
    first = sorted(sql_dir.glob("0*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after it was applied\n")
    with caplog.at_level("WARNING"):
        assert catalog_db.ensure_schema(sql_dir) == []  # nothing pending: the fast path still notices the edit
    assert f"migration {first.name} changed after it was applied" in caplog.text
    (sql_dir / "098_add_scratch.sql").write_text("CREATE TABLE scratch_098 (id int);\n")
    assert catalog_db.ensure_schema(sql_dir) == ["098_add_scratch"]
    assert pg.execute("SELECT to_regclass('public.scratch_098')").fetchone()[0] == "scratch_098"
    assert catalog_db.ensure_schema(sql_dir) == []


def test_failed_migration_leaves_the_schema_as_it_was(catalog_db, pg, tmp_path):
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    catalog_db.ensure_schema(sql_dir)
    pg.execute(
        "INSERT INTO ai_models (openrouter_id, name, provider, provider_slug, is_curated) "
        "VALUES ('a/b', 'b', 'a', 'a', true)"
    )
    (sql_dir / "099_half_broken.sql").write_text(
        "CREATE TABLE half_done (id int);\n"
        "ALTER TABLE ai_models ADD COLUMN half_done_col int;\n"
        "UPDATE ai_models SET is_curated = false;\n"
        "SELECT 1 / 0;\n"
    )
    with pytest.raises(CatalogDatabaseError, match="migration 099_half_broken.sql failed and was rolled back"):
        catalog_db.ensure_schema(sql_dir)
    assert pg.execute("SELECT to_regclass('public.half_done')").fetchone()[0] is None
    assert (
        pg.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'ai_models' "
            "AND column_name = 'half_done_col'"
        ).fetchone()[0]
        == 0
    )
    assert pg.execute("SELECT is_curated FROM ai_models WHERE openrouter_id = 'a/b'").fetchone()[0] is True
    last = sorted(SQL_DIR.glob("0*.sql"))[-1].stem
    assert pg.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == last


def test_the_package_ships_the_migrations_of_sql():
    assert sorted(p.name for p in packaged_migrations().iterdir() if p.name.endswith(".sql")) == sorted(
        p.name for p in SQL_DIR.glob("*.sql")
    )


def test_curated_ids_have_their_own_index(catalog_db, pg):
    """The index 007 meant to add (008 adds it): only curated rows, keyed by id."""
    catalog_db.ensure_schema()
    definition = pg.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_ai_models_curated'").fetchone()[0]
    assert definition.endswith("USING btree (openrouter_id) WHERE is_curated")


def test_unchanged_rows_are_not_rewritten_whatever_their_id(catalog_db, pg, handwritten_catalog):
    """Ids holding COPY's special characters compare equal to their stored selves, so nothing flaps."""
    catalog_db.ensure_schema()
    models = handwritten_catalog["data"] + [
        {**handwritten_catalog["data"][0], "id": "weird/tab\there\\back\\\\slash\nnew line\rcr"},
        {**handwritten_catalog["data"][0], "id": "weird/\\N"},
        {**handwritten_catalog["data"][0], "id": "weird/\b\v\f"},
    ]
    rows = classify_catalog(models).rows
    with psycopg.connect(catalog_db.url, autocommit=True) as conn:
        first = write_catalog(conn, rows)
        second = write_catalog(conn, rows)
        pg.execute("UPDATE ai_models SET is_active = false WHERE openrouter_id = 'weird/\\N'")
        third = write_catalog(conn, rows)
    assert (first.total, first.inserted) == (26, 26)
    assert (second.total, second.inserted, second.updated, second.deactivated, second.unchanged) == (26, 0, 0, 0, 26)
    assert (third.updated, third.reactivated, third.deactivated) == (1, 1, 0)
    stored = {r[0] for r in pg.execute("SELECT openrouter_id FROM ai_models WHERE openrouter_id LIKE 'weird/%'")}
    assert stored == {"weird/tab\there\\back\\\\slash\nnew line\rcr", "weird/\\N", "weird/\b\v\f"}
    # Leaving the catalog deactivates exactly those rows.
    with psycopg.connect(catalog_db.url, autocommit=True) as conn:
        fourth = write_catalog(conn, rows[:-3])
    assert (fourth.updated, fourth.deactivated, sorted(k for (k,) in fourth.removed)) == (0, 3, sorted(stored))
    inactive = {r[0] for r in pg.execute("SELECT openrouter_id FROM ai_models WHERE NOT is_active")}
    assert inactive == stored


def test_duplicate_ids_fail_before_anything_is_written(catalog_db, pg, handwritten_catalog):
    catalog_db.ensure_schema()
    rows = classify_catalog(handwritten_catalog["data"]).rows
    with psycopg.connect(catalog_db.url, autocommit=True) as conn:
        write_catalog(conn, rows)
        before = table_snapshot(pg)
        with pytest.raises(DuplicateKeys, match="repeat a key; nothing was written"):
            write_catalog(conn, [*rows, {**rows[3]}])
    assert table_snapshot(pg) == before


def test_a_connection_that_used_temporary_tables_still_syncs(catalog_db, pg, handwritten_catalog):
    """A pooled or reused session may already hold temporary tables of its own."""
    catalog_db.ensure_schema()
    rows = classify_catalog(handwritten_catalog["data"]).rows
    with psycopg.connect(catalog_db.url, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE scratch (a int)")
        conn.execute("INSERT INTO scratch VALUES (1)")
        outcome = write_catalog(conn, rows)
    assert outcome.inserted == len(rows)
    assert pg.execute("SELECT count(*) FROM ai_models").fetchone()[0] == len(rows)


# What the migrations build, as the catalog describes it: a restore that re-runs them must leave every line as it was.
SCHEMA_FINGERPRINT = """
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' '
       || coalesce(column_default, '') || ' '
       || coalesce(col_description(to_regclass(table_name), ordinal_position::int), '')
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'relation ' || relname || ' ' || relkind::text || ' ' || relrowsecurity || ' '
       || coalesce(relacl::text, '') || ' '
       || coalesce(reloptions::text, '') || ' ' || coalesce(obj_description(oid, 'pg_class'), '')
  FROM pg_class WHERE relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'view ' || viewname || ' ' || definition FROM pg_views WHERE schemaname = 'public'
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'function ' || pg_get_functiondef(oid) || coalesce(proacl::text, '')
  FROM pg_proc WHERE pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'policy ' || tablename || ' ' || policyname || ' ' || cmd || ' ' || roles::text || ' '
       || coalesce(qual, '') || ' ' || coalesce(with_check, '')
  FROM pg_policies WHERE schemaname = 'public'
ORDER BY 1
"""


def _catalog_rows(pg: psycopg.Connection) -> dict[str, list]:
    """Every row of every table but the ledger and the run records (a sync appends to those)."""
    tables = [
        r[0]
        for r in pg.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' "
            "AND relname NOT IN ('schema_migrations', 'ai_model_sync_runs', 'ai_model_endpoint_observations') "
            "ORDER BY 1"
        )
    ]
    return {
        t: pg.execute(
            psycopg.sql.SQL("SELECT to_jsonb(r)::text FROM {} r ORDER BY 1").format(psycopg.sql.Identifier(t))
        ).fetchall()
        for t in tables
    }


def test_a_ledger_restored_empty_re_records_every_migration_and_changes_nothing(
    catalog_db, pg, openrouter, handwritten_catalog
):
    """A dump restored without schema_migrations' rows: the next sync re-runs every migration over the schema the
    later ones built, harmlessly: the same schema, line for line, and every row and curated flag as it was."""
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success
    repriced = copy.deepcopy(handwritten_catalog)
    for model in repriced["data"][::4]:
        model["pricing"]["prompt"] = "0.00000321"
    assert run_sync(catalog_db, openrouter.serve(repriced)).success
    pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id IN ('openai/gpt-4o', 'openai/o1')")
    schema, rows = pg.execute(SCHEMA_FINGERPRINT).fetchall(), _catalog_rows(pg)
    assert pg.execute("SELECT count(*) FROM ai_model_prices WHERE valid_to IS NOT NULL").fetchone()[0] > 0

    pg.execute("TRUNCATE schema_migrations")
    result = run_sync(catalog_db, openrouter.serve(repriced))
    assert result.success, failure_text(result)
    versions = [r[0] for r in pg.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [p.stem for p in sorted(SQL_DIR.glob("0*.sql"))]
    assert pg.execute(SCHEMA_FINGERPRINT).fetchall() == schema
    assert _catalog_rows(pg) == rows


def test_every_view_over_ai_models_shows_every_column(catalog_db, pg, openrouter, handwritten_catalog):
    """PostgreSQL fixes a view's columns at CREATE: ai_models_curated (SELECT *) must be recreated with each new
    column, and this says when it was not."""
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success

    def columns(relation):
        return [
            r[0]
            for r in pg.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
                "ORDER BY attnum",
                (relation,),
            )
        ]

    assert columns("ai_models_curated") == columns("ai_models")
    pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = 'openai/gpt-4o'")
    assert pg.execute("SELECT openrouter_id, billing_unit FROM ai_models_curated").fetchall() == [
        ("openai/gpt-4o", "token")
    ]
