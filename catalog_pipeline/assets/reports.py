"""What a person reads in the UI: markdown tables for checks, and the one change report every synced table carries."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from catalog_pipeline.db.sync import Outcome

SHOWN = 25  # rows listed in any table or list a person reads; totals are always exact


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], limit: int = SHOWN) -> str:
    """A short markdown table, cells made safe, with a count of the rows left out."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")[:120]

    lines = [f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"]
    lines += [f"| {' | '.join(cell(v) for v in row)} |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n…and {len(rows) - limit} more ({len(rows)} in all).")
    return "\n".join(lines)


def _key(key: tuple) -> str:
    return " ".join(f"`{part}`" for part in key)


def _section(title: str, lines: list[str], total: int) -> list[str]:
    if not total:
        return []
    more = [f"- …and {total - len(lines)} more"] if total > len(lines) else []
    return [f"### {title} ({total})", *lines, *more, ""]


def _value(values: dict[str, Any], column: str) -> str:
    value = values.get(column)
    if column.endswith("_cost_per_million") and values.get("pricing_kind") == "variable":
        return "variable"
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"${value:f}" if column.endswith("_cost_per_million") else f"{value:f}"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def _changes(change: dict[str, Any]) -> str:
    """`column: old → new` for each watched column that changed; a JSON column only says it changed."""
    old, new = change["old"], change["new"]
    parts = [
        f"{column} changed"
        if isinstance(new.get(column), dict)
        else f"{column}: {_value(old, column)} → {_value(new, column)}"
        for column in new
        if old.get(column) != new.get(column)
    ]
    return "; ".join(parts)


def change_report(outcome: Outcome, extra: Sequence[str] = ()) -> str:
    """Rows added, removed, reactivated and changed (each watched column old → new), then `extra` lines; capped
    lists, exact totals."""
    lines = [
        f"**{outcome.inserted} added · {outcome.deactivated} removed · {outcome.changed_total} changed · "
        f"{outcome.reactivated} reactivated · {outcome.unchanged} unchanged**",
        "",
    ]
    lines += _section("Added", [f"- {_key(k)}" for k in outcome.added], outcome.inserted)
    lines += _section("Removed", [f"- {_key(k)}" for k in outcome.removed], outcome.deactivated)
    lines += _section("Reactivated", [f"- {_key(k)}" for k in outcome.returned], outcome.reactivated)
    changes = [f"- {_key(change['key'])}: {_changes(change)}" for change in outcome.changed]
    lines += _section("Changed", changes, outcome.changed_total)
    lines += extra
    if len(lines) == 2:
        lines.append("No changes since the last sync.")
    return "\n".join(lines).rstrip()


def scores_moved_lines(outcome: Outcome) -> list[str]:
    """The change report's section on benchmark scores that moved: model, benchmark, old → new."""
    moves = outcome.moved.get("benchmarks", [])
    lines = []
    for move in moves:
        source, benchmark, category = move["identity"]
        name = "/".join(filter(None, (benchmark, category)))
        values = "; ".join(
            f"{column}: {_value(move['old'], column)} → {_value(move['new'], column)}"
            for column in move["new"]
            if move["old"][column] != move["new"][column]
        )
        lines.append(f"- {_key(move['key'])} {source} {name}: {values}")
    return _section("Benchmark scores moved", lines, outcome.moved_total.get("benchmarks", 0))
