"""A real PgBouncer in transaction mode in front of the test Postgres, as Supabase's pooler sits in production.

Two pools lead to the same database: `single` has one server connection, so any session state a sync left
behind (a temporary table, a setting, a prepared statement, a lock) would meet the next client that uses it;
`shared` has four, for syncs that run at the same time.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

POOLS = {"single": 1, "shared": 4}


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgBouncer:
    """Start with `with PgBouncer(binary, upstream_url) as pooler:`; `pooler.url("single")` is a client URL."""

    def __init__(self, binary: str, upstream_url: str) -> None:
        self.binary = binary
        self.upstream = conninfo_to_dict(upstream_url)
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        self.process: subprocess.Popen | None = None

    def url(self, pool: str) -> str:
        return f"postgresql://{self.upstream.get('user') or 'postgres'}@127.0.0.1:{self.port}/{pool}"

    def _write_config(self) -> Path:
        up = self.upstream
        user = up.get("user") or "postgres"
        target = " ".join(
            f"{key}={value}"
            for key, value in (
                ("host", up.get("host") or "127.0.0.1"),
                ("port", up.get("port") or "5432"),
                ("dbname", up.get("dbname") or user),
                ("user", user),
                ("password", up.get("password")),
            )
            if value
        )
        databases = "\n".join(f"{name} = {target} pool_size={size}" for name, size in POOLS.items())
        config = self.folder / "pgbouncer.ini"
        config.write_text(
            f"[databases]\n{databases}\n\n[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.folder / 'users.txt'}\n"
            "pool_mode = transaction\nmax_client_conn = 100\n"
        )
        (self.folder / "users.txt").write_text(f'"{user}" ""\n')
        # PgBouncer refuses to run as root; as root it is started as the postgres user, who must read these.
        self.folder.chmod(0o755)
        for path in self.folder.iterdir():
            path.chmod(0o644)
        return config

    def __enter__(self) -> PgBouncer:
        command = [self.binary, str(self._write_config())]
        if os.geteuid() == 0:
            command[1:1] = ["-u", "postgres"]
        log = open(self.folder / "pgbouncer.log", "wb")  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._log = log
        deadline = time.monotonic() + 15
        while True:
            try:
                with psycopg.connect(self.url("shared"), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return self
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.log_text()
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"PgBouncer did not start: {log[-2000:]}") from None
                time.sleep(0.1)

    def log_text(self) -> str:
        return (self.folder / "pgbouncer.log").read_text(errors="replace")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
