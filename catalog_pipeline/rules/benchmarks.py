"""Benchmarks: a model object's `benchmarks` (OpenRouter, since June 2026) as rows of ai_model_benchmarks.

The real 2026-07-29 listing (367 models, 194 with `benchmarks`) shows the shape: `artificial_analysis` is an object of
indexes (`intelligence_index`, `coding_index`, `agentic_index`: integers, decimals or null; absent on 58 of the 194),
`design_arena` a list of `{arena, category, elo, win_rate, rank}`, one per (arena, category); a variant carries its
base model's benchmarks. Values are stored exactly as sent (a JSON number's shortest text), never rounded.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from catalog_pipeline.rules.parse import clean_text, exact_number

ARTIFICIAL_ANALYSIS = "artificial_analysis"
DESIGN_ARENA = "design_arena"
# The indexes ai_models carries as columns (today's values); any other index Artificial Analysis adds is stored too.
HEADLINE_INDEXES = ("intelligence_index", "coding_index", "agentic_index")


class BenchmarkRow(NamedTuple):
    """One row of ai_model_benchmarks, without its model id and dates: an index (`category` '') or an arena result."""

    source: str
    benchmark: str  # the index's key, or the arena
    category: str  # the Design Arena category; '' for an index
    score: Decimal  # the index's value, or the elo
    win_rate: Decimal | None
    rank: int | None


class Benchmarks(NamedTuple):
    rows: list[BenchmarkRow]
    problems: list[str]  # parts set aside, each with its reason


def benchmark_rows(benchmarks: Any) -> Benchmarks:
    """The rows of a model's `benchmarks` (None or absent: none), and the parts that could not be read."""
    if benchmarks is None:
        return Benchmarks([], [])
    if not isinstance(benchmarks, dict):
        return Benchmarks([], [f"benchmarks is a {type(benchmarks).__name__}, not an object"])
    rows, problems = [], []
    rows += _indexes(benchmarks.get(ARTIFICIAL_ANALYSIS), problems)
    rows += _arenas(benchmarks.get(DESIGN_ARENA), problems)
    problems += [
        f"benchmarks.{k}: unknown source, not stored"
        for k in benchmarks
        if k not in (ARTIFICIAL_ANALYSIS, DESIGN_ARENA)
    ]
    return Benchmarks(rows, problems)


def _indexes(indexes: Any, problems: list[str]) -> list[BenchmarkRow]:
    """Artificial Analysis' indexes; a null index has no row (it is not a score of 0)."""
    if indexes is None:
        return []
    if not isinstance(indexes, dict):
        problems.append(f"benchmarks.{ARTIFICIAL_ANALYSIS} is not an object")
        return []
    rows = []
    for name, value in indexes.items():
        score = exact_number(value)
        if value is None:
            continue
        if score is None or not clean_text(name):
            problems.append(f"benchmarks.{ARTIFICIAL_ANALYSIS}.{str(name)[:40]}: not a number ({str(value)[:40]!r})")
            continue
        rows.append(BenchmarkRow(ARTIFICIAL_ANALYSIS, clean_text(name), "", score, None, None))
    return rows


def _arenas(entries: Any, problems: list[str]) -> list[BenchmarkRow]:
    """Design Arena's results, one per (arena, category): a repeat keeps the first, as the API listed them."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        problems.append(f"benchmarks.{DESIGN_ARENA} is not a list")
        return []
    rows, seen = [], set()
    for position, entry in enumerate(entries):
        where = f"benchmarks.{DESIGN_ARENA}[{position}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not an object")
            continue
        arena, category = clean_text(entry.get("arena")), clean_text(entry.get("category"))
        elo, win_rate, rank = exact_number(entry.get("elo")), exact_number(entry.get("win_rate")), entry.get("rank")
        if not arena or not category or elo is None:
            problems.append(f"{where}: no arena, category or elo")
            continue
        if (arena, category) in seen:
            problems.append(f"{where}: {arena}/{category} repeated; the first is kept")
            continue
        seen.add((arena, category))
        whole_rank = rank if isinstance(rank, int) and not isinstance(rank, bool) and abs(rank) < 2**31 else None
        rows.append(BenchmarkRow(DESIGN_ARENA, arena, category, elo, win_rate, whole_rank))
    return rows


def headline(rows: list[BenchmarkRow]) -> dict[str, Decimal | None]:
    """ai_models' index columns: today's value of each headline index, None when absent."""
    values = {r.benchmark: r.score for r in rows if r.source == ARTIFICIAL_ANALYSIS}
    return {name: values.get(name) for name in HEADLINE_INDEXES}


def reasoning_settings(reasoning: Any) -> dict[str, Any]:
    """ai_models' reasoning columns from the model's `reasoning` object (2026-07-29: on 241 of 367 models), as sent;
    a field of the wrong type is None."""
    given = reasoning if isinstance(reasoning, dict) else {}
    efforts = given.get("supported_efforts")
    efforts = [clean_text(e) for e in efforts if isinstance(e, str)] if isinstance(efforts, list) else None
    flags = {k: given.get(k) for k in ("mandatory", "default_enabled", "supports_max_tokens")}
    return {
        **{f"reasoning_{k}": v if isinstance(v, bool) else None for k, v in flags.items()},
        "reasoning_default_effort": clean_text(given.get("default_effort")),
        "reasoning_supported_efforts": efforts,
    }
