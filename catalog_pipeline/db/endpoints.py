"""ai_model_endpoints: its description for the write engine, the write with its observations, and the reads its
checks use. Only the models answered this run are touched: a model whose request failed keeps its rows as they
were; the endpoints of models that left the catalog are deactivated."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from catalog_pipeline.db.models import record_run_part
from catalog_pipeline.db.sync import (
    Dated,
    Outcome,
    Table,
    columns_sql,
    copy_into_stage,
    dated_prices,
    sync_transaction,
    write,
)
from catalog_pipeline.rules.endpoints import ENDPOINT_COLUMNS, OBSERVATION_COLUMNS

ENDPOINTS = Table(
    name="ai_model_endpoints",
    key=("openrouter_id", "tag"),
    columns=ENDPOINT_COLUMNS,
    children=(
        dated_prices("ai_model_endpoint_prices"),
        Dated("ai_model_endpoint_discounts", "discounts", ("discount",), ()),
    ),
    watched=("input_cost_per_million", "output_cost_per_million"),
    dated=("zero_data_retention",),
    history="ai_model_endpoint_zero_data_retention",
    listed="ai_model_endpoint_listings",
)
# Gone: an endpoint of a model answered this run, or of a model no longer in the catalog (NULL: a replay, which
# cannot see the catalog and deactivates nothing it does not hold).
_SCOPE = sql.SQL(
    "t.openrouter_id = ANY(%(answered)s)"
    " OR (%(catalog)s::text[] IS NOT NULL AND NOT (t.openrouter_id = ANY(%(catalog)s)))"
)
_WITHOUT_ZERO_RETENTION = replace(
    ENDPOINTS, columns=tuple(c for c in ENDPOINTS.columns if c != "zero_data_retention"), dated=()
)
_OBSERVED = ("observed_at", *OBSERVATION_COLUMNS, "dagster_run_id")


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
    zero_retention_known: bool = True,
    served_by: Mapping[str, str] | None = None,
) -> tuple[Outcome, int, int]:
    """(outcome, observations appended, observations pruned): the `answered` models' endpoints written in one
    transaction, the observations appended and those older than `keep_observation_days` pruned; each answered
    model's `ai_models.served_by` set (the model whose answer serves it, `served_by`, else NULL). Without
    `zero_retention_known` (the list could not be had) every stored flag stays as it was."""
    table = ENDPOINTS if zero_retention_known else _WITHOUT_ZERO_RETENTION
    with sync_transaction(conn, settings, synced_at) as ts:
        params = {"answered": list(answered), "catalog": None if catalog is None else list(catalog)}
        outcome = write(conn, table, rows, synced_at=ts, run_id=run_id, scope=_SCOPE, params=params)
        servers = [(served_by or {}).get(model_id) for model_id in answered]
        conn.execute(
            """UPDATE ai_models m SET served_by = s.server
                 FROM unnest(%s::text[], %s::text[]) AS s (id, server)
                WHERE m.openrouter_id = s.id AND m.served_by IS DISTINCT FROM s.server""",
            (list(answered), servers),
        )
        # Staged, then inserted: PostgreSQL refuses COPY into a table with row level security from a role other
        # than its owner (the README's least-privilege sync role).
        observed = ([ts, *(o[c] for c in OBSERVATION_COLUMNS), run_id] for o in observations)
        copy_into_stage(conn, "observations_stage", "ai_model_endpoint_observations", _OBSERVED, observed)
        appended = conn.execute(
            sql.SQL("INSERT INTO ai_model_endpoint_observations ({cols}) SELECT {cols} FROM observations_stage").format(
                cols=columns_sql(_OBSERVED)
            )
        ).rowcount
        pruned = conn.execute(
            "DELETE FROM ai_model_endpoint_observations "
            "WHERE observed_at < %s::timestamptz - make_interval(secs => %s)",
            (ts, keep_observation_days * 86400),
        ).rowcount
        if run_id is not None:  # in this transaction: the run's row says the endpoints were written iff they were
            record_run_part(conn, run_id=run_id, part="endpoints", written=True, started_at=ts)
    return outcome, appended, pruned


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
