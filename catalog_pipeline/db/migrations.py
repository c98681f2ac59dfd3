"""Schema migrations: the numbered files of sql/, shipped inside the package, each applied once and in its own
transaction, by a role that owns the schema."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable

import psycopg

from catalog_pipeline.db import CatalogDatabaseError
from catalog_pipeline.db.sync import set_local

# Advisory lock keys (arbitrary constants): one serialises migrations, the other syncs.
MIGRATION_LOCK_KEY = 7_215_401_001


def packaged_migrations() -> Traversable:
    """The sql/ folder as shipped inside the package (catalog_pipeline.migrations)."""
    return files("catalog_pipeline.migrations")


def migration_files(folder: Traversable) -> list[Traversable]:
    found = sorted((p for p in folder.iterdir() if p.name.endswith(".sql") and p.name[:3].isdigit()), key=str)
    if not found:
        raise CatalogDatabaseError(f"no migrations found in {folder}")
    return found


def apply_migrations(
    conn: psycopg.Connection,
    folder: Traversable | None = None,
    timeouts: Mapping[str, str] | None = None,
    notify: Callable[[str], None] = print,
) -> list[str]:
    """Apply pending NNN_*.sql files in order, each once and each in its own transaction; the versions applied.

    Every sync step calls this, so the usual case (nothing pending) costs two reads. A role that may not migrate
    a schema that is behind gets SchemaBehind at once, naming what is missing.
    """
    migrations = []
    for path in migration_files(folder or packaged_migrations()):
        text = path.read_text(encoding="utf-8")
        migrations.append((path.name.removesuffix(".sql"), text, hashlib.sha256(text.encode()).hexdigest()))
    recorded = recorded_migrations(conn)
    for version, _, checksum in migrations:
        if recorded.get(version, checksum) != checksum:
            notify(f"migration {version}.sql changed after it was applied; not re-running it")
    pending = [m for m in migrations if m[0] not in recorded]
    if pending and not _may_migrate(conn):
        raise SchemaBehind(
            f"the catalog schema is behind: {', '.join(m[0] for m in pending)} not applied, and this role may not "
            f"apply them (it does not own the schema). {MIGRATE_ADVICE}"
        )
    return [version for version, text, checksum in pending if _apply(conn, version, text, checksum, timeouts or {})]


def _apply(conn: psycopg.Connection, version: str, text: str, checksum: str, timeouts: Mapping[str, str]) -> bool:
    """Apply one migration in its own transaction; False when another process applied it first."""
    with conn.transaction():
        set_local(conn, timeouts)
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    text PRIMARY KEY,
                   checksum   text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        if conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (version,)).fetchone():
            return False  # another process applied it while this one waited for the lock
        try:
            conn.execute(text)  # the whole file, no parameters: several statements in one go
        except psycopg.errors.LockNotAvailable:
            raise CatalogDatabaseError(
                f"migration {version}.sql could not take a lock within {timeouts.get('lock_timeout', 'its timeout')}: "
                "another session holds a table it changes. Nothing was changed; run it again when that session is done."
            ) from None
        except psycopg.Error as exc:
            raise CatalogDatabaseError(f"migration {version}.sql failed and was rolled back: {exc}") from exc
        conn.execute("INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)", (version, checksum))
    return True


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
