"""The catalog database as a Dagster resource: DATABASE_URL when set, else the embedded PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources.abc import Traversable

import psycopg
from dagster import ConfigurableResource, get_dagster_logger
from pydantic import Field

from catalog_pipeline.db import CatalogDatabaseError
from catalog_pipeline.db.migrations import apply_migrations
from catalog_pipeline.db.sync import set_local
from catalog_pipeline.local_db import embedded_server_uri, state_dir
from catalog_pipeline.secrets import check_url, describe_url, scrub_url

log = get_dagster_logger(__name__)

APPLICATION_NAME = "catalog_pipeline"


class CatalogDatabase(ConfigurableResource):
    """Postgres holding the ai_models catalog: DATABASE_URL, or an embedded server when it is unset."""

    url: str | None = Field(default=None, description="Postgres URL (DATABASE_URL); unset = embedded server.")
    connect_timeout_seconds: int = Field(default=10, description="Give up connecting after this long.")
    lock_timeout_seconds: float = Field(
        default=600, description="Longest wait for a lock (another sync, or a person's open transaction)."
    )
    statement_timeout_seconds: float = Field(default=300, description="Longest any one statement may run.")
    idle_timeout_seconds: float = Field(
        default=60, description="The server rolls back a sync transaction whose client went silent this long."
    )

    def conninfo(self) -> str:
        if self.url:
            check_url(self.url)
            return self.url
        return embedded_server_uri(state_dir() / "pgdata", announce=log.info)

    def timeouts(self) -> dict[str, str]:
        """The settings each transaction of a sync applies with SET LOCAL (session settings would leak through a
        transaction-mode pooler)."""
        return {
            "lock_timeout": f"{int(self.lock_timeout_seconds * 1000)}ms",
            "statement_timeout": f"{int(self.statement_timeout_seconds * 1000)}ms",
            "idle_in_transaction_session_timeout": f"{int(self.idle_timeout_seconds * 1000)}ms",
        }

    @contextmanager
    def explained(self, what: str, conn: psycopg.Connection | None = None) -> Iterator[None]:
        """Turn a timeout or a lost connection inside the block into a CatalogDatabaseError that says what waited."""
        try:
            yield
        except psycopg.errors.LockNotAvailable:
            holders = _lock_holders(conn) if conn is not None and not conn.closed else ""
            raise CatalogDatabaseError(
                f"{what} gave up after waiting {self.lock_timeout_seconds:g}s for a lock on ai_models or the sync "
                f"lock, held by another session{holders}; nothing was changed"
            ) from None
        except psycopg.errors.QueryCanceled:
            raise CatalogDatabaseError(
                f"{what} was cancelled: a statement ran longer than {self.statement_timeout_seconds:g}s; "
                "nothing was changed"
            ) from None
        except psycopg.OperationalError as exc:
            raise CatalogDatabaseError(
                f"{what} lost its connection to {self.describe()}: {scrub_url(str(exc), self.url).strip()}"
            ) from None

    def describe(self) -> str:
        return describe_url(self.url) if self.url else f"embedded PostgreSQL in {state_dir() / 'pgdata'}"

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """An autocommit connection; callers open `conn.transaction()` blocks for atomic work."""
        conninfo = self.conninfo()
        try:
            conn = psycopg.connect(
                conninfo,
                autocommit=True,
                connect_timeout=self.connect_timeout_seconds,
                application_name=APPLICATION_NAME,
                # A silent network (packets dropped, no reset) is noticed in about a minute, not never.
                keepalives=1,
                keepalives_idle=30,
                keepalives_interval=10,
                keepalives_count=3,
                tcp_user_timeout=60_000,
                # No server-side prepared statements: transaction-mode poolers (PgBouncer, Supabase's
                # Supavisor) cannot route them, and a sync runs each statement once anyway.
                prepare_threshold=None,
            )
        except psycopg.Error as exc:
            # `from None`: the driver's exception would carry the conninfo into tracebacks.
            raise CatalogDatabaseError(
                f"cannot connect to the catalog database at {self.describe()}: "
                f"{scrub_url(str(exc), conninfo).strip()}. Check DATABASE_URL and that the server is up."
            ) from None
        with conn:
            yield conn

    def ensure_schema(self, folder: Traversable | None = None) -> list[str]:
        """Apply pending migrations (two cheap reads when there are none); the versions applied."""
        with self.connect() as conn:
            return self._migrate(conn, folder)

    def _migrate(self, conn: psycopg.Connection, folder: Traversable | None = None) -> list[str]:
        applied = apply_migrations(conn, folder, self.timeouts(), notify=log.warning)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        return applied

    @contextmanager
    def reading(self, what: str) -> Iterator[psycopg.Connection]:
        """A read transaction on a migrated schema, its timeouts set; a failure says `what` was being read."""
        with self.migrated() as conn, self.explained(what, conn), conn.transaction():
            set_local(conn, self.timeouts())
            yield conn

    @contextmanager
    def migrated(self) -> Iterator[psycopg.Connection]:
        """A connection (as `connect`) to a schema with every migration applied: one connection per step."""
        with self.connect() as conn:
            with self.explained("applying migrations", conn):
                self._migrate(conn)
            yield conn


def _lock_holders(conn: psycopg.Connection) -> str:
    """' (pid 123, application psql, idle in transaction)' for the sessions holding locks on ai_models now."""
    try:
        rows = conn.execute(
            """SELECT a.pid, a.application_name, a.state FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                WHERE l.granted AND l.relation = to_regclass('ai_models') AND a.pid <> pg_backend_pid()
                ORDER BY a.pid LIMIT 3"""
        ).fetchall()
    except psycopg.Error:
        return ""
    found = "; ".join(f"pid {pid}, application {app or '?'}, {state}" for pid, app, state in rows)
    return f" ({found})" if found else ""
