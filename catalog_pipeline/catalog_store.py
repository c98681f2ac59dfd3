"""Writes a classified catalog into ai_models: one transaction, set-based SQL, is_curated never touched.

Rows whose digest matches the one stored at their last write are skipped; the rest are streamed with COPY
into a temporary stage table, a batch at a time. Per batch, one INSERT ... ON CONFLICT upserts the staged rows
and price history follows; a background thread runs a batch's statements while the next batch is encoded.
Then one UPDATE deactivates the active rows the fetch no longer lists. A Postgres advisory lock serialises
concurrent syncs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from catalog_pipeline.background_batches import BackgroundBatches
from catalog_pipeline.catalog_db import SYNC_LOCK_KEY
from catalog_pipeline.classification import MODALITIES, SYNCED_COLUMNS
from catalog_pipeline.copy_format import copy_fields, escape_text, row_digest

REPORT_LIMIT = 25  # ids listed per section of the change report; totals are always exact
LOCK_TIMEOUT = "15min"  # how long a sync waits for another to finish
_BULK_ROWS = 1000  # a write at least this large is a bulk load, worth fresh planner statistics
# Catalog rows encoded per batch: a quarter of the catalog when its size is known, within these bounds. Smaller
# batches overlap more of Postgres' work with the encoding; each costs a COPY and a pipeline of statements.
BATCH_ROWS = 10_000
MIN_BATCH_ROWS = 1_000


class CuratedFlagsChanged(RuntimeError):
    """The set of curated ids differed after the write; the transaction was rolled back."""


@dataclass
class SyncOutcome:
    synced_at: datetime
    staged: int  # rows sent to the database (new, changed or returning)
    total: int  # rows in this catalog
    inserted: int
    updated: int
    unchanged: int
    deactivated: int
    reactivated: int
    curated_before: frozenset[str]
    curated_after: frozenset[str]
    active_by_modality: dict[str, int]
    price_periods_opened: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    repriced: list[dict[str, Any]] = field(default_factory=list)
    repriced_total: int = 0

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


def _cols(columns: Iterable[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


def curated_ids(conn: psycopg.Connection) -> frozenset[str]:
    return frozenset(r[0] for r in conn.execute("SELECT openrouter_id FROM ai_models WHERE is_curated"))


def active_counts(conn: psycopg.Connection) -> dict[str, int]:
    """Active rows per modality (every modality present, zeros included; unknown values kept as-is)."""
    counts = {m: 0 for m in MODALITIES}
    for modality, count in conn.execute("SELECT modality, count(*) FROM ai_models WHERE is_active GROUP BY modality"):
        counts[modality] = count
    return counts


class DuplicateIds(ValueError):
    """The rows handed to write_catalog repeat an id; nothing was written."""


def _create_stage(conn: psycopg.Connection) -> None:
    """The temporary table each batch's rows are COPY'd into.

    It has neither index nor statistics: every statement reads the whole stage and probes the catalog's indexes
    from it (LATERAL ... LIMIT), a plan that does not depend on the stage's size.
    """
    _roomy_temp_buffers(conn)  # before the session's first temporary table, or Postgres refuses it
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE ai_models_stage ON COMMIT DROP AS SELECT {cols}, sync_hash FROM ai_models WITH NO DATA"
        ).format(cols=_cols(SYNCED_COLUMNS))
    )


def _encode_batches(
    rows: Iterable[Mapping[str, Any]], known: Mapping[str, str], seen: set[str], batch_rows: int
) -> Iterator[list[str]]:
    """COPY lines of the rows that may need writing, in batches of at most `batch_rows` catalog rows.

    `known` maps every active row's id (as COPY text) to its stored digest; a row with the same digest is
    unchanged and is left out. Every id is added to `seen` (as COPY text), and a repeated one raises
    DuplicateIds. Batches with nothing to write are not yielded.
    """
    lines: list[str] = []
    count = 0
    for row in rows:
        fields = copy_fields(row)
        model_id = fields[: fields.index("\t")]  # the id as COPY text, as `known` holds it
        if model_id in seen:
            raise DuplicateIds(f"the catalog lists {row['openrouter_id'][:120]!r} twice; nothing was written")
        seen.add(model_id)
        digest = row_digest(fields)
        if known.get(model_id) != digest:
            lines.append(f"{fields}\t{digest}\n")
        count += 1
        if count == batch_rows:
            if lines:
                yield lines
            lines, count = [], 0
    if lines:
        yield lines


_COPY_STAGE = sql.SQL("COPY ai_models_stage ({cols}, sync_hash) FROM STDIN").format(cols=_cols(SYNCED_COLUMNS))


def _copy_lines(conn: psycopg.Connection, statement: sql.Composable, lines: list[str], line_end: str = "\n") -> None:
    """COPY lines in chunks of 2,000; `line_end` replaces each line's newline (extra trailing fields)."""
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for start in range(0, len(lines), 2000):
            chunk = "".join(lines[start : start + 2000])
            # Newlines inside values are escaped, so each one left ends a line.
            copy.write(chunk if line_end == "\n" else chunk.replace("\n", line_end))


def _known_digests(conn: psycopg.Connection) -> dict[str, str]:
    """Stored digests of the active rows by id as COPY text (inactive rows are always staged, to return).

    Read with COPY: a hundred thousand (id, digest) pairs arrive in a fraction of the time rows would.
    """
    with conn.cursor() as cur:
        with cur.copy("COPY (SELECT openrouter_id, sync_hash FROM ai_models WHERE is_active) TO STDOUT") as copy:
            text = b"".join(bytes(block) for block in copy).decode("utf-8")
    # Tabs and newlines inside an id arrive escaped, so the text splits cleanly into id, digest, id, digest...
    # A missing digest arrives as \N, which no computed digest equals.
    fields = text.replace("\n", "\t").split("\t")[:-1]
    return dict(zip(fields[0::2], fields[1::2], strict=True))


# m: the stored price (ai_models or ai_model_price_history), s: the staged one.
_CHANGED_PRICE = sql.SQL(
    "(m.input_cost_per_million, m.output_cost_per_million, m.pricing_kind, m.pricing) IS DISTINCT FROM "
    "(s.input_cost_per_million, s.output_cost_per_million, s.pricing_kind, s.pricing)"
)

# What a batch will change, read before it happens (for the change report and counts). Each staged row is looked
# up by id, and is new, returning (inactive until now), re-priced, or several. The lookup is a LATERAL probe: its
# LIMIT keeps the planner from flattening it into a join that scans the whole of ai_models once per batch. Only
# the first REPORT_LIMIT ids of each kind are sorted out (top-N), in byte order ("C"), so that batches merge in
# Python's order and the report reads the same whatever the database's collation.
_REPORT_CHANGES = sql.SQL(
    """WITH j AS MATERIALIZED (
           SELECT s.openrouter_id COLLATE "C" AS openrouter_id, m.openrouter_id IS NULL AS added,
                  NOT m.is_active AS returned, m.openrouter_id IS NOT NULL AND {changed} AS repriced,
                  m.input_cost_per_million AS old_input, m.output_cost_per_million AS old_output,
                  m.pricing_kind AS old_kind, s.input_cost_per_million AS new_input,
                  s.output_cost_per_million AS new_output, s.pricing_kind AS new_kind
             FROM ai_models_stage s
             LEFT JOIN LATERAL (
                  SELECT a.openrouter_id, a.is_active, a.input_cost_per_million, a.output_cost_per_million,
                         a.pricing_kind, a.pricing
                    FROM ai_models a WHERE a.openrouter_id = s.openrouter_id LIMIT 1) m ON true)
       SELECT (SELECT count(*) FROM j WHERE returned),
              (SELECT count(*) FROM j WHERE repriced),
              ARRAY(SELECT openrouter_id FROM j WHERE added ORDER BY openrouter_id LIMIT %(limit)s),
              ARRAY(SELECT openrouter_id FROM j WHERE returned ORDER BY openrouter_id LIMIT %(limit)s),
              ARRAY(SELECT ARRAY[openrouter_id, old_input::text, old_output::text, old_kind,
                                 new_input::text, new_output::text, new_kind]
                      FROM j WHERE repriced ORDER BY openrouter_id LIMIT %(limit)s)"""
).format(changed=_CHANGED_PRICE)

# Close the price periods whose price changed. The open periods are found by a per-row probe from the stage, and
# updated by their key: joined directly, the planner reads every open period of the history once per batch.
_CLOSE_PERIODS = sql.SQL(
    """UPDATE ai_model_price_history
          SET valid_to = %(ts)s
        WHERE id = ANY (ARRAY(
              SELECT m.id
                FROM ai_models_stage s
               CROSS JOIN LATERAL (
                     SELECT h.id, h.input_cost_per_million, h.output_cost_per_million, h.pricing_kind, h.pricing
                       FROM ai_model_price_history h
                      WHERE h.openrouter_id = s.openrouter_id AND h.valid_to IS NULL LIMIT 1) m
               WHERE {changed}))"""
).format(changed=_CHANGED_PRICE)

# Every staged row without an open period opens one, carrying its previous period's prices (if any). Both
# lookups are per-row index probes (LATERAL ... LIMIT), for the same reason as the report's.
_OPEN_PERIODS = sql.SQL(
    """INSERT INTO ai_model_price_history
           (openrouter_id, input_cost_per_million, output_cost_per_million, pricing_kind, pricing,
            previous_input_cost_per_million, previous_output_cost_per_million, previous_pricing_kind,
            valid_from, dagster_run_id)
       SELECT s.openrouter_id, s.input_cost_per_million, s.output_cost_per_million, s.pricing_kind,
              s.pricing, {previous}, %(ts)s, %(run_id)s
         FROM ai_models_stage s
       {lookups}"""
)
_OPEN_PERIODS_WITH_HISTORY = _OPEN_PERIODS.format(
    previous=sql.SQL("prev.input_cost_per_million, prev.output_cost_per_million, prev.pricing_kind"),
    lookups=sql.SQL(
        """LEFT JOIN LATERAL (
                SELECT true AS found FROM ai_model_price_history o
                 WHERE o.openrouter_id = s.openrouter_id AND o.valid_to IS NULL LIMIT 1) open ON true
          LEFT JOIN LATERAL (
                SELECT h.input_cost_per_million, h.output_cost_per_million, h.pricing_kind
                  FROM ai_model_price_history h
                 WHERE h.openrouter_id = s.openrouter_id
                 ORDER BY h.valid_from DESC LIMIT 1) prev ON true
         WHERE open.found IS NULL"""
    ),
)
# While the history is empty (the first sync; the advisory lock keeps other syncs out) there is nothing to close
# or look up, and ids are unique across batches, so later batches find nothing either.
_OPEN_FIRST_PERIODS = _OPEN_PERIODS.format(previous=sql.SQL("NULL, NULL, NULL"), lookups=sql.SQL(""))

# (inserted, updated). The digest prefilter has already left the unchanged rows out of the stage, so every
# staged row goes straight to ON CONFLICT; its WHERE skips the few staged only for a stale digest.
_SYNCED_NOT_ID = [c for c in SYNCED_COLUMNS if c != "openrouter_id"]
_UPSERT = sql.SQL(
    """WITH written AS (
           INSERT INTO ai_models AS m
                  ({cols}, sync_hash, is_active, removed_at, first_seen_at, created_at, updated_at)
           SELECT {staged}, s.sync_hash, true, NULL, %(ts)s, %(ts)s, %(ts)s
             FROM ai_models_stage s
           ON CONFLICT (openrouter_id) DO UPDATE
              SET {assignments}, sync_hash = EXCLUDED.sync_hash, is_active = true, removed_at = NULL,
                  updated_at = EXCLUDED.updated_at
            WHERE NOT m.is_active OR ({old}) IS DISTINCT FROM ({new})
           RETURNING (xmax = 0) AS inserted)
       SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"""
).format(
    cols=_cols(SYNCED_COLUMNS),
    staged=sql.SQL(", ").join(sql.SQL("s.{c}").format(c=sql.Identifier(c)) for c in SYNCED_COLUMNS),
    assignments=sql.SQL(", ").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in _SYNCED_NOT_ID),
    old=sql.SQL(", ").join(sql.SQL("m.{c}").format(c=sql.Identifier(c)) for c in _SYNCED_NOT_ID),
    new=sql.SQL(", ").join(sql.SQL("EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in _SYNCED_NOT_ID),
)

# Rows staged only because their digest was missing or stale (e.g. right after migration 006) are equal in value
# and were not updated by the upsert; recording their digest lets the next sync skip them.
_BACKFILL_DIGESTS = sql.SQL(
    """UPDATE ai_models m SET sync_hash = s.sync_hash
         FROM ai_models_stage s
        WHERE m.openrouter_id = s.openrouter_id AND m.sync_hash IS DISTINCT FROM s.sync_hash"""
)


@dataclass
class _BatchOutcome:
    staged: int = 0
    inserted: int = 0
    updated: int = 0
    periods_opened: int = 0
    reactivated: int = 0
    repriced_total: int = 0
    added: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    repriced: list[dict[str, Any]] = field(default_factory=list)


def _write_batch(
    conn: psycopg.Connection, lines: list[str], params: Mapping[str, Any], *, first_periods: bool, fresh_stage: bool
) -> _BatchOutcome:
    """COPY one batch into the stage, then report, record prices and upsert it. Rows not staged are untouched."""
    if not fresh_stage:
        conn.execute("TRUNCATE ai_models_stage")
    _copy_lines(conn, _COPY_STAGE, lines)
    # A pipeline sends the batch's statements together and waits once, not once per statement; the wait is
    # when this thread gives the GIL back to the encoder, and each return trip costs up to a switch interval.
    with conn.pipeline():
        report = conn.execute(_REPORT_CHANGES, {"limit": REPORT_LIMIT})
        if first_periods:
            opened = conn.execute(_OPEN_FIRST_PERIODS, params)
        else:
            conn.execute(_CLOSE_PERIODS, params)
            opened = conn.execute(_OPEN_PERIODS_WITH_HISTORY, params)
        written = conn.execute(_UPSERT, params)
    inserted, updated = written.fetchone()
    if inserted + updated != len(lines):
        conn.execute(_BACKFILL_DIGESTS)
    reactivated, repriced_total, added, returned, repriced_rows = report.fetchone()
    return _BatchOutcome(
        staged=len(lines),
        inserted=inserted,
        updated=updated,
        periods_opened=opened.rowcount,
        reactivated=reactivated,
        repriced_total=repriced_total,
        added=added,
        returned=returned,
        repriced=[
            {
                "id": r[0],
                "old_input": _decimal(r[1]),
                "old_output": _decimal(r[2]),
                "old_kind": r[3],
                "new_input": _decimal(r[4]),
                "new_output": _decimal(r[5]),
                "new_kind": r[6],
            }
            for r in repriced_rows
        ],
    )


_COPY_NEW_ROWS = sql.SQL("COPY ai_models ({cols}, sync_hash, first_seen_at, created_at, updated_at) FROM STDIN").format(
    cols=_cols(SYNCED_COLUMNS)
)

# The first period of every model, after a first load (the history was empty too).
_OPEN_PERIODS_OF_ALL = sql.SQL(
    """INSERT INTO ai_model_price_history
           (openrouter_id, input_cost_per_million, output_cost_per_million, pricing_kind, pricing, valid_from,
            dagster_run_id)
       SELECT openrouter_id, input_cost_per_million, output_cost_per_million, pricing_kind, pricing, %(ts)s,
              %(run_id)s
         FROM ai_models"""
)


def _load_batch(conn: psycopg.Connection, lines: list[str], params: Mapping[str, Any]) -> _BatchOutcome:
    """COPY one batch straight into ai_models, which was empty when the sync began: every row is new.

    A first load is the largest write a catalog gets, and staging it would write every row twice.
    """
    stamps = "\t" + "\t".join([escape_text(params["ts"].isoformat())] * 3) + "\n"  # seen, created, updated
    _copy_lines(conn, _COPY_NEW_ROWS, lines, line_end=stamps)
    return _BatchOutcome(staged=len(lines), inserted=len(lines))


def _first(items: Iterable[Any], key: Any = None) -> list[Any]:
    """The first REPORT_LIMIT items in byte order of id: each batch's own first ones, merged."""
    return sorted(items, key=key)[:REPORT_LIMIT]


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _write_in_batches(
    conn: psycopg.Connection, batches: Iterator[list[str]], params: Mapping[str, Any]
) -> tuple[int, _BatchOutcome]:
    """Write every batch of COPY lines; (how many batches, their outcomes merged)."""
    first_periods, first_load = conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM ai_model_price_history), NOT EXISTS (SELECT 1 FROM ai_models)"
    ).fetchone()
    first_load = first_load and first_periods
    if not first_load:
        _create_stage(conn)

    def write(batch: tuple[int, list[str]]) -> _BatchOutcome:
        number, lines = batch
        if first_load:
            return _load_batch(conn, lines, params)
        return _write_batch(conn, lines, params, first_periods=first_periods, fresh_stage=number == 0)

    # Postgres writes one batch while this thread encodes the next; the connection belongs to the background
    # thread until the `with` block has waited for it.
    with BackgroundBatches(write, name="catalog-write", cancel=conn.cancel_safe) as writer:
        for batch in enumerate(batches):
            writer.submit(batch)
        outcomes = writer.results()
    count = len(outcomes)
    if first_load:
        # Every row is new: each opens its first price period, and the report lists the first ids of all.
        opened = conn.execute(_OPEN_PERIODS_OF_ALL, params).rowcount
        added = conn.execute(
            'SELECT ARRAY(SELECT openrouter_id COLLATE "C" FROM ai_models ORDER BY 1 LIMIT %s)', (REPORT_LIMIT,)
        ).fetchone()[0]
        outcomes.append(_BatchOutcome(periods_opened=opened, added=added))
    merged = _BatchOutcome(
        staged=sum(o.staged for o in outcomes),
        inserted=sum(o.inserted for o in outcomes),
        updated=sum(o.updated for o in outcomes),
        periods_opened=sum(o.periods_opened for o in outcomes),
        reactivated=sum(o.reactivated for o in outcomes),
        repriced_total=sum(o.repriced_total for o in outcomes),
        added=_first(id_ for o in outcomes for id_ in o.added),
        returned=_first(id_ for o in outcomes for id_ in o.returned),
        repriced=_first((r for o in outcomes for r in o.repriced), key=lambda r: r["id"]),
    )
    if first_periods and merged.periods_opened >= _BULK_ROWS:
        # A first load leaves the history without statistics until autovacuum gets to it, and a re-sync in the
        # meantime would plan its period updates as if only a few periods were open. Statistics on the two
        # columns those plans read cost a fraction of a whole-table ANALYZE.
        conn.execute("ANALYZE ai_model_price_history (openrouter_id, valid_to)")
    return count, merged


def _deactivate_missing(
    conn: psycopg.Connection, params: Mapping[str, Any], gone_ids: list[str]
) -> tuple[list[str], int]:
    """Deactivate the active rows the catalog no longer lists (ids as COPY text) and close their prices."""
    if not gone_ids:
        return [], 0
    conn.execute("CREATE TEMP TABLE ai_models_gone (openrouter_id text PRIMARY KEY) ON COMMIT DROP")
    _copy_lines(conn, sql.SQL("COPY ai_models_gone (openrouter_id) FROM STDIN"), [f"{id_}\n" for id_ in gone_ids])
    rows = conn.execute(
        """WITH gone AS (
                UPDATE ai_models m SET is_active = false, removed_at = %(ts)s, updated_at = %(ts)s
                  FROM ai_models_gone g
                 WHERE m.openrouter_id = g.openrouter_id AND m.is_active
                RETURNING m.openrouter_id),
            closed AS (
                UPDATE ai_model_price_history h SET valid_to = %(ts)s
                  FROM gone WHERE h.openrouter_id = gone.openrouter_id AND h.valid_to IS NULL)
            SELECT openrouter_id, count(*) OVER () FROM gone ORDER BY openrouter_id LIMIT %(limit)s""",
        {**params, "limit": REPORT_LIMIT},
    ).fetchall()
    return [r[0] for r in rows], (rows[0][1] if rows else 0)


def _roomy_temp_buffers(conn: psycopg.Connection) -> None:
    """Let a large stage live in the session's temporary buffers instead of spilling to temporary files.

    Postgres refuses the change once the session has touched a temporary table (a reused connection); the
    savepoint keeps that refusal from aborting the sync, which then runs with the session's own setting.
    """
    try:
        with conn.transaction():
            conn.execute("SET LOCAL temp_buffers = '256MB'")
    except psycopg.errors.InvalidParameterValue:
        pass


def write_catalog(
    conn: psycopg.Connection,
    rows: Iterable[Mapping[str, Any]],
    *,
    run_id: str | None = None,
    synced_at: datetime | None = None,
    run_record: Mapping[str, Any] | None = None,
    on_progress: Any = None,
    batch_rows: int | None = None,
) -> SyncOutcome:
    """Upsert `rows` (dicts keyed by SYNCED_COLUMNS, unique ids) and deactivate the rest, atomically.

    `conn` must be in autocommit mode; this opens and owns the transaction. Raises
    CuratedFlagsChanged (after rolling back) if the curated set differs after the write.
    `run_record` (started_at, source_url, fetched, set_aside) adds an ai_model_sync_runs row in the
    same transaction. `batch_rows` sets the batch size instead of BATCH_ROWS / MIN_BATCH_ROWS.
    """
    say = on_progress or (lambda _msg: None)
    if batch_rows is None:
        batch_rows = max(MIN_BATCH_ROWS, min(BATCH_ROWS, len(rows) // 4)) if isinstance(rows, Sized) else BATCH_ROWS
    with conn.transaction():
        # Serialises concurrent syncs (schedule vs. a manual run); released at commit or rollback. A sync
        # stuck behind another for longer than lock_timeout fails clearly instead of waiting forever.
        conn.execute("SELECT set_config('lock_timeout', %s, true)", (LOCK_TIMEOUT,))
        # JIT compiling these one-off bulk statements costs more than it saves.
        conn.execute("SET LOCAL jit = off")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SYNC_LOCK_KEY,))
        ts = synced_at or conn.execute("SELECT now()").fetchone()[0]
        params = {"ts": ts, "run_id": run_id}
        curated_before = curated_ids(conn)
        known = _known_digests(conn)
        seen: set[str] = set()
        batches, written = _write_in_batches(conn, _encode_batches(rows, known, seen, batch_rows), params)
        total = len(seen)
        removed, deactivated = _deactivate_missing(conn, params, list(known.keys() - seen))
        # One line, at the end: each log line is an event the run stores.
        say(
            f"{total} rows: {written.inserted} inserted, {written.updated} updated, {deactivated} deactivated "
            f"({written.staged} written in {batches} batch{'' if batches == 1 else 'es'})"
        )
        curated_after = curated_ids(conn)
        if curated_after != curated_before:
            lost = sorted(curated_before - curated_after)[:REPORT_LIMIT]
            gained = sorted(curated_after - curated_before)[:REPORT_LIMIT]
            raise CuratedFlagsChanged(
                f"curated ids changed during the sync (lost {lost}, gained {gained}); rolled back"
            )
        counts = active_counts(conn)
        outcome = SyncOutcome(
            synced_at=ts,
            staged=written.staged,
            total=total,
            inserted=written.inserted,
            updated=written.updated,
            unchanged=total - written.inserted - written.updated,
            deactivated=deactivated,
            reactivated=written.reactivated,
            curated_before=curated_before,
            curated_after=curated_after,
            active_by_modality=counts,
            price_periods_opened=written.periods_opened,
            added=written.added,
            removed=removed,
            returned=written.returned,
            repriced=written.repriced,
            repriced_total=written.repriced_total,
        )
        if run_record is not None:
            record_sync_run(
                conn, run_id=run_id, outcome="success", finished_at=ts, **outcome.run_counts(), **run_record
            )
    return outcome


def record_sync_run(
    conn: psycopg.Connection,
    *,
    run_id: str | None,
    outcome: str,
    started_at: datetime,
    finished_at: datetime | None = None,
    source_url: str | None = None,
    error: str | None = None,
    **counts: int | None,
) -> None:
    """One ai_model_sync_runs row. Failed syncs call this after their rollback, on a fresh transaction."""
    columns = ["dagster_run_id", "outcome", "started_at", "source_url", "error", *counts]
    values = [run_id, outcome, started_at, source_url, error, *counts.values()]
    if finished_at is not None:
        columns.append("finished_at")
        values.append(finished_at)
    conn.execute(
        sql.SQL("INSERT INTO ai_model_sync_runs ({cols}) VALUES ({vals})").format(
            cols=_cols(columns), vals=sql.SQL(", ").join([sql.Placeholder()] * len(values))
        ),
        values,
    )
