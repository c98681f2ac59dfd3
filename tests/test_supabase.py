"""The public API roles read the catalog and write nothing: a database set up as Supabase sets one up (its API
roles, their default privileges on public, `pgrst.db_schemas`), after a real sync. Supabase's own linter
(supabase/splinter's lints/*.sql) runs here when SPLINTER_DIR names a checkout of it; the properties it checks are
also asserted directly, everywhere."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import psycopg
import pytest
from conftest import failure_text, run_sync
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from catalog_pipeline.migrate import main as migrate
from catalog_pipeline.resources.postgres import CatalogDatabase

CATALOG_TABLES = [
    "ai_models",
    "ai_model_prices",
    "ai_model_endpoints",
    "ai_model_endpoint_prices",
    "ai_providers",
    "ai_model_endpoint_zero_data_retention",
    "ai_model_benchmarks",
    "ai_model_endpoint_discounts",
    "ai_model_listings",
    "ai_model_endpoint_listings",
    "ai_provider_listings",
    "ai_model_context_lengths",
]
OPERATIONAL_TABLES = ["ai_model_sync_runs", "ai_model_endpoint_observations", "schema_migrations"]
# A plain column of each table, for UPDATE t SET c = c (identity columns refuse even that before privileges).
A_COLUMN = dict.fromkeys(CATALOG_TABLES + OPERATIONAL_TABLES, "dagster_run_id") | {
    "ai_models": "name",
    "ai_providers": "name",
    "ai_model_endpoints": "tag",
    "ai_model_sync_runs": "error",
    "schema_migrations": "checksum",
}
API_ROLES = ["anon", "authenticated"]

# What a Supabase project does to public (supabase/postgres's roles and default privileges): three API roles, and
# every table, sequence and function any later migration creates granted to them.
SUPABASE_SETUP = """
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END $$;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
"""


@pytest.fixture
def supabase(catalog_db, pg, openrouter, handwritten_catalog):
    """The test database set up as Supabase sets one up, then synced once."""
    pg.execute(SUPABASE_SETUP)
    assert run_sync(catalog_db, openrouter.serve(handwritten_catalog)).success
    return catalog_db


def _as(pg: psycopg.Connection, role: str, statement: str, table: str = "") -> tuple[str, int | None]:
    """('ok', rows affected) or ('denied', None): the statement as `role`, rolled back either way; `{t}` and `{c}`
    in it stand for the table and a plain column of it."""
    query = sql.SQL(statement).format(t=sql.Identifier(table), c=sql.Identifier(A_COLUMN.get(table, "id")))
    try:
        with pg.transaction(force_rollback=True):
            pg.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
            return "ok", pg.execute(query).rowcount
    except psycopg.errors.InsufficientPrivilege:
        return "denied", None


def _snapshot(pg: psycopg.Connection) -> dict[str, list]:
    return {
        t: pg.execute(sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(t))).fetchall()
        for t in CATALOG_TABLES + OPERATIONAL_TABLES
    }


def test_the_api_roles_read_the_catalog_and_change_nothing(supabase, pg, openrouter, handwritten_catalog):
    before = _snapshot(pg)
    for role in API_ROLES:
        for table in [*CATALOG_TABLES, "ai_models_curated", "ai_model_endpoint_summary", "ai_model_price_history"]:
            assert _as(pg, role, "SELECT 1 FROM {t}", table)[0] == "ok", (role, table)
        # The sync-run errors name hosts and steps: not readable through the API.
        for table in OPERATIONAL_TABLES:
            assert _as(pg, role, "SELECT 1 FROM {t}", table) == ("denied", None), (role, table)
        for table in CATALOG_TABLES + OPERATIONAL_TABLES:
            for statement in (
                "UPDATE {t} SET {c} = {c}",
                "DELETE FROM {t}",
                "TRUNCATE {t}",
                "INSERT INTO {t} DEFAULT VALUES",
            ):
                assert _as(pg, role, statement, table) == ("denied", None), (role, statement, table)
        assert _as(pg, role, "UPDATE ai_models SET is_curated = NOT is_curated") == ("denied", None)
        # The curated view is updatable, and Supabase grants it too: it runs as its reader, who may not write.
        assert _as(pg, role, "UPDATE ai_models_curated SET is_curated = false") == ("denied", None)
        assert _as(pg, role, "SELECT ai_model_request_cost('openai/gpt-4o', 1000, 1000)")[0] == "ok"
    assert _snapshot(pg) == before
    assert run_sync(supabase, openrouter.serve(handwritten_catalog)).success


def test_every_table_has_rls_every_view_runs_as_its_reader_and_every_function_pins_its_search_path(supabase, pg):
    """What Supabase's linter reports as rls_disabled_in_public, security_definer_view and
    function_search_path_mutable, read from the catalog directly."""
    tables = pg.execute(
        "SELECT relname, relrowsecurity FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
    ).fetchall()
    assert {name for name, _ in tables} == set(CATALOG_TABLES + OPERATIONAL_TABLES)
    assert all(rls for _, rls in tables), tables
    views = pg.execute(
        "SELECT relname, reloptions FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'v'"
    ).fetchall()
    assert views and all("security_invoker=true" in (options or []) for _, options in views), views
    functions = pg.execute(
        "SELECT proname, proconfig FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
    ).fetchall()
    assert functions and all(any(c.startswith("search_path=") for c in config or []) for _, config in functions)


def _splinter_lints() -> list[Path]:
    folder = os.environ.get("SPLINTER_DIR")
    lints = sorted(Path(folder, "lints").glob("*.sql")) if folder else []
    if not lints:
        reason = "Supabase's linter not found: set SPLINTER_DIR to a checkout of github.com/supabase/splinter"
        if os.environ.get("CATALOG_REQUIRE_SPLINTER") == "1":
            pytest.fail(f"CATALOG_REQUIRE_SPLINTER=1 but {reason}")
        pytest.skip(reason)
    return lints


# The Supabase schemas some lints read (after splinter's own test/fixtures.sql, which does the same).
LINT_STUBS = """
CREATE SCHEMA lint;
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, username text NOT NULL UNIQUE);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql AS $$SELECT gen_random_uuid()$$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql AS $$SELECT jsonb_build_object()$$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql AS $$SELECT ''$$;
CREATE FUNCTION auth.email() RETURNS text LANGUAGE sql AS $$SELECT ''$$;
"""


def test_supabases_linter_finds_no_error_and_no_warning(supabase, pg):
    lints = _splinter_lints()
    pg.execute(LINT_STUBS)
    try:
        created, not_applicable = [], {}
        for path in lints:
            try:
                with pg.transaction():
                    pg.execute(path.read_text(encoding="utf-8"))
                created.append(path.stem)
            except psycopg.Error as exc:  # a lint of a Supabase feature this database lacks (pgmq, storage, …)
                not_applicable[path.stem] = str(exc).splitlines()[0]
        # The lints of RLS, security-definer views and mutable search paths, and the one that would flag an
        # always-true write policy, all ran.
        for needed in ("0010_security_definer_view", "0011_function_search_path_mutable", "0013_rls_disabled_in_public",
                       "0024_rls_policy_always_true", "0008_rls_enabled_no_policy"):  # fmt: skip
            assert needed in created, not_applicable
        with pg.transaction():
            pg.execute("SET LOCAL pgrst.db_schemas = 'public'")
            findings = [
                row
                for view in created
                for row in pg.execute(sql.SQL("SELECT name, level, detail FROM lint.{}").format(sql.Identifier(view)))
            ]
        serious = [f for f in findings if f[1] in ("ERROR", "WARN")]
        assert serious == [], serious
        print(f"splinter: {len(created)} lints ran, {len(findings)} INFO findings; not applicable: {not_applicable}")
    finally:
        pg.execute("DROP SCHEMA IF EXISTS lint, auth CASCADE")


def _url_as(url: str, user: str) -> str:
    params = conninfo_to_dict(url)
    params["user"] = user
    params.pop("password", None)
    return make_conninfo(**params)


def _login_role(pg: psycopg.Connection, name: str, member_of: str) -> None:
    """A login role (cluster-wide: kept between runs) that is a member of `member_of`, with USAGE on public."""
    if not pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
        pg.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    pg.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(member_of), sql.Identifier(name)))
    pg.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(name)))


def test_a_runtime_role_with_only_dml_syncs_and_a_behind_schema_fails_at_once(
    supabase, pg, pg_url, openrouter, handwritten_catalog
):
    """The README's runtime role: member of catalog_writer, USAGE on the schema. It syncs a migrated schema; on a
    schema that is behind it fails at once, naming the migrations and the command, and changes nothing."""
    _login_role(pg, "catalog_sync_test", "catalog_writer")
    runtime = CatalogDatabase(url=_url_as(pg_url, "catalog_sync_test"))
    catalog = {**handwritten_catalog, "data": handwritten_catalog["data"][:-1]}  # a model leaves: a real write
    result = run_sync(runtime, openrouter.serve(catalog))
    assert result.success, failure_text(result)
    assert pg.execute("SELECT count(*) FROM ai_models WHERE NOT is_active").fetchone() == (1,)

    pg.execute("DELETE FROM schema_migrations WHERE version = '015_row_level_security'")
    before = _snapshot(pg)
    behind = run_sync(runtime, openrouter.serve(handwritten_catalog))
    assert not behind.success
    message = failure_text(behind)
    assert "015_row_level_security not applied" in message and "python -m catalog_pipeline.migrate" in message
    assert _snapshot(pg) == before


def test_the_migrate_command_fails_clearly_on_a_held_lock_and_a_second_run_is_harmless(
    supabase, pg, pg_url, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", supabase.url)
    assert migrate(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    pg.execute("DELETE FROM schema_migrations WHERE version = '015_row_level_security'")
    assert migrate(["--check"]) == 1
    assert "015_row_level_security.sql" in capsys.readouterr().out
    with psycopg.connect(pg_url, autocommit=True) as holder, holder.transaction():
        holder.execute("LOCK TABLE ai_models IN ACCESS SHARE MODE")
        assert migrate(["--lock-timeout", "0.5"]) == 2
        error = capsys.readouterr().err
        assert (
            "015_row_level_security.sql could not take a lock within 500ms" in error and "Nothing was changed" in error
        )
    assert pg.execute("SELECT count(*) FROM schema_migrations WHERE version = '015_row_level_security'").fetchone() == (
        0,
    )
    # Run again over what it already did (its policies and grants exist): not an error.
    assert migrate([]) == 0
    assert "015_row_level_security" in capsys.readouterr().out
    assert pg.execute("SELECT count(*) FROM pg_policies WHERE tablename = 'ai_models'").fetchone() == (5,)


def test_a_curator_flips_is_curated_and_nothing_else(supabase, pg, pg_url):
    """The README's one GRANT: `GRANT catalog_curator TO <person>`."""
    _login_role(pg, "curator_test", "catalog_curator")
    with psycopg.connect(_url_as(pg_url, "curator_test"), autocommit=True) as person:
        flipped = person.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = 'openai/gpt-4o'")
        assert flipped.rowcount == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            person.execute("UPDATE ai_models SET input_cost_per_million = 0")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            person.execute("DELETE FROM ai_models")
    assert pg.execute("SELECT openrouter_id FROM ai_models WHERE is_curated").fetchall() == [("openai/gpt-4o",)]


def test_a_role_set_up_before_row_level_security_is_told_to_join_catalog_writer(
    supabase, pg, pg_url, openrouter, handwritten_catalog
):
    """The least-privilege recipe from before catalog_writer: DML on every table. Row level security hides the
    migrations ledger from it, so its sync fails naming the grant it needs, never "behind"; with the grant it syncs."""
    name = "catalog_dml_only_test"
    if not pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
        pg.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    pg.execute(sql.SQL("REVOKE catalog_writer FROM {}").format(sql.Identifier(name)))
    pg.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(name)))
    pg.execute(
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            sql.Identifier(name)
        )
    )
    runtime = CatalogDatabase(url=_url_as(pg_url, name))
    before = _snapshot(pg)
    result = run_sync(runtime, openrouter.serve(handwritten_catalog))
    assert not result.success
    message = failure_text(result)
    assert f"GRANT catalog_writer TO {name};" in message and "cannot read the migrations ledger" in message
    assert "behind" not in message
    assert _snapshot(pg) == before

    pg.execute(sql.SQL("GRANT catalog_writer TO {}").format(sql.Identifier(name)))
    assert run_sync(runtime, openrouter.serve(handwritten_catalog)).success


def test_the_production_roles_recipe_runs_as_written_and_its_roles_do_what_it_says(
    supabase, pg, pg_url, openrouter, handwritten_catalog
):
    """docs/operations.md's SQL, run as written (its roles renamed for this run, its password filled in): the sync
    role syncs, the person may set is_curated and nothing else."""
    guide = (Path(__file__).parent.parent / "docs" / "operations.md").read_text(encoding="utf-8")
    [block] = re.findall(r"```sql\n(.*?)```", guide, flags=re.S)
    suffix = uuid.uuid4().hex[:8]
    sync_role, person = f"catalog_sync_{suffix}", f"alice_{suffix}"
    recipe = block.replace("catalog_sync", sync_role).replace("alice", person).replace("'…'", "'not-a-real-secret'")
    pg.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(person)))
    try:
        for statement in filter(str.strip, re.sub(r"--[^\n]*", "", recipe).split(";")):
            pg.execute(statement)
        runtime = CatalogDatabase(url=_url_as(pg_url, sync_role))
        catalog = {**handwritten_catalog, "data": handwritten_catalog["data"][:-1]}
        assert run_sync(runtime, openrouter.serve(catalog)).success
        assert pg.execute("SELECT count(*) FROM ai_models WHERE NOT is_active").fetchone() == (1,)
        with psycopg.connect(_url_as(pg_url, person), autocommit=True) as curator:
            curator.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = 'openai/gpt-4o'")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                curator.execute("UPDATE ai_models SET name = 'x'")
    finally:
        for role in (sync_role, person):
            pg.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            pg.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
