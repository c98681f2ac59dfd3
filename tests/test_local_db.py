"""The embedded server's own command, run as a user runs it."""

import os
import subprocess
import sys

import psycopg
import pytest

pytestmark = pytest.mark.slow


def _local_db(command: str, state) -> subprocess.CompletedProcess:
    env = {**os.environ, "CATALOG_STATE_DIR": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "catalog_pipeline.local_db", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.embedded
def test_status_psql_uri_and_stop(tmp_path):
    state = tmp_path / "state"
    elsewhere = _local_db("status", state)  # run outside the folder synced from: says so, creates nothing
    assert elsewhere.returncode == 3 and elsewhere.stdout.startswith("no embedded server here")
    assert not state.exists()
    uri = _local_db("psql-uri", state).stdout.strip()
    try:
        with psycopg.connect(uri) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        status = _local_db("status", state)
        assert status.returncode == 0 and status.stdout.startswith("running (pid ")
        assert f"data in {state / 'pgdata'}" in status.stdout and uri in status.stdout
    finally:
        stopped = _local_db("stop", state)
    assert stopped.stdout.startswith("stopped"), stopped.stderr[-2000:]
    assert _local_db("status", state).returncode == 3
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(uri, connect_timeout=3)
