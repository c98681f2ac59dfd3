"""Apply the catalog's schema migrations, and nothing else: run it as the schema's owner before a sync whose role
may not change the schema.

    python -m catalog_pipeline.migrate            # apply what is pending (DATABASE_URL, else the embedded server)
    python -m catalog_pipeline.migrate --check    # list what is pending; exit 1 when something is
"""

from __future__ import annotations

import argparse
import os
import sys

from catalog_pipeline.db import CatalogDatabaseError
from catalog_pipeline.db.migrations import migration_files, packaged_migrations, recorded_migrations
from catalog_pipeline.resources.postgres import CatalogDatabase


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalog_pipeline.migrate", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="list pending migrations; change nothing")
    parser.add_argument("--lock-timeout", type=float, default=60, help="seconds to wait for a lock (default 60)")
    args = parser.parse_args(argv)
    database = CatalogDatabase(url=os.environ.get("DATABASE_URL") or None, lock_timeout_seconds=args.lock_timeout)
    try:
        if args.check:
            with database.connect() as conn:
                recorded = recorded_migrations(conn)
            pending = [p.name for p in migration_files(packaged_migrations()) if p.name[:-4] not in recorded]
            print("pending: " + ", ".join(pending) if pending else "up to date")
            return 1 if pending else 0
        applied = database.ensure_schema()
    except CatalogDatabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"applied: {', '.join(applied)}" if applied else "up to date: nothing to apply")
    return 0


if __name__ == "__main__":
    sys.exit(main())
