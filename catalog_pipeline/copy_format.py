"""Rows as PostgreSQL COPY text lines, written by hand because per-value adaptation is the write's bottleneck.

psycopg's `write_row` adapts every value through its dumper registry (about 90 µs per catalog row here);
formatting the line directly is several times faster and keeps memory flat, since lines are produced and
sent in chunks. The format is COPY's default text format: tab-separated, `\\N` for NULL, backslash escapes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

NULL = "\\N"
# Sorted keys: the same values always give the same line, whatever order the API listed them in, so a
# line's digest changes only when a value does.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str, sort_keys=True)


def _json_encoder() -> Any:
    """_JSON.encode, or the same C encoder called directly.

    JSONEncoder.encode builds a new C encoder on every call, which is half the cost of encoding a small pricing
    object. The direct call is used only where it gives the same text and still refuses NaN.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _JSON.encode
    try:
        # (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys, allow_nan);
        # no circular-reference markers: decoded JSON has no cycles.
        encoder = make(None, str, json.encoder.encode_basestring, None, ":", ",", True, False, False)
    except TypeError:  # a Python whose C encoder takes other arguments
        return _JSON.encode

    def encode(value: Any) -> str:
        return "".join(encoder(value, 0))

    probe = {"b": [1.5, None, 10**20, True], "a": 'é\n"\\', "c": {"z": {}}}
    if encode(probe) != _JSON.encode(probe):
        return _JSON.encode
    try:
        encode(float("nan"))
    except ValueError:
        return encode
    return _JSON.encode


_encode_json = _json_encoder()


def escape_text(value: str) -> str:
    """A text value escaped for COPY's text format."""
    # str.replace is C-fast; str.translate with a mapping is not (tens of µs on a long description).
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    return value


def _array(values: Sequence[str]) -> str:
    """A text[] literal: every element quoted, so commas, braces, spaces and NULL-like words stay data."""
    return _array_literal(tuple(values))


@lru_cache(maxsize=8192)
def _array_literal(values: tuple[str, ...]) -> str:
    # Catalogs repeat the same modality and parameter lists thousands of times.
    if not values:
        return "{}"
    raw = "".join(values)
    if "\\" in raw or '"' in raw:
        values = [v.replace("\\", "\\\\").replace('"', '\\"') for v in values]
    return escape_text('{"' + '","'.join(values) + '"}')


def _json(value: Any) -> str:
    return escape_text(_encode_json(value))


def _flags(value: dict[str, Any]) -> str:
    """capabilities: a handful of booleans, a few dozen distinct objects per catalog, so memoised."""
    try:
        return _flags_json(tuple(value.items()))
    except TypeError:  # an unhashable value: not flags after all
        return _json(value)


@lru_cache(maxsize=4096)
def _flags_json(items: tuple[tuple[str, bool | None], ...]) -> str:
    return _json(dict(items))


def copy_fields(row: Mapping[str, Any]) -> str:
    """One row (keyed by SYNCED_COLUMNS, in that order) as tab-separated COPY text fields, without the newline."""
    # Spelled out column by column with no helper calls: every sync encodes every row to compare digests, and
    # a generic loop over (column, encoder) pairs costs about a fifth more. test_copy_format round-trips each
    # column and checks the order against SYNCED_COLUMNS.
    return "\t".join(
        (
            NULL if (v := row["openrouter_id"]) is None else escape_text(v),
            NULL if (v := row["canonical_slug"]) is None else escape_text(v),
            NULL if (v := row["name"]) is None else escape_text(v),
            NULL if (v := row["description"]) is None else escape_text(v),
            NULL if (v := row["provider"]) is None else escape_text(v),
            NULL if (v := row["provider_slug"]) is None else escape_text(v),
            NULL if (v := row["modality"]) is None else escape_text(v),
            NULL if (v := row["input_modalities"]) is None else _array(v),
            NULL if (v := row["output_modalities"]) is None else _array(v),
            NULL if (v := row["context_length"]) is None else str(v),
            NULL if (v := row["max_completion_tokens"]) is None else str(v),
            NULL if (v := row["input_cost_per_million"]) is None else str(v),
            NULL if (v := row["output_cost_per_million"]) is None else str(v),
            NULL if (v := row["pricing_kind"]) is None else escape_text(v),
            NULL if (v := row["pricing"]) is None else _json(v),
            NULL if (v := row["capabilities"]) is None else _flags(v),
            NULL if (v := row["supported_parameters"]) is None else _array(v),
            NULL if (v := row["hugging_face_id"]) is None else escape_text(v),
            NULL if (v := row["tokenizer"]) is None else escape_text(v),
            NULL if (v := row["instruct_type"]) is None else escape_text(v),
            NULL if (v := row["openrouter_created_at"]) is None else v.isoformat(),
            NULL if (v := row["expiration_date"]) is None else v.isoformat(),
        )
    )


def copy_line(row: Mapping[str, Any]) -> str:
    """One row (keyed by SYNCED_COLUMNS) as a COPY text line, newline included."""
    return copy_fields(row) + "\n"


def row_digest(fields: str) -> str:
    """A short digest of a row's COPY fields; equal values give equal digests."""
    # SHA-256 runs on the CPU's SHA extensions where they exist (about twice blake2b's speed on a 1 kB row);
    # 128 bits of it are plenty to tell rows apart.
    return hashlib.sha256(fields.encode("utf-8")).hexdigest()[:32]


def copy_chunks(rows: Iterable[Mapping[str, Any]], chunk_rows: int = 2000) -> Iterator[tuple[str, int]]:
    """(text, row count) chunks of COPY lines, so rows stream to the server without piling up."""
    batch: list[str] = []
    for row in rows:
        batch.append(copy_line(row))
        if len(batch) >= chunk_rows:
            yield "".join(batch), len(batch)
            batch = []
    if batch:
        yield "".join(batch), len(batch)
