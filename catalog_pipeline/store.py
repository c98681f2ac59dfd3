"""The catalog's tables: the sync's one write, and the reads the checks and the UI use.

A sync is one transaction under an advisory lock: COPY every row into a stage, report what will change, record
price history, upsert only the rows that differ from the stored ones, and deactivate the ids the catalog no
longer lists. `is_curated` is never written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from catalog_pipeline.classification import MODALITIES, SYNCED_COLUMNS
from catalog_pipeline.prices import PriceRow
from catalog_pipeline.resources.postgres import SYNC_LOCK_KEY, CatalogDatabaseError, set_local

REPORT_LIMIT = 25  # ids listed per section of the change report; totals are always exact
PRICE_COLUMNS = ("input_cost_per_million", "output_cost_per_million", "pricing_kind", "pricing")
# The columns of ai_model_prices a sync writes: the model's id, then those of a price row.
PRICE_ROW_COLUMNS = ("openrouter_id", *PriceRow._fields)


class CuratedFlagsChanged(RuntimeError):
    """The write would have changed the set of curated ids; the transaction was rolled back."""

    def __init__(self, before: frozenset[str], after: frozenset[str]) -> None:
        self.before, self.after = before, after
        lost, gained = sorted(before - after)[:REPORT_LIMIT], sorted(after - before)[:REPORT_LIMIT]
        super().__init__(f"curated ids changed during the sync (lost {lost}, gained {gained}); rolled back")


class CommitUnknown(CatalogDatabaseError):
    """The connection was lost while COMMIT was on its way: the write may or may not have been committed."""


class DuplicateIds(ValueError):
    """The rows handed to write_catalog repeat an id; nothing was written."""


@dataclass
class SyncOutcome:
    synced_at: datetime
    total: int  # rows in this catalog
    inserted: int
    updated: int
    deactivated: int
    reactivated: int
    curated_before: frozenset[str]
    curated_after: frozenset[str]
    active_by_modality: dict[str, int]
    price_periods_opened: int
    price_rows_opened: int = 0
    price_rows_closed: int = 0
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    repriced: list[dict[str, Any]] = field(default_factory=list)
    repriced_total: int = 0
    moves: list[dict[str, Any]] = field(default_factory=list)  # token prices moved 10× or across zero, context shrunk
    newly_expiring: list[tuple[str, Any]] = field(default_factory=list)  # (id, expiration date) new this sync
    newly_expiring_total: int = 0

    @property
    def unchanged(self) -> int:
        return self.total - self.inserted - self.updated

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


def columns_sql(columns: Iterable[str], prefix: str = "") -> sql.Composable:
    """`a, b, c`, or `p.a, p.b, p.c` with a prefix: identifiers, quoted."""
    return sql.SQL(", ").join(sql.SQL(prefix) + sql.Identifier(c) for c in columns)


_SYNCED_NOT_ID = [c for c in SYNCED_COLUMNS if c != "openrouter_id"]
# What the write will change, read before it happens: new ids, returning ones, and re-priced active ones.
_REPORT_CHANGES = sql.SQL(
    """WITH j AS MATERIALIZED (
           SELECT s.openrouter_id COLLATE "C" AS openrouter_id, m.openrouter_id IS NULL AS added,
                  NOT m.is_active AS returned, m.is_active AND ({old}) IS DISTINCT FROM ({new}) AS repriced,
                  m.input_cost_per_million AS old_input, m.output_cost_per_million AS old_output,
                  m.pricing_kind AS old_kind, s.input_cost_per_million AS new_input,
                  s.output_cost_per_million AS new_output, s.pricing_kind AS new_kind
             FROM ai_models_stage s LEFT JOIN ai_models m ON m.openrouter_id = s.openrouter_id)
       SELECT (SELECT count(*) FROM j WHERE returned),
              (SELECT count(*) FROM j WHERE repriced),
              ARRAY(SELECT openrouter_id FROM j WHERE added ORDER BY 1 LIMIT %(limit)s),
              ARRAY(SELECT openrouter_id FROM j WHERE returned ORDER BY 1 LIMIT %(limit)s),
              ARRAY(SELECT ARRAY[openrouter_id, old_input::text, old_output::text, old_kind,
                                 new_input::text, new_output::text, new_kind]
                      FROM j WHERE repriced ORDER BY openrouter_id LIMIT %(limit)s)"""
).format(old=columns_sql(PRICE_COLUMNS, "m."), new=columns_sql(PRICE_COLUMNS, "s."))

# Close the open price periods whose prices changed, then open one for every staged row without an open period
# (new, returning or just closed), carrying its previous period's prices.
_CLOSE_PERIODS = sql.SQL(
    """UPDATE ai_model_price_history h SET valid_to = %(ts)s
         FROM ai_models_stage s
        WHERE h.openrouter_id = s.openrouter_id AND h.valid_to IS NULL AND ({old}) IS DISTINCT FROM ({new})"""
).format(old=columns_sql(PRICE_COLUMNS, "h."), new=columns_sql(PRICE_COLUMNS, "s."))
_OPEN_PERIODS = sql.SQL(
    """INSERT INTO ai_model_price_history
           ({prices}, previous_input_cost_per_million, previous_output_cost_per_million, previous_pricing_kind,
            openrouter_id, valid_from, dagster_run_id)
       SELECT {staged}, prev.input_cost_per_million, prev.output_cost_per_million, prev.pricing_kind,
              s.openrouter_id, %(ts)s, %(run_id)s
         FROM ai_models_stage s
         LEFT JOIN LATERAL (
              SELECT h.input_cost_per_million, h.output_cost_per_million, h.pricing_kind
                FROM ai_model_price_history h
               WHERE h.openrouter_id = s.openrouter_id
               ORDER BY h.valid_from DESC LIMIT 1) prev ON true
        WHERE NOT EXISTS (
              SELECT 1 FROM ai_model_price_history o WHERE o.openrouter_id = s.openrouter_id AND o.valid_to IS NULL)"""
).format(prices=columns_sql(PRICE_COLUMNS), staged=columns_sql(PRICE_COLUMNS, "s."))

# (inserted, updated). The join leaves out rows equal to the stored ones, so an unchanged row is neither
# updated nor locked, and a no-op re-sync writes nothing.
_UPSERT = sql.SQL(
    """WITH written AS (
           INSERT INTO ai_models AS m ({cols}, is_active, removed_at, first_seen_at, created_at, updated_at)
           SELECT {staged}, true, NULL, %(ts)s, %(ts)s, %(ts)s
             FROM ai_models_stage s LEFT JOIN ai_models a ON a.openrouter_id = s.openrouter_id
            WHERE a.openrouter_id IS NULL OR NOT a.is_active OR ({old}) IS DISTINCT FROM ({new})
           ON CONFLICT (openrouter_id) DO UPDATE
              SET {assignments}, is_active = true, removed_at = NULL, updated_at = EXCLUDED.updated_at
           RETURNING (xmax = 0) AS inserted)
       SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"""
).format(
    cols=columns_sql(SYNCED_COLUMNS),
    staged=columns_sql(SYNCED_COLUMNS, "s."),
    old=columns_sql(_SYNCED_NOT_ID, "a."),
    new=columns_sql(_SYNCED_NOT_ID, "s."),
    assignments=sql.SQL(", ").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in _SYNCED_NOT_ID),
)


def price_period_statements(
    table: str, stage: str, scope: str, scope_key: tuple[str, ...], columns: tuple[str, ...]
) -> tuple[sql.Composable, sql.Composable]:
    """(close, open) for dated price rows: a period of an entity in `scope` whose component, condition or value is no
    longer staged closes; a staged row without an open period opens. Models and endpoints share them."""
    key = (*scope_key, "component", "condition")
    close = sql.SQL(
        """UPDATE {table} p SET valid_to = %(ts)s
            WHERE p.valid_to IS NULL
              AND EXISTS (SELECT 1 FROM {scope} s WHERE ({scope_key}) = ({stored_scope_key}))
              AND NOT EXISTS (SELECT 1 FROM {stage} n WHERE ({key}) = ({stored_key})
                                 AND ({new}) IS NOT DISTINCT FROM ({old}))"""
    ).format(
        table=sql.Identifier(table),
        scope=sql.Identifier(scope),
        stage=sql.Identifier(stage),
        scope_key=columns_sql(scope_key, "s."),
        stored_scope_key=columns_sql(scope_key, "p."),
        key=columns_sql(key, "n."),
        stored_key=columns_sql(key, "p."),
        new=columns_sql(columns, "n."),
        old=columns_sql(columns, "p."),
    )
    open_ = sql.SQL(
        """INSERT INTO {table} ({cols}, valid_from, dagster_run_id)
           SELECT {staged}, %(ts)s, %(run_id)s FROM {stage} n
            WHERE NOT EXISTS (SELECT 1 FROM {table} p WHERE p.valid_to IS NULL AND ({key}) = ({stored_key}))"""
    ).format(
        table=sql.Identifier(table),
        stage=sql.Identifier(stage),
        cols=columns_sql(columns),
        staged=columns_sql(columns, "n."),
        key=columns_sql(key, "n."),
        stored_key=columns_sql(key, "p."),
    )
    return close, open_


_CLOSE_PRICES, _OPEN_PRICES = price_period_statements(
    "ai_model_prices", "ai_model_prices_stage", "ai_models_stage", ("openrouter_id",), PRICE_ROW_COLUMNS
)

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

# Active rows the catalog no longer lists become inactive, and their open price periods close.
_DEACTIVATE = """
    WITH gone AS (
         UPDATE ai_models m SET is_active = false, removed_at = %(ts)s, updated_at = %(ts)s
          WHERE m.is_active
            AND NOT EXISTS (SELECT 1 FROM ai_models_stage s WHERE s.openrouter_id = m.openrouter_id)
         RETURNING m.openrouter_id COLLATE "C" AS openrouter_id),
    closed AS (
         UPDATE ai_model_price_history h SET valid_to = %(ts)s
           FROM gone WHERE h.openrouter_id = gone.openrouter_id AND h.valid_to IS NULL),
    closed_components AS (
         UPDATE ai_model_prices p SET valid_to = %(ts)s
           FROM gone WHERE p.openrouter_id = gone.openrouter_id AND p.valid_to IS NULL)
    SELECT (SELECT count(*) FROM gone), ARRAY(SELECT openrouter_id FROM gone ORDER BY 1 LIMIT %(limit)s)"""


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


def column_descriptions(conn: psycopg.Connection, table: str = "ai_models") -> list[tuple[str, str, str]]:
    """(name, type, comment) of each column of a table, in order: the SQL COMMENTs are the descriptions."""
    return conn.execute(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod), coalesce(col_description(a.attrelid, a.attnum), '')
             FROM pg_attribute a
            WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum""",
        (table,),
    ).fetchall()


def copy_into_stage(
    conn: psycopg.Connection, stage: str, table: str, columns: tuple[str, ...], rows: Iterable[Any]
) -> None:
    """A temporary copy of `table`'s `columns`, filled with psycopg's binary COPY (types read from the stage)."""
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            sql.Identifier(stage), columns_sql(columns), sql.Identifier(table)
        )
    )
    types = [
        r[0]
        for r in conn.execute(
            "SELECT atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum", (stage,)
        )
    ]
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(sql.Identifier(stage), columns_sql(columns))
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _stage(conn: psycopg.Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    """Stage the catalog's rows and their price components; the stage's key refuses a repeated id."""
    prices: list[tuple[str, list[PriceRow]]] = []

    def model_rows() -> Iterator[list[Any]]:
        for row in rows:
            prices.append((row["openrouter_id"], row["prices"]))
            yield [row[c] for c in SYNCED_COLUMNS]

    copy_into_stage(conn, "ai_models_stage", "ai_models", SYNCED_COLUMNS, model_rows())
    try:
        with conn.transaction():
            conn.execute("ALTER TABLE ai_models_stage ADD PRIMARY KEY (openrouter_id)")
    except psycopg.errors.UniqueViolation:
        raise DuplicateIds("the catalog lists an id twice; nothing was written") from None
    price_rows = ([model_id, *price] for model_id, components in prices for price in components)
    copy_into_stage(conn, "ai_model_prices_stage", "ai_model_prices", PRICE_ROW_COLUMNS, price_rows)
    return len(prices)


def write_catalog(
    conn: psycopg.Connection,
    rows: Iterable[Mapping[str, Any]],
    *,
    run_id: str | None = None,
    synced_at: datetime | None = None,
    run_record: Mapping[str, Any] | None = None,
    settings: Mapping[str, str] | None = None,
) -> SyncOutcome:
    """Upsert `rows` (dicts keyed by FRAME_COLUMNS, unique ids) and deactivate the rest, atomically.

    `conn` must be in autocommit mode; this opens and owns the transaction, applying `settings` (lock and
    statement timeouts) to it. Raises CuratedFlagsChanged (after rolling back) if the write would change the
    curated set, and CommitUnknown if the connection was lost during COMMIT. `run_record` (started_at,
    source_url, fetched, set_aside) adds an ai_model_sync_runs row in the same transaction, so whether that row
    exists tells whether the write was committed.
    """
    committing = False
    try:
        with conn.transaction():
            outcome = _write(conn, rows, run_id=run_id, synced_at=synced_at, run_record=run_record, settings=settings)
            committing = True
    except psycopg.OperationalError as exc:
        if committing:
            raise CommitUnknown(f"the connection was lost while committing: {type(exc).__name__}") from None
        raise
    return outcome


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


def _write(
    conn: psycopg.Connection,
    rows: Iterable[Mapping[str, Any]],
    *,
    run_id: str | None,
    synced_at: datetime | None,
    run_record: Mapping[str, Any] | None,
    settings: Mapping[str, str] | None,
) -> SyncOutcome:
    """The statements of write_catalog, inside its transaction."""
    set_local(conn, dict(settings or {}))
    conn.execute("SET LOCAL jit = off")  # compiling these one-off statements costs more than it saves
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (SYNC_LOCK_KEY,))
    # People may still read, but their writes wait for this short transaction: any change to the curated
    # set seen below is then the sync's own.
    conn.execute("LOCK TABLE ai_models IN SHARE ROW EXCLUSIVE MODE")
    ts = synced_at or conn.execute("SELECT now()").fetchone()[0]
    params = {"ts": ts, "run_id": run_id, "limit": REPORT_LIMIT}
    curated_before = curated_ids(conn)
    total = _stage(conn, rows)
    reactivated, repriced_total, added, returned, repriced = conn.execute(_REPORT_CHANGES, params).fetchone()
    moves = conn.execute(_MOVES).fetchall()
    expiring_total, newly_expiring = conn.execute(_NEWLY_EXPIRING, params).fetchone()
    conn.execute(_CLOSE_PERIODS, params)
    periods_opened = conn.execute(_OPEN_PERIODS, params).rowcount
    prices_closed = conn.execute(_CLOSE_PRICES, params).rowcount
    prices_opened = conn.execute(_OPEN_PRICES, params).rowcount
    inserted, updated = conn.execute(_UPSERT, params).fetchone()
    deactivated, removed = conn.execute(_DEACTIVATE, params).fetchone()
    curated_after = curated_ids(conn)
    if curated_after != curated_before:
        raise CuratedFlagsChanged(curated_before, curated_after)
    outcome = SyncOutcome(
        synced_at=ts,
        total=total,
        inserted=inserted,
        updated=updated,
        deactivated=deactivated,
        reactivated=reactivated,
        curated_before=curated_before,
        curated_after=curated_after,
        active_by_modality=active_counts(conn),
        price_periods_opened=periods_opened,
        price_rows_opened=prices_opened,
        price_rows_closed=prices_closed,
        added=added,
        removed=removed,
        returned=returned,
        repriced=[_repriced(r) for r in repriced],
        repriced_total=repriced_total,
        moves=[_move(m) for m in moves],
        newly_expiring=[(model_id, date.fromisoformat(day)) for model_id, day in newly_expiring],
        newly_expiring_total=expiring_total,
    )
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


def _repriced(r: list[str | None]) -> dict[str, Any]:
    def number(text: str | None) -> Decimal | None:
        return None if text is None else Decimal(text)

    return {
        "id": r[0],
        "old_input": number(r[1]),
        "old_output": number(r[2]),
        "old_kind": r[3],
        "new_input": number(r[4]),
        "new_output": number(r[5]),
        "new_kind": r[6],
    }


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
