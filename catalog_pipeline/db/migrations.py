"""Schema migrations: the numbered files of sql/, shipped inside the package, each applied once and in its own
transaction, by a role that owns the schema."""

from __future__ import annotations

import hashlib
import re
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
    for version, text, checksum in migrations:
        # A file made re-runnable without changing what it does names the checksum it was applied under.
        if recorded.get(version, checksum) not in {checksum, *EARLIER_CHECKSUM.findall(text)}:
            notify(f"migration {version}.sql changed after it was applied; not re-running it")
    pending = [m for m in migrations if m[0] not in recorded]
    if pending and not _may_migrate(conn):
        restored = not recorded and conn.execute("SELECT to_regclass('ai_models') IS NOT NULL").fetchone()[0]
        why = (
            "the migrations ledger (schema_migrations) is empty although the catalog's tables are there (restored "
            "without its rows?), and this role may not re-record it"
            if restored
            else f"the catalog schema is behind: {', '.join(m[0] for m in pending)} not applied, and this role may "
            "not apply them (it does not own the schema)"
        )
        raise SchemaBehind(f"{why}. {MIGRATE_ADVICE}")
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


# Every file re-runs harmlessly over the schema the later ones built (a ledger restored empty re-runs them all).
EARLIER_CHECKSUM = re.compile(r"^-- earlier checksum: ([0-9a-f]{64})$", re.MULTILINE)
MIGRATE_ADVICE = "Run `python -m catalog_pipeline.migrate` as the schema's owner (its DATABASE_URL) first."


class SchemaBehind(CatalogDatabaseError):
    """Migrations are pending and the connected role may not apply them."""


def recorded_migrations(conn: psycopg.Connection) -> dict[str, str]:
    """version -> checksum of every migration applied; raises SchemaBehind when the role may not read them."""
    if conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] is None:
        return {}
    try:
        with conn.transaction():
            recorded = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
            # Row level security shows the ledger only to its owner and catalog_writer (015): to anyone else it
            # looks empty, which must not read as "behind".
            hidden = not recorded and conn.execute(_LEDGER_HIDDEN).fetchone()[0]
    except psycopg.errors.InsufficientPrivilege:
        hidden = True
    if hidden:
        role = conn.execute("SELECT quote_ident(current_user)").fetchone()[0]
        raise SchemaBehind(
            f"role {role} cannot read the migrations ledger (schema_migrations), so it cannot tell whether the "
            "schema is migrated, and row level security lets it write none of the catalog's tables: only their "
            "owner and members of catalog_writer may. Run, as the schema's owner: "
            f"GRANT catalog_writer TO {role};"
        )
    return recorded


_LEDGER_HIDDEN = """SELECT row_security_active('schema_migrations')
                      AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'catalog_writer'
                                                               AND pg_has_role(oid, 'MEMBER'))"""


def _may_migrate(conn: psycopg.Connection) -> bool:
    """Whether the role may create in the schema and owns what the migrations change (schema_migrations' owner)."""
    return conn.execute(
        """SELECT has_schema_privilege(current_schema(), 'CREATE')
                  AND (to_regclass('schema_migrations') IS NULL
                       OR pg_has_role((SELECT relowner FROM pg_class WHERE oid = to_regclass('schema_migrations')),
                                      'USAGE'))"""
    ).fetchone()[0]
