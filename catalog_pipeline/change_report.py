"""The markdown change report each ai_models materialization carries."""

from __future__ import annotations

from decimal import Decimal

from catalog_pipeline.store import SyncOutcome


def _price(value: Decimal | None, kind: str | None) -> str:
    if kind == "variable":
        return "variable"
    return "—" if value is None else f"${value:f}"


def _ids(title: str, ids: list[str], total: int) -> list[str]:
    if not total:
        return []
    lines = [f"### {title} ({total})"]
    lines += [f"- `{i}`" for i in ids]
    if total > len(ids):
        lines.append(f"- …and {total - len(ids)} more")
    return lines + [""]


def change_report_markdown(outcome: SyncOutcome) -> str:
    """Models added, removed, re-priced (old → new per million) and reactivated; capped lists, exact totals."""
    lines = [
        f"**{outcome.inserted} added · {outcome.deactivated} removed · {outcome.repriced_total} re-priced · "
        f"{outcome.reactivated} reactivated · {outcome.unchanged} unchanged** "
        f"({outcome.active_total} active models)",
        "",
    ]
    lines += _ids("Added", outcome.added, outcome.inserted)
    lines += _ids("Removed", outcome.removed, outcome.deactivated)
    lines += _ids("Reactivated", outcome.returned, outcome.reactivated)
    if outcome.repriced_total:
        lines += [
            f"### Re-priced ({outcome.repriced_total})",
            "",
            "| model | input $/M | output $/M |",
            "|---|---|---|",
        ]
        for r in outcome.repriced:
            old_in, new_in = _price(r["old_input"], r["old_kind"]), _price(r["new_input"], r["new_kind"])
            old_out, new_out = _price(r["old_output"], r["old_kind"]), _price(r["new_output"], r["new_kind"])
            lines.append(f"| `{r['id']}` | {old_in} → {new_in} | {old_out} → {new_out} |")
        if outcome.repriced_total > len(outcome.repriced):
            lines.append(f"\n…and {outcome.repriced_total - len(outcome.repriced)} more")
    if outcome.newly_expiring:
        lines += ["", f"### Newly given an expiration date ({outcome.newly_expiring_total})"]
        lines += [f"- `{model_id}`: {day}" for model_id, day in outcome.newly_expiring]
        if outcome.newly_expiring_total > len(outcome.newly_expiring):
            lines.append(f"- …and {outcome.newly_expiring_total - len(outcome.newly_expiring)} more")
    if len(lines) == 2:
        lines.append("No changes since the last sync.")
    return "\n".join(lines)
