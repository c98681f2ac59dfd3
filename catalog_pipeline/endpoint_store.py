"""Writes per-provider endpoints: one transaction, only changed rows, soft removal, dated prices, observations.

Only the models whose endpoints answer was good this run are touched: a model whose request failed keeps its
rows as they were. Endpoints of models that left the catalog are deactivated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from catalog_pipeline.endpoints import ENDPOINT_COLUMNS, OBSERVATION_COLUMNS
from catalog_pipeline.resources.postgres import SYNC_LOCK_KEY, set_local
from catalog_pipeline.store import (
    PRICE_ROW_COLUMNS,
    REPORT_LIMIT,
    columns_sql,
    copy_into_stage,
    price_period_statements,
    record_run_part,
)

ENDPOINT_PRICE_COLUMNS = ("openrouter_id", "tag", *PRICE_ROW_COLUMNS[1:])
_NOT_KEY = [c for c in ENDPOINT_COLUMNS if c not in ("openrouter_id", "tag")]
_KEY = sql.SQL("a.openrouter_id = s.openrouter_id AND a.tag = s.tag")

_CLOSE_PRICES, _OPEN_PRICES = price_period_statements(
    "ai_model_endpoint_prices",
    "ai_model_endpoint_prices_stage",
    "ai_model_endpoints_scope",
    ("openrouter_id", "tag"),
    ENDPOINT_PRICE_COLUMNS,
)

# Providers added (new or returning) and re-priced, read before the write.
_REPORT = sql.SQL(
    """SELECT s.openrouter_id, s.tag, s.provider_name, a.openrouter_id IS NULL OR NOT a.is_active AS added,
              a.is_active AND (a.input_cost_per_million, a.output_cost_per_million)
                  IS DISTINCT FROM (s.input_cost_per_million, s.output_cost_per_million) AS repriced,
              a.input_cost_per_million, s.input_cost_per_million, a.output_cost_per_million, s.output_cost_per_million
         FROM ai_model_endpoints_stage s LEFT JOIN ai_model_endpoints a ON {key}
        WHERE a.openrouter_id IS NULL OR NOT a.is_active
           OR (a.input_cost_per_million, a.output_cost_per_million)
              IS DISTINCT FROM (s.input_cost_per_million, s.output_cost_per_million)
        ORDER BY s.openrouter_id COLLATE "C", s.tag COLLATE "C\""""
).format(key=_KEY)

_UPSERT = sql.SQL(
    """WITH written AS (
           INSERT INTO ai_model_endpoints AS m ({cols}, is_active, removed_at, first_seen_at, updated_at)
           SELECT {staged}, true, NULL, %(ts)s, %(ts)s
             FROM ai_model_endpoints_stage s LEFT JOIN ai_model_endpoints a ON {key}
            WHERE a.openrouter_id IS NULL OR NOT a.is_active OR ({old}) IS DISTINCT FROM ({new})
           ON CONFLICT (openrouter_id, tag) DO UPDATE
              SET {assignments}, is_active = true, removed_at = NULL, updated_at = EXCLUDED.updated_at
           RETURNING (xmax = 0) AS inserted)
       SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"""
).format(
    cols=columns_sql(ENDPOINT_COLUMNS),
    staged=columns_sql(ENDPOINT_COLUMNS, "s."),
    key=_KEY,
    old=columns_sql(_NOT_KEY, "a."),
    new=columns_sql(_NOT_KEY, "s."),
    assignments=sql.SQL(", ").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in _NOT_KEY),
)

# Gone: an active endpoint of a model answered this run but no longer listed, or of a model that left the catalog.
_DEACTIVATE = """
    WITH gone AS (
         UPDATE ai_model_endpoints e SET is_active = false, removed_at = %(ts)s, updated_at = %(ts)s
          WHERE e.is_active
            AND ((e.openrouter_id = ANY(%(answered)s)
                  AND NOT EXISTS (SELECT 1 FROM ai_model_endpoints_stage s
                                   WHERE s.openrouter_id = e.openrouter_id AND s.tag = e.tag))
                 OR (%(catalog)s::text[] IS NOT NULL AND NOT (e.openrouter_id = ANY(%(catalog)s))))
         RETURNING e.openrouter_id, e.tag, e.provider_name),
    closed AS (
         UPDATE ai_model_endpoint_prices p SET valid_to = %(ts)s
           FROM gone WHERE p.openrouter_id = gone.openrouter_id AND p.tag = gone.tag AND p.valid_to IS NULL)
    SELECT openrouter_id, tag, provider_name FROM gone ORDER BY openrouter_id COLLATE "C", tag COLLATE "C\""""


@dataclass
class EndpointOutcome:
    synced_at: datetime
    total: int
    inserted: int
    updated: int
    deactivated: int
    observations: int
    observations_pruned: int
    price_rows_opened: int
    price_rows_closed: int
    added: list[tuple[str, str, str | None]] = field(default_factory=list)
    removed: list[tuple[str, str, str | None]] = field(default_factory=list)
    repriced: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.total - self.inserted - self.updated


def active_endpoint_counts(conn: psycopg.Connection) -> dict[str, int]:
    """Active endpoints per model."""
    rows = conn.execute("SELECT openrouter_id, count(*) FROM ai_model_endpoints WHERE is_active GROUP BY 1")
    return dict(rows.fetchall())


def uncovered_models(conn: psycopg.Connection, excused: Sequence[str]) -> list[str]:
    """Active models without an active endpoint, but for the `excused` (failed, served by another, none listed)."""
    rows = conn.execute(
        """SELECT m.openrouter_id FROM ai_models m
            WHERE m.is_active AND NOT (m.openrouter_id = ANY(%s))
              AND NOT EXISTS (SELECT 1 FROM ai_model_endpoints e
                               WHERE e.openrouter_id = m.openrouter_id AND e.is_active)
            ORDER BY 1""",
        (list(excused),),
    )
    return [r[0] for r in rows]


def write_endpoints(
    conn: psycopg.Connection,
    rows: Iterable[Mapping[str, Any]],
    observations: Iterable[Mapping[str, Any]],
    *,
    answered: Sequence[str],
    catalog: Sequence[str] | None,
    keep_observation_days: float,
    run_id: str | None = None,
    synced_at: datetime | None = None,
    settings: Mapping[str, str] | None = None,
) -> EndpointOutcome:
    """Write the endpoints of the `answered` models in one transaction; deactivate the endpoints of models no
    longer in `catalog` (None: a replay, which cannot see the catalog); append the observations and prune those
    older than `keep_observation_days`."""
    with conn.transaction():
        set_local(conn, dict(settings or {}))
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SYNC_LOCK_KEY,))
        ts = synced_at or conn.execute("SELECT now()").fetchone()[0]
        params = {
            "ts": ts,
            "run_id": run_id,
            "answered": list(answered),
            "catalog": None if catalog is None else list(catalog),
        }
        prices: list[tuple[str, str, list]] = []

        def endpoint_rows() -> Iterator[list[Any]]:
            for row in rows:
                prices.append((row["openrouter_id"], row["tag"], row["prices"]))
                yield [row[c] for c in ENDPOINT_COLUMNS]

        copy_into_stage(conn, "ai_model_endpoints_stage", "ai_model_endpoints", ENDPOINT_COLUMNS, endpoint_rows())
        conn.execute("ALTER TABLE ai_model_endpoints_stage ADD PRIMARY KEY (openrouter_id, tag)")
        price_rows = ([model_id, tag, *price] for model_id, tag, components in prices for price in components)
        copy_into_stage(
            conn, "ai_model_endpoint_prices_stage", "ai_model_endpoint_prices", ENDPOINT_PRICE_COLUMNS, price_rows
        )
        # The endpoints whose prices this run speaks for: every listed endpoint of an answered model.
        conn.execute(
            "CREATE TEMP TABLE ai_model_endpoints_scope ON COMMIT DROP AS "
            "SELECT openrouter_id, tag FROM ai_model_endpoints_stage"
        )
        report = conn.execute(_REPORT).fetchall()
        closed = conn.execute(_CLOSE_PRICES, params).rowcount
        opened = conn.execute(_OPEN_PRICES, params).rowcount
        inserted, updated = conn.execute(_UPSERT, params).fetchone()
        removed = conn.execute(_DEACTIVATE, params).fetchall()
        # Staged, then inserted: PostgreSQL refuses COPY into a table with row level security from a role other
        # than its owner (the least-privilege sync role of the README).
        observed = ("observed_at", *OBSERVATION_COLUMNS, "dagster_run_id")
        rows_observed = ([ts, *(o[c] for c in OBSERVATION_COLUMNS), run_id] for o in observations)
        copy_into_stage(
            conn, "ai_model_endpoint_observations_stage", "ai_model_endpoint_observations", observed, rows_observed
        )
        count = conn.execute(
            sql.SQL("INSERT INTO ai_model_endpoint_observations ({cols}) SELECT {cols} FROM {stage}").format(
                cols=columns_sql(observed), stage=sql.Identifier("ai_model_endpoint_observations_stage")
            )
        ).rowcount
        if run_id is not None:  # in this transaction: the run's row says the endpoints were written iff they were
            record_run_part(conn, run_id=run_id, part="endpoints", written=True, started_at=ts)
        pruned = conn.execute(
            "DELETE FROM ai_model_endpoint_observations "
            "WHERE observed_at < %s::timestamptz - make_interval(secs => %s)",
            (ts, keep_observation_days * 86400),
        ).rowcount
    return EndpointOutcome(
        synced_at=ts,
        total=len(prices),
        inserted=inserted,
        updated=updated,
        deactivated=len(removed),
        observations=count,
        observations_pruned=pruned,
        price_rows_opened=opened,
        price_rows_closed=closed,
        added=[(r[0], r[1], r[2]) for r in report if r[3]],
        removed=[tuple(r) for r in removed],
        repriced=[(r[0], r[1], *r[5:]) for r in report if r[4]],
    )


def endpoints_report_markdown(outcome: EndpointOutcome) -> str:
    """Providers added and removed, and re-priced endpoints: capped lists, exact totals."""

    def section(title: str, items: list, line) -> list[str]:
        if not items:
            return []
        lines = [f"### {title} ({len(items)})"] + [line(i) for i in items[:REPORT_LIMIT]]
        if len(items) > REPORT_LIMIT:
            lines.append(f"- …and {len(items) - REPORT_LIMIT} more")
        return lines + [""]

    lines = [
        f"**Endpoints: {len(outcome.added)} added · {len(outcome.removed)} removed · {len(outcome.repriced)} "
        f"re-priced · {outcome.unchanged} unchanged**",
        "",
    ]
    lines += section("Providers added", outcome.added, lambda a: f"- `{a[0]}` via {a[2] or a[1]} (`{a[1]}`)")
    lines += section("Providers removed", outcome.removed, lambda r: f"- `{r[0]}` via {r[2] or r[1]} (`{r[1]}`)")
    lines += section(
        "Re-priced endpoints",
        outcome.repriced,
        lambda r: f"- `{r[0]}` `{r[1]}`: input {r[2]} → {r[3]}, output {r[4]} → {r[5]} $/M",
    )
    return "\n".join(lines)
