"""ai_providers: its description for the write engine, its write, and the read its check uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import psycopg

from catalog_pipeline.db.sync import Outcome, Table, sync_transaction, write
from catalog_pipeline.rules.providers import PROVIDER_COLUMNS

PROVIDERS = Table(
    name="ai_providers",
    key=("slug",),
    columns=PROVIDER_COLUMNS,
    watched=("headquarters", "datacenters"),  # a provider that moved or lost its datacenters is reported
    listed="ai_provider_listings",
)


def write_providers(
    conn: psycopg.Connection,
    rows: Iterable[Mapping[str, Any]],
    *,
    run_id: str | None = None,
    synced_at: datetime | None = None,
    settings: Mapping[str, str] | None = None,
) -> Outcome:
    """Upsert the providers /providers lists and deactivate the rest, in one transaction."""
    with sync_transaction(conn, settings, synced_at) as ts:
        return write(conn, PROVIDERS, rows, synced_at=ts, run_id=run_id)


def unknown_endpoint_providers(conn: psycopg.Connection) -> list[tuple[str, int]]:
    """(provider slug, active endpoints) of each slug active endpoints name that no active provider has."""
    return conn.execute(
        """SELECT e.provider_slug, count(*) FROM ai_model_endpoints e
            WHERE e.is_active AND e.provider_slug IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM ai_providers p WHERE p.slug = e.provider_slug AND p.is_active)
            GROUP BY 1 ORDER BY 1"""
    ).fetchall()
