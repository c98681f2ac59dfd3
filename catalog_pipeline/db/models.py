"""ai_models: its description for the write engine, the write (with the guards only its transaction can
hold), the reads its checks use, and the record of each sync run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import sql

from catalog_pipeline.db.sync import (
    REPORT_LIMIT,
    Dated,
    Outcome,
    Table,
    apply,
    columns_sql,
    dated_prices,
    stage,
    sync_transaction,
)
from catalog_pipeline.rules.benchmarks import BenchmarkRow
from catalog_pipeline.rules.models import MODALITIES, SYNCED_COLUMNS

MODELS = Table(
    name="ai_models",
    key=("openrouter_id",),
    columns=SYNCED_COLUMNS,
    children=(
        dated_prices("ai_model_prices"),
        Dated("ai_model_benchmarks", "benchmarks", BenchmarkRow._fields, ("source", "benchmark", "category")),
    ),
    watched=("input_cost_per_million", "output_cost_per_million", "pricing_kind", "pricing"),
    stamped=("first_seen_at", "created_at", "updated_at"),
    dated=("context_length",),
    history="ai_model_context_lengths",
    listed="ai_model_listings",
)


class CuratedFlagsChanged(RuntimeError):
    """The write would have changed the set of curated ids; the transaction was rolled back."""

    def __init__(self, before: frozenset[str], after: frozenset[str]) -> None:
        self.before, self.after = before, after
        lost, gained = sorted(before - after)[:REPORT_LIMIT], sorted(after - before)[:REPORT_LIMIT]
        super().__init__(f"curated ids changed during the sync (lost {lost}, gained {gained}); rolled back")


@dataclass
class ModelsOutcome(Outcome):
    """The engine's outcome, and what only the catalog's write can see inside its transaction."""

    curated_before: frozenset[str] = frozenset()
    curated_after: frozenset[str] = frozenset()
    active_by_modality: dict[str, int] = field(default_factory=dict)
    moves: list[dict[str, Any]] = field(default_factory=list)  # token prices moved 10× or across zero, context shrunk
    newly_expiring: list[tuple[str, date]] = field(default_factory=list)  # given an expiration date this sync
    newly_expiring_total: int = 0

    @property
    def active_total(self) -> int:
        return sum(self.active_by_modality.values())

    def run_counts(self) -> dict[str, int]:
        """The counts ai_model_sync_runs records."""
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
            "reactivated": self.reactivated,
            "curated_before": len(self.curated_before),
            "curated_after": len(self.curated_after),
        }


# Token prices that moved 10× or more either way or crossed zero, and context windows that shrank, among the
# models that stay active: the moves LiteLLM's own sync holds back for a person.
_MOVED = sql.SQL(
    "(m.{c} > 0 AND s.{c} > 0 AND (s.{c} >= 10 * m.{c} OR m.{c} >= 10 * s.{c})) OR (m.{c} = 0) <> (s.{c} = 0)"
)
_MOVES = sql.SQL(
    """SELECT s.openrouter_id, m.input_cost_per_million, s.input_cost_per_million, m.output_cost_per_million,
              s.output_cost_per_million, m.context_length, s.context_length
         FROM ai_models_stage s JOIN ai_models m ON m.openrouter_id = s.openrouter_id
        WHERE m.is_active AND ({input} OR {output} OR s.context_length < m.context_length)
        ORDER BY s.openrouter_id COLLATE "C\""""
).format(
    input=_MOVED.format(c=sql.Identifier("input_cost_per_million")),
    output=_MOVED.format(c=sql.Identifier("output_cost_per_million")),
)
_NEWLY_EXPIRING = """
    WITH new AS (
         SELECT s.openrouter_id COLLATE "C" AS openrouter_id, s.expiration_date
           FROM ai_models_stage s JOIN ai_models m ON m.openrouter_id = s.openrouter_id
          WHERE m.expiration_date IS NULL AND s.expiration_date IS NOT NULL)
    SELECT (SELECT count(*) FROM new),
           ARRAY(SELECT ARRAY[openrouter_id, expiration_date::text] FROM new ORDER BY 1 LIMIT %(limit)s)"""


def write_catalog(
    conn: psycopg.Connection,
    rows: Iterable[Mapping[str, Any]],
    *,
    run_id: str | None = None,
    synced_at: datetime | None = None,
    run_record: Mapping[str, Any] | None = None,
    settings: Mapping[str, str] | None = None,
) -> ModelsOutcome:
    """Upsert `rows` (a ModelRow and its `prices` each, unique ids) and deactivate the rest, in one transaction.

    `conn` must be in autocommit mode. Raises CuratedFlagsChanged (after rolling back) if the write would change
    the curated set, and CommitUnknown if the connection was lost during COMMIT. `run_record` (started_at,
    source_url, fetched, set_aside) adds the run's ai_model_sync_runs row in the same transaction, so whether that
    row exists tells whether the write was committed.
    """
    with sync_transaction(conn, settings, synced_at) as ts:
        # People may still read, but their writes wait for this short transaction: any change to the curated set
        # seen below is then the sync's own.
        conn.execute("LOCK TABLE ai_models IN SHARE ROW EXCLUSIVE MODE")
        outcome = ModelsOutcome(MODELS.name, ts, curated_before=curated_ids(conn))
        outcome.total = stage(conn, MODELS, rows)
        outcome.moves = [_move(m) for m in conn.execute(_MOVES).fetchall()]
        outcome.newly_expiring_total, expiring = conn.execute(_NEWLY_EXPIRING, {"limit": REPORT_LIMIT}).fetchone()
        outcome.newly_expiring = [(model_id, date.fromisoformat(day)) for model_id, day in expiring]
        apply(conn, MODELS, outcome, run_id=run_id)
        outcome.curated_after = curated_ids(conn)
        if outcome.curated_after != outcome.curated_before:
            raise CuratedFlagsChanged(outcome.curated_before, outcome.curated_after)
        outcome.active_by_modality = active_counts(conn)
        if run_record is not None:
            record_sync_run(
                conn,
                run_id=run_id,
                outcome="success",
                catalog_outcome="written",
                finished_at=ts,
                **outcome.run_counts(),
                **run_record,
            )
    return outcome


def _move(r: tuple) -> dict[str, Any]:
    keys = ("id", "old_input", "new_input", "old_output", "new_output", "old_context", "new_context")
    return dict(zip(keys, r, strict=True))


def curated_ids(conn: psycopg.Connection) -> frozenset[str]:
    return frozenset(r[0] for r in conn.execute("SELECT openrouter_id FROM ai_models WHERE is_curated"))


def active_counts(conn: psycopg.Connection) -> dict[str, int]:
    """Active rows per modality (every modality present, zeros included; unknown values kept as-is)."""
    counts = dict.fromkeys(MODALITIES, 0)
    for modality, count in conn.execute("SELECT modality, count(*) FROM ai_models WHERE is_active GROUP BY modality"):
        counts[modality] = count
    return counts


def vanishing_active_ids(conn: psycopg.Connection, ids: list[str]) -> int:
    """How many active ids are not among `ids`: what a sync of that catalog would deactivate."""
    return conn.execute(
        "SELECT count(*) FROM ai_models WHERE is_active AND NOT (openrouter_id = ANY(%s))", (ids,)
    ).fetchone()[0]


def sync_run_committed(conn: psycopg.Connection, run_id: str) -> bool:
    """Whether the catalog write of this Dagster run was committed: its row is written in the same transaction."""
    row = conn.execute(
        "SELECT 1 FROM ai_model_sync_runs WHERE dagster_run_id = %s AND catalog_outcome = 'written'", (run_id,)
    ).fetchone()
    return row is not None


def record_run_part(
    conn: psycopg.Connection,
    *,
    run_id: str,
    part: str | None,
    written: bool,
    started_at: datetime,
    stage: str | None = None,
    error: str | None = None,
    source_url: str | None = None,
) -> None:
    """Say on the run's ai_model_sync_runs row what became of one part (`catalog` or `endpoints`; None: neither,
    as for a step failing after its write committed): written, or failed in `stage` with `error`, which makes the
    whole run failed. A run without a row yet gets one."""
    values: dict[str, Any] = {}
    if part is not None:
        values[{"catalog": "catalog_outcome", "endpoints": "endpoints_outcome"}[part]] = (
            "written" if written else "failed"
        )
    if not written:
        values |= {"outcome": "failed", "stage": stage, "error": error}
    assignments = sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in values)
    updated = conn.execute(
        sql.SQL(
            "UPDATE ai_model_sync_runs SET {}, finished_at = clock_timestamp() WHERE dagster_run_id = %(run)s"
        ).format(assignments),
        {**values, "run": run_id},
    ).rowcount
    if not updated:
        record_sync_run(
            conn, run_id=run_id, started_at=started_at, source_url=source_url, **{"outcome": "success", **values}
        )


def record_sync_run(
    conn: psycopg.Connection,
    *,
    run_id: str | None,
    outcome: str,
    started_at: datetime,
    finished_at: datetime | None = None,
    source_url: str | None = None,
    error: str | None = None,
    stage: str | None = None,
    **counts: int | str | None,
) -> None:
    """One ai_model_sync_runs row. Failed syncs call this after their rollback, on a fresh transaction."""
    values: dict[str, Any] = {
        "dagster_run_id": run_id,
        "outcome": outcome,
        "started_at": started_at,
        "source_url": source_url,
        "error": error,
        "stage": stage,
        **counts,
    }
    if finished_at is not None:
        values["finished_at"] = finished_at
    conn.execute(
        sql.SQL("INSERT INTO ai_model_sync_runs ({}) VALUES ({})").format(
            columns_sql(values), sql.SQL(", ").join(sql.Placeholder(k) for k in values)
        ),
        values,
    )


def curated_expiring(conn: psycopg.Connection, within_days: int) -> list[tuple]:
    """(id, expiration date, why) of each curated, active model expired or expiring within `within_days`."""
    return conn.execute(
        """SELECT openrouter_id, expiration_date,
                  CASE WHEN expiration_date < current_date THEN 'expired' ELSE 'expires soon' END
             FROM ai_models
            WHERE is_curated AND is_active AND expiration_date <= current_date + %s
            ORDER BY expiration_date, openrouter_id""",
        (within_days,),
    ).fetchall()


def implausible_scores(conn: psycopg.Connection) -> list[tuple]:
    """(id, source, benchmark, category, score, win rate, rank, why) of each score in force of an active model that
    cannot be right: an index outside 0–100, a negative elo or rank, a win rate outside 0–100."""
    return conn.execute(
        """SELECT * FROM (
               SELECT b.openrouter_id, b.source, b.benchmark, b.category, b.score, b.win_rate, b.rank,
                      concat_ws('; ',
                          CASE WHEN b.source = 'artificial_analysis' AND NOT b.score BETWEEN 0 AND 100
                               THEN 'index outside 0–100' END,
                          CASE WHEN b.source = 'design_arena' AND b.score < 0 THEN 'negative elo' END,
                          CASE WHEN b.rank < 0 THEN 'negative rank' END,
                          CASE WHEN NOT b.win_rate BETWEEN 0 AND 100 THEN 'win rate outside 0–100' END) AS why
                 FROM ai_model_benchmarks b JOIN ai_models m ON m.openrouter_id = b.openrouter_id
                WHERE b.valid_to IS NULL AND m.is_active) scored
            WHERE why <> ''
            ORDER BY openrouter_id COLLATE "C", source, benchmark, category"""
    ).fetchall()
