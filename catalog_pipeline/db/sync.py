"""The one write engine: a synced table is described once (`Table`) and written the same way as every other.

In one transaction, under the sync's advisory lock: the rows and their price components are COPYed into stages,
what will change is read, the price components are dated (a change closes a period and opens one), only the rows
that differ from the stored ones are upserted, and the active rows in scope that the stage does not hold are
deactivated, their prices closed. Nothing is deleted, and an unchanged row is neither written nor locked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from catalog_pipeline.db import CatalogDatabaseError
from catalog_pipeline.rules.prices import (
    MAX_SANE_OTHER_UNIT_PRICE,
    MAX_SANE_PRICE_PER_MILLION,
    MAX_SANE_UNIT_PRICE,
    MIN_SANE_PRICE_PER_MILLION,
    MIN_SANE_UNIT_PRICE,
    PriceRow,
)

REPORT_LIMIT = 25  # keys listed per section of a change report; totals are always exact
SYNC_LOCK_KEY = 7_215_401_002  # the advisory lock every sync write holds (an arbitrary constant)
EVERYTHING = sql.SQL("true")


class DuplicateKeys(ValueError):
    """The rows handed to a write repeat a key; nothing was written."""


class CommitUnknown(CatalogDatabaseError):
    """The connection was lost while COMMIT was on its way: the write may or may not have been committed."""


@dataclass(frozen=True)
class Dated:
    """Rows dated beside each row of a synced table (its price components, its benchmark scores): a row carries them
    as a list of tuples under `field`; each is named by `identity` within its row. A change of any of its `columns`
    closes its period and opens one; one that goes closes its period; nothing is deleted."""

    name: str  # its table, keyed by the synced table's key, then `columns`, then valid_from, valid_to, dagster_run_id
    field: str
    columns: tuple[str, ...]  # a NamedTuple's fields, identity first
    identity: tuple[str, ...]


PRICES_FIELD = "prices"


def dated_prices(name: str) -> Dated:
    """A table's price components (rules.prices.PriceRow), each named by its component and condition."""
    return Dated(name, PRICES_FIELD, PriceRow._fields, ("component", "condition"))


@dataclass(frozen=True)
class Table:
    """A synced table: its key, its synced columns (a row type's keys, key first), the rows dated beside each row,
    and which columns a change report shows old → new."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    children: tuple[Dated, ...] = ()
    watched: tuple[str, ...] = ()
    stamped: tuple[str, ...] = ("first_seen_at", "updated_at")  # set to the sync's time when a row is inserted
    dated: tuple[str, ...] = ()  # columns whose values are also kept by period in `history`, keyed by `key`
    history: str | None = None
    listed: str | None = None  # each row's periods in the catalog (key, valid_from, valid_to, …): added, gone, back

    @property
    def stage(self) -> str:
        return f"{self.name}_stage"

    @property
    def prices(self) -> str | None:
        """Its price components' table, if it has one."""
        return next((c.name for c in self.children if c.field == PRICES_FIELD), None)

    @property
    def price_columns(self) -> tuple[str, ...]:
        return (*self.key, *PriceRow._fields)

    @property
    def not_key(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.key)


@dataclass
class Outcome:
    """What one write did to one table."""

    table: str
    synced_at: datetime
    total: int = 0  # rows staged
    inserted: int = 0
    updated: int = 0
    deactivated: int = 0
    reactivated: int = 0
    changed_total: int = 0  # active rows whose watched columns changed
    periods: dict[str, tuple[int, int]] = field(default_factory=dict)  # (closed, opened) by Dated.field
    moved: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by Dated.field: {key, identity, old, new}
    moved_total: dict[str, int] = field(default_factory=dict)
    added: list[tuple] = field(default_factory=list)  # keys, at most REPORT_LIMIT of each
    removed: list[tuple] = field(default_factory=list)
    returned: list[tuple] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # {"key", "old", "new"} of the watched columns

    @property
    def unchanged(self) -> int:
        return self.total - self.inserted - self.updated

    @property
    def price_rows_closed(self) -> int:
        return self.periods.get(PRICES_FIELD, (0, 0))[0]

    @property
    def price_rows_opened(self) -> int:
        return self.periods.get(PRICES_FIELD, (0, 0))[1]


def columns_sql(columns: Iterable[str], prefix: str = "") -> sql.Composable:
    """`a, b, c`, or `p.a, p.b, p.c` with a prefix: identifiers, quoted."""
    return sql.SQL(", ").join(sql.SQL(prefix) + sql.Identifier(c) for c in columns)


def _match(columns: Iterable[str], left: str, right: str) -> sql.Composable:
    return sql.SQL(" AND ").join(
        sql.SQL("{}.{} = {}.{}").format(
            sql.Identifier(left), sql.Identifier(c), sql.Identifier(right), sql.Identifier(c)
        )
        for c in columns
    )


def set_local(conn: psycopg.Connection, settings: Mapping[str, str]) -> None:
    """Apply settings for the current transaction only (session settings would leak through a pooler)."""
    for name, value in settings.items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


@contextmanager
def sync_transaction(
    conn: psycopg.Connection, settings: Mapping[str, str] | None = None, synced_at: datetime | None = None
) -> Iterator[datetime]:
    """A transaction holding the sync lock, with `settings` (timeouts) applied; yields the sync's time. A connection
    lost while COMMIT was on its way raises CommitUnknown. `conn` must be in autocommit mode."""
    committing = False
    try:
        with conn.transaction():
            set_local(conn, settings or {})
            conn.execute("SET LOCAL jit = off")  # compiling these one-off statements costs more than it saves
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SYNC_LOCK_KEY,))
            # The time once the lock is held, not the transaction's start: a sync that waited for another must
            # date its changes after the other's, or it would close their periods before they opened.
            yield synced_at or conn.execute("SELECT clock_timestamp()").fetchone()[0]
            committing = True
    except psycopg.OperationalError as exc:
        if committing:
            raise CommitUnknown(f"the connection was lost while committing: {type(exc).__name__}") from None
        raise


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


def stage(conn: psycopg.Connection, table: Table, rows: Iterable[Mapping[str, Any]]) -> int:
    """Stage the rows (and the rows dated beside them); a repeated key raises DuplicateKeys."""
    children: dict[str, list[list[Any]]] = {child.field: [] for child in table.children}
    count = 0

    def values() -> Iterator[list[Any]]:
        nonlocal count
        for row in rows:
            count += 1
            key = [row[c] for c in table.key]
            for name, staged in children.items():
                staged.extend([*key, *child] for child in row.get(name) or ())
            yield [row[c] for c in table.columns]

    copy_into_stage(conn, table.stage, table.name, table.columns, values())
    try:
        with conn.transaction():
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                    sql.Identifier(table.stage), columns_sql(table.key)
                )
            )
    except psycopg.errors.UniqueViolation:
        raise DuplicateKeys(f"the rows for {table.name} repeat a key; nothing was written") from None
    for child in table.children:
        columns = (*table.key, *child.columns)
        copy_into_stage(conn, f"{child.name}_stage", child.name, columns, children[child.field])
    return count


def apply(
    conn: psycopg.Connection,
    table: Table,
    outcome: Outcome,
    *,
    run_id: str | None,
    scope: sql.Composable = EVERYTHING,
    params: Mapping[str, Any] | None = None,
) -> Outcome:
    """Report, date the prices, upsert and deactivate what `stage` staged. `scope` is a condition on the stored row
    `t` (with `params`): only the active rows in scope that were not staged are deactivated."""
    values = {"ts": outcome.synced_at, "run_id": run_id, "limit": REPORT_LIMIT, **(params or {})}
    _report(conn, table, outcome, values)
    for child in table.children:
        _report_moves(conn, table, child, outcome, values)
        outcome.periods[child.field] = _date_children(conn, table, child, values)
    if table.history and table.dated:
        _date_columns(conn, table, values)
    outcome.inserted, outcome.updated = conn.execute(_upsert_sql(table), values).fetchone()
    if table.listed:
        _open_listings(conn, table, values)
    gone = conn.execute(_deactivate_sql(table, scope), values).fetchall()
    outcome.deactivated, outcome.removed = len(gone), [tuple(r) for r in gone[:REPORT_LIMIT]]
    return outcome


def write(
    conn: psycopg.Connection,
    table: Table,
    rows: Iterable[Mapping[str, Any]],
    *,
    synced_at: datetime,
    run_id: str | None,
    scope: sql.Composable = EVERYTHING,
    params: Mapping[str, Any] | None = None,
) -> Outcome:
    """Stage and apply, inside the caller's sync_transaction."""
    outcome = Outcome(table.name, synced_at, total=stage(conn, table, rows))
    return apply(conn, table, outcome, run_id=run_id, scope=scope, params=params)


def _report(conn: psycopg.Connection, table: Table, outcome: Outcome, values: Mapping[str, Any]) -> None:
    """Added, returning and changed rows, read before the write: counts exact, keys capped."""
    differ = sql.SQL("({}) IS DISTINCT FROM ({})").format(
        columns_sql(table.watched, "t."), columns_sql(table.watched, "s.")
    )
    rows = conn.execute(
        sql.SQL(
            """SELECT {keys}, t.{first} IS NULL, NOT t.is_active, t.is_active AND {differ}, {old}, {new}
                 FROM {stage} s LEFT JOIN {table} t ON {match}
                WHERE t.{first} IS NULL OR NOT t.is_active OR {differ}
                ORDER BY {order}"""
        ).format(
            keys=columns_sql(table.key, "s."),
            first=sql.Identifier(table.key[0]),
            differ=differ if table.watched else sql.SQL("false"),
            old=columns_sql(table.watched, "t.") if table.watched else sql.SQL("NULL"),
            new=columns_sql(table.watched, "s.") if table.watched else sql.SQL("NULL"),
            stage=sql.Identifier(table.stage),
            table=sql.Identifier(table.name),
            match=_match(table.key, "t", "s"),
            order=_order(table.key, "s."),
        ),
        values,
    ).fetchall()
    n, w = len(table.key), len(table.watched)
    added, returned, changed = ([r for r in rows if r[n + i]] for i in range(3))
    outcome.added = [tuple(r[:n]) for r in added[:REPORT_LIMIT]]
    outcome.returned = [tuple(r[:n]) for r in returned[:REPORT_LIMIT]]
    outcome.reactivated, outcome.changed_total = len(returned), len(changed)
    outcome.changed = [
        {
            "key": tuple(r[:n]),
            "old": dict(zip(table.watched, r[n + 3 : n + 3 + w], strict=True)),
            "new": dict(zip(table.watched, r[n + 3 + w :], strict=True)),
        }
        for r in changed[:REPORT_LIMIT]
    ]


def _order(columns: Iterable[str], prefix: str = "") -> sql.Composable:
    """ORDER BY terms in byte order, the same on every server whatever its collation."""
    return sql.SQL(", ").join(sql.SQL(prefix) + sql.SQL('{} COLLATE "C"').format(sql.Identifier(c)) for c in columns)


def _report_moves(conn: psycopg.Connection, table: Table, child: Dated, outcome: Outcome, values: Mapping) -> None:
    """The dated rows whose values change this sync, read before they are dated: the key, the identity, old → new."""
    key, identity = table.key, child.identity
    rest = tuple(c for c in child.columns if c not in identity)
    rows = conn.execute(
        sql.SQL(
            """SELECT {ids}, {old}, {new} FROM {dated} p JOIN {staged} n ON {same}
                WHERE p.valid_to IS NULL AND ({old}) IS DISTINCT FROM ({new}) ORDER BY {order}"""
        ).format(
            ids=columns_sql((*key, *identity), "n."),
            old=columns_sql(rest, "p."),
            new=columns_sql(rest, "n."),
            dated=sql.Identifier(child.name),
            staged=sql.Identifier(f"{child.name}_stage"),
            same=_match((*key, *identity), "n", "p"),
            order=_order((*key, *identity), "n."),
        ),
        values,
    ).fetchall()
    n, i, r = len(key), len(identity), len(rest)
    outcome.moved_total[child.field] = len(rows)
    outcome.moved[child.field] = [
        {
            "key": tuple(row[:n]),
            "identity": tuple(row[n : n + i]),
            "old": dict(zip(rest, row[n + i : n + i + r], strict=True)),
            "new": dict(zip(rest, row[n + i + r :], strict=True)),
        }
        for row in rows[:REPORT_LIMIT]
    ]


def _date_children(conn: psycopg.Connection, table: Table, child: Dated, values: Mapping[str, Any]) -> tuple[int, int]:
    """(closed, opened): the open period of a staged row's child that is no longer staged with the same values
    closes; every staged child without an open period opens one."""
    dated, staged = sql.Identifier(child.name), sql.Identifier(f"{child.name}_stage")
    columns, named_by = (*table.key, *child.columns), (*table.key, *child.identity)
    closed = conn.execute(
        sql.SQL(
            """UPDATE {dated} p SET valid_to = %(ts)s
                WHERE p.valid_to IS NULL
                  AND EXISTS (SELECT 1 FROM {stage} s WHERE {in_stage})
                  AND NOT EXISTS (SELECT 1 FROM {staged} n WHERE {same} AND ({new}) IS NOT DISTINCT FROM ({old}))"""
        ).format(
            dated=dated,
            stage=sql.Identifier(table.stage),
            in_stage=_match(table.key, "s", "p"),
            staged=staged,
            same=_match(named_by, "n", "p"),
            new=columns_sql(columns, "n."),
            old=columns_sql(columns, "p."),
        ),
        values,
    ).rowcount
    opened = conn.execute(
        sql.SQL(
            """INSERT INTO {dated} ({cols}, valid_from, dagster_run_id)
               SELECT {staged_cols}, %(ts)s, %(run_id)s FROM {staged} n
                WHERE NOT EXISTS (SELECT 1 FROM {dated} p WHERE p.valid_to IS NULL AND {same})"""
        ).format(
            dated=dated,
            cols=columns_sql(columns),
            staged_cols=columns_sql(columns, "n."),
            staged=staged,
            same=_match(named_by, "n", "p"),
        ),
        values,
    ).rowcount
    return closed, opened


def _date_columns(conn: psycopg.Connection, table: Table, values: Mapping[str, Any]) -> None:
    """The `dated` columns' periods: a staged row whose values differ from its open period closes it; a staged row
    with no open period opens one."""
    history, key, dated = sql.Identifier(table.history), table.key, table.dated
    conn.execute(
        sql.SQL(
            """UPDATE {history} h SET valid_to = %(ts)s FROM {stage} s
                WHERE h.valid_to IS NULL AND {match} AND ({new}) IS DISTINCT FROM ({old})"""
        ).format(
            history=history,
            stage=sql.Identifier(table.stage),
            match=_match(key, "h", "s"),
            new=columns_sql(dated, "s."),
            old=columns_sql(dated, "h."),
        ),
        values,
    )
    conn.execute(
        sql.SQL(
            """INSERT INTO {history} ({cols}, valid_from, dagster_run_id)
               SELECT {staged}, %(ts)s, %(run_id)s FROM {stage} s
                WHERE NOT EXISTS (SELECT 1 FROM {history} h WHERE h.valid_to IS NULL AND {match})"""
        ).format(
            history=history,
            cols=columns_sql((*key, *dated)),
            staged=columns_sql((*key, *dated), "s."),
            stage=sql.Identifier(table.stage),
            match=_match(key, "h", "s"),
        ),
        values,
    )


def _open_listings(conn: psycopg.Connection, table: Table, values: Mapping[str, Any]) -> None:
    """A listing period opens for each staged row without one: a row added, or back after it had gone."""
    conn.execute(
        sql.SQL(
            """INSERT INTO {listed} ({key}, valid_from, dagster_run_id)
               SELECT {staged}, %(ts)s, %(run_id)s FROM {stage} s
                WHERE NOT EXISTS (SELECT 1 FROM {listed} l WHERE l.valid_to IS NULL AND {match})"""
        ).format(
            listed=sql.Identifier(table.listed),
            key=columns_sql(table.key),
            staged=columns_sql(table.key, "s."),
            stage=sql.Identifier(table.stage),
            match=_match(table.key, "l", "s"),
        ),
        values,
    )


def _upsert_sql(table: Table) -> sql.Composable:
    """(inserted, updated). The join leaves out rows equal to the stored ones: an unchanged row is neither updated
    nor locked, and a no-op re-sync writes nothing."""
    return sql.SQL(
        """WITH written AS (
               INSERT INTO {table} AS m ({cols}, is_active, removed_at, {stamped})
               SELECT {staged}, true, NULL, {stamps}
                 FROM {stage} s LEFT JOIN {table} t ON {match}
                WHERE t.{first} IS NULL OR NOT t.is_active OR ({old}) IS DISTINCT FROM ({new})
               ON CONFLICT ({key}) DO UPDATE
                  SET {assignments}, is_active = true, removed_at = NULL, updated_at = EXCLUDED.updated_at
               RETURNING (xmax = 0) AS inserted)
           SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"""
    ).format(
        table=sql.Identifier(table.name),
        cols=columns_sql(table.columns),
        stamped=columns_sql(table.stamped),
        staged=columns_sql(table.columns, "s."),
        stamps=sql.SQL(", ").join(sql.Placeholder("ts") for _ in table.stamped),
        stage=sql.Identifier(table.stage),
        match=_match(table.key, "t", "s"),
        first=sql.Identifier(table.key[0]),
        old=columns_sql(table.not_key, "t."),
        new=columns_sql(table.not_key, "s."),
        key=columns_sql(table.key),
        assignments=sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in table.not_key
        ),
    )


def _deactivate_sql(table: Table, scope: sql.Composable) -> sql.Composable:
    """Active rows in scope that the stage does not hold become inactive, and their open prices close: the keys
    gone, in order."""
    closing = sql.SQL("").join(
        sql.SQL(
            ", {name} AS (UPDATE {dated} p SET valid_to = %(ts)s{closer}"
            " FROM gone WHERE {match} AND p.valid_to IS NULL)"
        ).format(
            name=sql.Identifier(f"closed_{i}"),
            dated=sql.Identifier(dated),
            # A listing also says which run found the row gone: the change feed's removals are told by run.
            closer=sql.SQL(", removed_by_run_id = %(run_id)s" if dated == table.listed else ""),
            match=_match(table.key, "p", "gone"),
        )
        for i, dated in enumerate([*(c.name for c in table.children), *(t for t in (table.history, table.listed) if t)])
    )
    return sql.SQL(
        """WITH gone AS (
               UPDATE {table} t SET is_active = false, removed_at = %(ts)s, updated_at = %(ts)s
                WHERE t.is_active AND ({scope})
                  AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE {match})
               RETURNING {keys}){closing}
           SELECT {gone_keys} FROM gone ORDER BY {order}"""
    ).format(
        table=sql.Identifier(table.name),
        scope=scope,
        stage=sql.Identifier(table.stage),
        match=_match(table.key, "s", "t"),
        keys=columns_sql(table.key, "t."),
        closing=closing,
        gone_keys=columns_sql(table.key),
        order=_order(table.key),
    )


def active_rows(conn: psycopg.Connection, table: str) -> int:
    """How many rows of a synced table are active."""
    return conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE is_active").format(sql.Identifier(table))).fetchone()[0]


def column_descriptions(conn: psycopg.Connection, table: str = "ai_models") -> list[tuple[str, str, str]]:
    """(name, type, comment) of each column of a table, in order: the SQL COMMENTs are the descriptions."""
    return conn.execute(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod), coalesce(col_description(a.attrelid, a.attnum), '')
             FROM pg_attribute a
            WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum""",
        (table,),
    ).fetchall()


def insane_prices(conn: psycopg.Connection, table: Table) -> list[tuple]:
    """(who, component, condition, unit, price, per million, why) of each active row's price in force that is
    negative or outside its unit's bounds, and each variable-priced row given a token cost. Prices of units nobody
    knows yet are not judged."""
    who = sql.SQL(" || ' via ' || ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in table.key)
    return conn.execute(
        sql.SQL(
            """SELECT {who}, p.component, p.condition, p.unit, p.price, p.price_per_million,
                  CASE WHEN p.price < 0 THEN 'negative price'
                       WHEN p.unit = 'token' AND p.price_per_million < %(token_floor)s
                       THEN 'below $' || %(token_floor)s || ' per million tokens'
                       WHEN p.unit = 'token' THEN 'above $' || %(token_cap)s || ' per million tokens'
                       WHEN p.price < (%(floors)s::jsonb ->> p.unit)::numeric
                       THEN 'below $' || (%(floors)s::jsonb ->> p.unit) || ' per ' || p.unit
                       ELSE 'above $' || coalesce(%(caps)s::jsonb ->> p.unit, %(other_cap)s::text) || ' per ' || p.unit
                  END AS why
             FROM {prices} p JOIN {table} t ON {match}
            WHERE p.valid_to IS NULL AND t.is_active AND t.pricing_kind IS DISTINCT FROM 'variable'
              AND p.unit IS NOT NULL
              AND (p.price < 0
                   OR (p.unit = 'token' AND p.price_per_million > %(token_cap)s)
                   OR (p.unit = 'token' AND p.price > 0 AND p.price_per_million < %(token_floor)s)
                   OR (p.unit <> 'token' AND p.price > 0 AND p.price < (%(floors)s::jsonb ->> p.unit)::numeric)
                   OR (p.unit <> 'token' AND p.price > coalesce((%(caps)s::jsonb ->> p.unit)::numeric, %(other_cap)s)))
           UNION ALL
           SELECT {who}, 'prompt, completion', '', 'token', NULL, NULL, 'token cost on a variable-priced model'
             FROM {table} t
            WHERE t.is_active AND t.pricing_kind = 'variable'
              AND (t.input_cost_per_million IS NOT NULL OR t.output_cost_per_million IS NOT NULL)
            ORDER BY 1, 2, 3"""
        ).format(
            who=who,
            prices=sql.Identifier(table.prices),
            table=sql.Identifier(table.name),
            match=_match(table.key, "t", "p"),
        ),
        {
            "token_cap": MAX_SANE_PRICE_PER_MILLION,
            "token_floor": MIN_SANE_PRICE_PER_MILLION,
            "floors": Jsonb(MIN_SANE_UNIT_PRICE),
            "caps": Jsonb(MAX_SANE_UNIT_PRICE),
            "other_cap": MAX_SANE_OTHER_UNIT_PRICE,
        },
    ).fetchall()
