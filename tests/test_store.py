"""The write path against a real Postgres: values round-trip exactly, failures undo everything, no-ops write nothing."""

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, get_type_hints

import psycopg
import pytest
from conftest import table_snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog_pipeline.db.models import MODELS, write_catalog
from catalog_pipeline.db.sync import DuplicateKeys
from catalog_pipeline.rules.benchmarks import BenchmarkRow
from catalog_pipeline.rules.models import SYNCED_COLUMNS, ClassifiedModel, classify_catalog
from catalog_pipeline.rules.parse import clean_json, clean_text
from catalog_pipeline.rules.prices import PriceRow

texts = st.text(max_size=40).map(clean_text)
json_objects = st.dictionaries(
    texts, st.none() | texts | st.floats(min_value=-1e6, max_value=1e6) | st.integers(-(2**53), 2**53), max_size=4
).map(clean_json)
days = st.dates(min_value=date(1971, 1, 1), max_value=date(2200, 1, 1))
prices = st.lists(
    st.builds(
        PriceRow,
        component=texts,
        unit=st.none() | st.sampled_from(["token", "image", "million characters"]),
        condition=texts,
        tier=st.none() | texts,
        override_position=st.none() | st.integers(1, 5),
        min_prompt_tokens=st.none() | st.decimals(min_value=0, max_value=10**7, places=1),
        utc_start=st.none() | st.integers(0, 2359),
        utc_end=st.none() | st.integers(0, 2359),
        price=st.decimals(allow_nan=False, allow_infinity=False, places=40),
        price_per_million=st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=34),
    ),
    max_size=3,
    unique_by=lambda p: (p.component, p.condition),
)
benchmarks = st.lists(
    st.builds(
        BenchmarkRow,
        source=st.sampled_from(["artificial_analysis", "design_arena"]),
        benchmark=texts,
        category=texts,
        score=st.decimals(allow_nan=False, allow_infinity=False, places=6),
        win_rate=st.none() | st.decimals(min_value=0, max_value=100, places=1),
        rank=st.none() | st.integers(-(2**31), 2**31 - 1),
    ),
    max_size=3,
    unique_by=lambda b: (b.source, b.benchmark, b.category),
)
# A strategy per type of the row type's columns (the one definition of the synced columns), so a column added to
# ClassifiedModel is generated here without a word more; a few columns get values chosen to break a naive write.
BY_TYPE = {
    str: texts,
    str | None: st.none() | texts,
    int | None: st.none() | st.integers(1, 2**31 - 1),
    Decimal | None: st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=12),
    list[str]: st.lists(texts, max_size=4),
    list[str] | None: st.none() | st.lists(texts, max_size=5),
    datetime | None: st.none()
    | st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    date | None: st.none() | days,
    bool | None: st.none() | st.booleans(),
    dict[str, bool | None]: st.dictionaries(texts, st.none() | st.booleans(), max_size=5),
    Any: st.none() | json_objects,
    list[PriceRow]: prices,
    list[BenchmarkRow]: benchmarks,
}
CHOSEN = {
    # Control characters in ids (\b, \v, \f, tabs, newlines) must round-trip, or re-syncs would flap.
    "openrouter_id": st.one_of(texts, st.sampled_from(["\b", "\v", "\f", "\t", "\n", "\\N", "a\\b"])).map(
        lambda t: "p/" + t
    ),
    "modality": st.sampled_from(["text", "image"]),
    "output_modalities": st.lists(st.sampled_from(["NULL", "a,b", '{"x"}', "t\\x", " sp "]) | texts, max_size=4),
    "output_cost_per_million": st.none() | st.just(Decimal("0.0000000100000000000000000000000000000000001")),
    "pricing_kind": st.sampled_from([None, "paid", "free", "variable"]),
    "billing_unit": st.sampled_from([None, "token", "minute", "million characters"]),
    "endpoints_path": st.none() | texts.map(lambda t: "/api/v1/models/" + t),
}
rows = st.fixed_dictionaries(
    {column: CHOSEN.get(column, BY_TYPE[kind]) for column, kind in get_type_hints(ClassifiedModel).items()}
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(st.lists(rows, min_size=1, max_size=5, unique_by=lambda r: r["openrouter_id"]))
def test_rows_round_trip_exactly_and_a_second_write_changes_nothing(catalog_db, generated):
    with catalog_db.migrated() as conn:
        conn.execute("TRUNCATE ai_models, ai_model_prices, ai_model_benchmarks")
        first = write_catalog(conn, generated)
        stored = conn.execute(
            f'SELECT {", ".join(SYNCED_COLUMNS)} FROM ai_models ORDER BY openrouter_id COLLATE "C"'  # noqa: S608
        ).fetchall()
        prices = conn.execute(
            f"SELECT openrouter_id, {', '.join(MODELS.price_columns[1:])} FROM ai_model_prices"  # noqa: S608
        ).fetchall()
        scores = conn.execute(
            "SELECT openrouter_id, source, benchmark, category, score, win_rate, rank FROM ai_model_benchmarks"
        ).fetchall()
        dated = "SELECT * FROM ai_model_prices ORDER BY id", "SELECT * FROM ai_model_benchmarks ORDER BY id"
        before = table_snapshot(conn), [conn.execute(q).fetchall() for q in dated]
        second = write_catalog(conn, generated)
        assert (table_snapshot(conn), [conn.execute(q).fetchall() for q in dated]) == before
    assert first.inserted == len(generated)
    assert (second.inserted, second.updated, second.deactivated, second.unchanged) == (0, 0, 0, len(generated))
    expected = sorted(generated, key=lambda r: r["openrouter_id"].encode())
    for row, back in zip(expected, stored, strict=True):
        assert dict(zip(SYNCED_COLUMNS, back, strict=True)) == {c: row[c] for c in SYNCED_COLUMNS}
    stored_prices = sorted(prices, key=repr)
    sent = [(r["openrouter_id"], *price) for r in generated for price in r["prices"]]
    sent.sort(key=repr)
    assert stored_prices == sent
    assert sorted(scores, key=repr) == sorted(
        ((r["openrouter_id"], *b) for r in generated for b in r["benchmarks"]), key=repr
    )


def test_a_refused_row_undoes_the_whole_write(catalog_db, pg, handwritten_catalog):
    rows = classify_catalog(handwritten_catalog["data"]).rows
    with catalog_db.migrated() as conn:
        write_catalog(conn, rows)
        pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = %s", (rows[1]["openrouter_id"],))
        changed = [{**r, "name": r["name"] + " v2"} for r in rows]
        changed[-1]["context_length"] = -1  # the table's CHECK refuses it
        history = "SELECT * FROM ai_model_price_history ORDER BY id"
        before = (table_snapshot(pg), pg.execute(history).fetchall())
        with pytest.raises(psycopg.errors.CheckViolation, match="context_length"):
            write_catalog(conn, changed)
        assert (table_snapshot(pg), pg.execute(history).fetchall()) == before
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert write_catalog(conn, rows).total == len(rows)  # the connection is clean for the next write


def test_a_failing_row_source_rolls_back(catalog_db, pg, handwritten_catalog):
    rows = classify_catalog(handwritten_catalog["data"]).rows

    def rows_then_failure():
        yield from rows[:10]
        raise RuntimeError("the source broke mid-stream")

    with catalog_db.migrated() as conn:
        with pytest.raises(RuntimeError, match="mid-stream"):
            write_catalog(conn, rows_then_failure())
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert pg.execute("SELECT count(*) FROM ai_models").fetchone()[0] == 0


def test_duplicate_ids_fail_before_anything_is_written(catalog_db, pg, handwritten_catalog):
    rows = classify_catalog(handwritten_catalog["data"]).rows
    with catalog_db.migrated() as conn:
        with pytest.raises(DuplicateKeys, match="repeat a key; nothing was written"):
            write_catalog(conn, rows + [copy.deepcopy(rows[3])])
    assert pg.execute("SELECT count(*) FROM ai_models").fetchone()[0] == 0


def test_prices_are_stored_exactly(catalog_db, pg, handwritten_catalog):
    rows = classify_catalog(handwritten_catalog["data"]).rows
    with catalog_db.migrated() as conn:
        write_catalog(conn, rows)
    stored = dict(pg.execute("SELECT openrouter_id, input_cost_per_million FROM ai_models").fetchall())
    assert stored == {r["openrouter_id"]: r["input_cost_per_million"] for r in rows}
    assert any(isinstance(v, Decimal) and v != v.to_integral_value() for v in stored.values())


def test_a_no_op_resync_neither_updates_nor_locks_a_row(catalog_db, pg, handwritten_catalog):
    rows = classify_catalog(handwritten_catalog["data"]).rows
    with catalog_db.migrated() as conn:
        write_catalog(conn, rows)
        versions = pg.execute("SELECT openrouter_id, xmin::text, xmax::text FROM ai_models ORDER BY 1").fetchall()
        outcome = write_catalog(conn, rows)
    assert (outcome.inserted, outcome.updated, outcome.unchanged) == (0, 0, len(rows))
    # A locked row (SELECT ... FOR UPDATE or ON CONFLICT DO UPDATE) gets a new xmax; an updated one a new xmin.
    assert pg.execute("SELECT openrouter_id, xmin::text, xmax::text FROM ai_models ORDER BY 1").fetchall() == versions
