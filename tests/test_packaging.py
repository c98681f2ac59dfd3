"""The built wheel, installed into a fresh virtual environment outside the checkout, runs a real sync."""

import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import psycopg
import pytest
from conftest import reset_schema

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


def test_the_wheel_runs_a_sync_from_outside_the_checkout(tmp_path, pg_url, openrouter, handwritten_catalog):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        capture_output=True,
    )
    [wheel] = wheels.glob("catalog_pipeline-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # The dependencies come from this interpreter's site-packages, appended to the path by a .pth line; the
    # .pth files in that folder (this checkout's editable install among them) are not run, so only the wheel
    # can provide catalog_pipeline.
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "host_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, capture_output=True)

    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    where = subprocess.run(
        [python, "-c", "import catalog_pipeline, importlib.resources as r; print(catalog_pipeline.__file__); "
         "print(sorted(p.name for p in r.files('catalog_pipeline.migrations').iterdir() if p.name.endswith('.sql')))"],
        cwd=workdir, check=True, capture_output=True, text=True,
    ).stdout.splitlines()  # fmt: skip
    assert where[0].startswith(purelib), where
    assert where[1] == str(sorted(p.name for p in (REPO / "sql").glob("*.sql")))
    assert Path(purelib, "catalog_pipeline", "py.typed").exists()

    reset_schema(pg_url)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "OPENROUTER_API_KEY", "PYTHONPATH")}
    env.update(
        {
            "DATABASE_URL": pg_url,
            "OPENROUTER_BASE_URL": openrouter.serve(handwritten_catalog),
            "DAGSTER_HOME": str(tmp_path / "dagster_home"),
            "CATALOG_STATE_DIR": str(tmp_path / "state"),
        }
    )
    (tmp_path / "dagster_home").mkdir()
    command = ["-m", "dagster", "job", "execute", "-m", "catalog_pipeline.definitions", "-j", "sync_openrouter_models"]
    done = subprocess.run([python, *command], cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM ai_models").fetchone()[0] == 23
        last = sorted(p.stem for p in (REPO / "sql").glob("*.sql"))[-1]
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == last
