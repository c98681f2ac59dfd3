"""Parsers of the API's loose JSON values into what Postgres can store: text, JSON, integers, dates."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

_INT4_MAX = 2**31 - 1
# No object the API sends is nested more than a few levels; one nested hundreds deep is garbage, and could not be
# stored or handed between steps.
MAX_DEPTH = 32


def clean_text(value: Any) -> str | None:
    """A string Postgres can store (no NUL, valid UTF-8), or None for anything that is not a string."""
    if not isinstance(value, str):
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from "\ud800"-style JSON escapes
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value.replace("\x00", "")


def clean_json(value: Any) -> Any:
    """A JSON value jsonb accepts: no NUL in strings or keys, no NaN or infinities."""
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int):
        return value
    return clean_text(str(value))


def exact_number(value: Any) -> Decimal | None:
    """A JSON number as sent: an int exactly, a float by its shortest text (60.7 stays 60.7); None for anything else
    (booleans, strings, NaN, infinities)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def parse_positive_int(value: Any) -> tuple[int | None, bool]:
    """(value, ok): a positive int that fits Postgres `integer`; ok is False when the input was garbage."""
    if value is None:
        return None, True
    if isinstance(value, bool):
        return None, False
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        return None, False
    if value <= 0:
        return None, True
    if value > _INT4_MAX:
        return None, False
    return value, True


def parse_unix_seconds(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def nesting_depth(value: Any) -> int:
    """How many objects and arrays deep a JSON value goes (iteratively: a deep value must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:  # deeper than that is already an answer
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def text_list(value: Any) -> list[str] | None:
    """The storable strings of a list, in order; None when the value is not a list."""
    if not isinstance(value, list):
        return None
    return [clean_text(v) for v in value if isinstance(v, str)]
