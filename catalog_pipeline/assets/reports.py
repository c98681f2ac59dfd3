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


def _price(values: dict[str, Any], column: str) -> str:
    if values.get("pricing_kind") == "variable":
        return "variable"
    value = values.get(column)
    return "—" if value is None else f"${Decimal(value):f}"


def change_report(outcome: Outcome, extra: Sequence[str] = ()) -> str:
    """Rows added, removed, reactivated and re-priced (old → new per million), then `extra` lines; capped lists,
    exact totals."""
    lines = [
        f"**{outcome.inserted} added · {outcome.deactivated} removed · {outcome.changed_total} re-priced · "
        f"{outcome.reactivated} reactivated · {outcome.unchanged} unchanged**",
        "",
    ]
    lines += _section("Added", [f"- {_key(k)}" for k in outcome.added], outcome.inserted)
    lines += _section("Removed", [f"- {_key(k)}" for k in outcome.removed], outcome.deactivated)
    lines += _section("Reactivated", [f"- {_key(k)}" for k in outcome.returned], outcome.reactivated)
    if outcome.changed_total:
        lines += [f"### Re-priced ({outcome.changed_total})", "", "| row | input $/M | output $/M |", "|---|---|---|"]
        for change in outcome.changed:
            old, new = change["old"], change["new"]
            lines.append(
                f"| {_key(change['key'])} | {_price(old, 'input_cost_per_million')} → "
                f"{_price(new, 'input_cost_per_million')} | {_price(old, 'output_cost_per_million')} → "
                f"{_price(new, 'output_cost_per_million')} |"
            )
        if outcome.changed_total > len(outcome.changed):
            lines.append(f"\n…and {outcome.changed_total - len(outcome.changed)} more")
        lines.append("")
    lines += extra
    if len(lines) == 2:
        lines.append("No changes since the last sync.")
    return "\n".join(lines).rstrip()
