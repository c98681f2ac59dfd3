"""The hand-written COPY encoder round-trips any storable value through a real Postgres."""

from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog_pipeline import copy_format
from catalog_pipeline.catalog_store import _COPY_STAGE, _copy_lines, _create_stage, _encode_batches
from catalog_pipeline.classification import SYNCED_COLUMNS, classify_catalog, clean_json, clean_text

texts = st.text(max_size=40).map(clean_text)
rows = st.fixed_dictionaries(
    {
        "openrouter_id": texts.map(lambda t: "p/" + t),
        "canonical_slug": st.none() | texts,
        "name": texts,
        "description": st.none() | texts,
        "provider": texts,
        "provider_slug": texts,
        "modality": st.sampled_from(["text", "image"]),
        "input_modalities": st.none() | st.lists(texts, max_size=4),
        "output_modalities": st.lists(st.sampled_from(["NULL", "a,b", '{"x"}', "t\\x", " sp "]) | texts, max_size=4),
        "context_length": st.none() | st.integers(1, 2**31 - 1),
        "max_completion_tokens": st.none() | st.integers(1, 2**31 - 1),
        "input_cost_per_million": st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=10),
        "output_cost_per_million": st.none() | st.just(Decimal("1E+1")),
        "pricing_kind": st.sampled_from([None, "paid", "free", "variable"]),
        "pricing": st.none()
        | st.dictionaries(
            texts,
            st.none() | texts | st.floats(min_value=-1e6, max_value=1e6) | st.integers(-(2**53), 2**53),
            max_size=4,
        ).map(clean_json),
        "capabilities": st.dictionaries(texts, st.none() | st.booleans(), max_size=5),
        "supported_parameters": st.none() | st.lists(texts, max_size=5),
        "hugging_face_id": st.none() | texts,
        "tokenizer": st.none() | texts,
        "instruct_type": st.none() | texts,
        "openrouter_created_at": st.none()
        | st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
        "expiration_date": st.none() | st.dates(min_value=date(1971, 1, 1), max_value=date(2200, 1, 1)),
    }
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(st.lists(rows, min_size=1, max_size=5, unique_by=lambda r: r["openrouter_id"]))
def test_copy_round_trip(catalog_db, generated):
    catalog_db.ensure_schema()
    with psycopg.connect(catalog_db.url, autocommit=True) as conn:
        with conn.transaction(force_rollback=True):
            _create_stage(conn)
            for lines in _encode_batches(generated, {}, set(), batch_rows=7):
                _copy_lines(conn, _COPY_STAGE, lines)
            stored = conn.execute(
                "SELECT " + ", ".join(SYNCED_COLUMNS) + ' FROM ai_models_stage ORDER BY openrouter_id COLLATE "C"'  # noqa: S608
            ).fetchall()
    expected = sorted(generated, key=lambda r: r["openrouter_id"].encode())
    for row, back in zip(expected, stored, strict=True):
        assert dict(zip(SYNCED_COLUMNS, back, strict=True)) == row


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_direct_json_encoder_writes_what_jsonencoder_writes(value):
    """The C encoder called directly gives JSONEncoder's exact text, so digests do not depend on which ran."""
    assert copy_format._encode_json(value) == copy_format._JSON.encode(value)


def test_direct_json_encoder_refuses_nan():
    for bad in (float("nan"), {"price": float("inf")}, [float("-inf")]):
        with pytest.raises(ValueError, match="not JSON compliant"):
            copy_format._encode_json(bad)


def test_copy_fields_follow_synced_columns(handwritten_catalog):
    """copy_fields spells the columns out by hand: one field per SYNCED_COLUMNS entry, in that order."""
    for row in classify_catalog(handwritten_catalog["data"]).rows:
        fields = copy_format.copy_fields(row).split("\t")
        assert len(fields) == len(SYNCED_COLUMNS)
        assert fields[SYNCED_COLUMNS.index("openrouter_id")] == copy_format.escape_text(row["openrouter_id"])
        assert fields[SYNCED_COLUMNS.index("modality")] == row["modality"]
        assert fields[SYNCED_COLUMNS.index("expiration_date")] == (
            "\\N" if row["expiration_date"] is None else row["expiration_date"].isoformat()
        )
