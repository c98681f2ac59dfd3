"""A sync written in many small batches equals one written in one; a failure in any batch undoes them all."""

import dataclasses
import sys
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
from conftest import DAYS, four_days_of, replay_in_batches, reset_schema, table_snapshot

from catalog_pipeline.background_batches import BackgroundBatches
from catalog_pipeline.catalog_db import CatalogDatabase
from catalog_pipeline.catalog_store import write_catalog
from catalog_pipeline.classification import classify_catalog


def test_many_small_batches_write_exactly_what_one_batch_writes(catalog_db, handwritten_catalog):
    catalogs = four_days_of(handwritten_catalog)
    one = replay_in_batches(catalog_db.url, catalogs, batch_rows=10_000)
    many = replay_in_batches(catalog_db.url, catalogs, batch_rows=3)
    assert [dataclasses.asdict(o) for o in many[0]] == [dataclasses.asdict(o) for o in one[0]]
    assert many[1] == one[1]
    assert many[2] == one[2]
    # The replay exercised what the batches must merge: re-prices, departures, returns, and a quiet day.
    first, second, third, fourth = one[0]
    assert first.inserted == len(catalogs[0]) and first.price_periods_opened == len(catalogs[0])
    new = {m["id"] for m in catalogs[1]} - {m["id"] for m in catalogs[0]}
    assert second.repriced_total > 3 and second.deactivated > 3 and second.inserted == len(new) > 0
    assert third.reactivated == second.deactivated and third.repriced_total == second.repriced_total
    assert (fourth.staged, fourth.inserted, fourth.updated) == (0, 0, 0)
    assert first.added == sorted(m["id"] for m in catalogs[0])[:25]
    assert [r["id"] for r in second.repriced] == sorted(r["id"] for r in second.repriced)
    curated = frozenset({catalogs[0][0]["id"], catalogs[0][4]["id"]})
    assert first.curated_after == frozenset() and second.curated_before == second.curated_after == curated


def _poisoned(rows: list[dict], at: int) -> list[dict]:
    """The rows with one that Postgres refuses (context_length must be positive) at position `at`."""
    bad = [dict(r) for r in rows]
    bad[at]["context_length"] = -1
    return bad


@pytest.mark.parametrize("first_load", [True, False], ids=["first-load", "re-sync"])
def test_a_refused_row_in_a_late_batch_undoes_every_batch(catalog_db, pg, handwritten_catalog, first_load):
    catalog_db.ensure_schema()
    rows = classify_catalog(handwritten_catalog["data"]).rows
    with psycopg.connect(catalog_db.url, autocommit=True) as conn:
        if not first_load:
            write_catalog(conn, rows)
            pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = %s", (rows[1]["openrouter_id"],))
            rows = [{**r, "name": r["name"] + " v2"} for r in rows]  # every row changes, so every batch writes
        history = "SELECT * FROM ai_model_price_history ORDER BY id"
        before = (table_snapshot(pg), pg.execute(history).fetchall())
        with pytest.raises(psycopg.errors.CheckViolation, match="context_length"):
            write_catalog(conn, _poisoned(rows, len(rows) - 1), batch_rows=4)
        assert (table_snapshot(pg), pg.execute(history).fetchall()) == before
        # The connection is idle and usable: no batch is still running on it.
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert write_catalog(conn, rows, batch_rows=4).total == len(rows)


def test_a_failing_catalog_iterator_stops_the_writer_and_rolls_back(catalog_db, pg, handwritten_catalog):
    catalog_db.ensure_schema()
    rows = classify_catalog(handwritten_catalog["data"]).rows

    def rows_then_failure():
        yield from rows[:10]
        raise RuntimeError("the source broke mid-stream")

    with psycopg.connect(catalog_db.url, autocommit=True) as conn:
        with pytest.raises(RuntimeError, match="mid-stream"):
            write_catalog(conn, rows_then_failure(), batch_rows=3)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert table_snapshot(pg) == []
    assert not [t for t in threading.enumerate() if t.name == "catalog-write"]


def test_background_batches_run_in_order_and_hand_back_the_first_failure():
    seen = []
    with BackgroundBatches(lambda b: seen.append(b) or b * 2) as batches:
        for number in range(5):
            batches.submit(number)
        assert batches.results() == [0, 2, 4, 6, 8]
    assert seen == [0, 1, 2, 3, 4]

    def work(batch):
        if batch == 2:
            raise ValueError("batch 2 is bad")
        return batch

    with pytest.raises(ValueError, match="batch 2 is bad"):
        with BackgroundBatches(work) as batches:
            for number in range(50):  # later submits raise it as soon as it has happened
                batches.submit(number)
            batches.results()


def test_background_batches_restore_the_switch_interval():
    before = sys.getswitchinterval()
    with BackgroundBatches(lambda b: sys.getswitchinterval(), switch_interval=0.0001) as batches:
        batches.submit(None)
        during = batches.results()[0]
    assert during == pytest.approx(0.0001)
    assert sys.getswitchinterval() == before
    with pytest.raises(KeyError):
        with BackgroundBatches(lambda b: b, switch_interval=0.0001):
            raise KeyError("caller failed")
    assert sys.getswitchinterval() == before


def test_prices_stay_exact_through_batches(catalog_db, pg, handwritten_catalog):
    """A batch boundary changes nothing about numeric values: the stored cost is the classified Decimal."""
    catalog_db.ensure_schema()
    rows = classify_catalog(handwritten_catalog["data"]).rows
    with psycopg.connect(catalog_db.url, autocommit=True) as conn:
        write_catalog(conn, rows, batch_rows=2)
    stored = dict(pg.execute("SELECT openrouter_id, input_cost_per_million FROM ai_models").fetchall())
    assert stored == {r["openrouter_id"]: r["input_cost_per_million"] for r in rows}
    assert any(isinstance(v, Decimal) and v != v.to_integral_value() for v in stored.values())


def test_leaving_on_an_error_cancels_the_batch_in_progress_and_skips_the_rest(catalog_db):
    """A caller that fails (a bad row, a stopped run) does not wait for the batches it queued."""
    started, done = threading.Event(), []

    with psycopg.connect(catalog_db.url, autocommit=True) as conn:

        def work(batch):
            started.set()
            conn.execute("SELECT pg_sleep(60)")
            done.append(batch)

        with pytest.raises(RuntimeError, match="caller failed"):
            with BackgroundBatches(work, cancel=conn.cancel_safe) as batches:
                batches.submit(1)
                batches.submit(2)  # waits in the queue
                assert started.wait(10)
                raise RuntimeError("caller failed")
        assert isinstance(batches.failure, psycopg.errors.QueryCanceled)
        assert done == []
        assert conn.execute("SELECT 1").fetchone() == (1,)


def _stored(conn, ids):
    models = conn.execute(
        "SELECT to_jsonb(m) - 'id' FROM ai_models m WHERE openrouter_id = ANY(%s) ORDER BY openrouter_id", (ids,)
    ).fetchall()
    history = conn.execute(
        "SELECT to_jsonb(h) - 'id' FROM ai_model_price_history h WHERE openrouter_id = ANY(%s) ORDER BY openrouter_id",
        (ids,),
    ).fetchall()
    return models, history


def test_a_first_load_writes_what_the_staged_upsert_writes(catalog_db, pg, handwritten_catalog):
    """The first load COPYs straight into ai_models; the values must equal the staged path's, column by column."""
    catalog_db.ensure_schema()
    rows = classify_catalog(handwritten_catalog["data"]).rows
    ids = [r["openrouter_id"] for r in rows]
    with psycopg.connect(catalog_db.url, autocommit=True) as conn:
        direct = write_catalog(conn, rows, synced_at=DAYS[0], run_id="run")
        assert direct.added == sorted(ids)[:25]
        copied = _stored(pg, ids)
        reset_schema(catalog_db.url)
        CatalogDatabase(url=catalog_db.url).ensure_schema()
        # One row that is not in the catalog makes the table non-empty, so the same rows go through the stage.
        earlier = datetime(2026, 7, 31, 3, 0, tzinfo=UTC)
        write_catalog(conn, [{**rows[0], "openrouter_id": "other/model"}], synced_at=earlier, run_id="run")
        staged = write_catalog(conn, rows, synced_at=DAYS[0], run_id="run")
    assert _stored(pg, ids) == copied
    assert (staged.inserted, staged.added, staged.price_periods_opened) == (
        direct.inserted,
        direct.added,
        direct.price_periods_opened,
    )


def test_a_failing_cancel_still_waits_for_the_batch(catalog_db):
    """If the cancel request cannot be sent, leaving still waits: the caller never shares a busy connection."""
    started, finished = threading.Event(), threading.Event()

    def cannot_cancel():
        raise OSError("no route to the server")

    def work(batch):
        started.set()
        time.sleep(0.3)
        finished.set()

    with pytest.raises(RuntimeError, match="caller failed"):
        with BackgroundBatches(work, cancel=cannot_cancel) as batches:
            batches.submit(1)
            assert started.wait(10)
            raise RuntimeError("caller failed")
    assert finished.is_set()
