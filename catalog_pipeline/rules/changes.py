"""The changes digest: what one run changed in the catalog (rows of ai_catalog_changes), told in a screenful."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple


class Change(NamedTuple):
    """One row of ai_catalog_changes."""

    changed_at: datetime
    kind: str
    openrouter_id: str | None
    tag: str | None
    subject: str | None
    old_value: str | None
    new_value: str | None
    dagster_run_id: str | None


# What a person acts on first, in this order; every other kind is counted only.
FIRST = {
    "model_added": "New models",
    "price_changed": "Price moves (per million tokens, or per unit)",
    "model_removed": "Removed models",
    "zero_data_retention_changed": "Zero data retention",
}
SCREENFUL = 20  # lines of changes listed; counts are always whole


def _percent(old: str | None, new: str | None) -> str:
    try:
        before, after = Decimal(old or ""), Decimal(new or "")
    except InvalidOperation:
        return ""
    return f" ({(after - before) / before * 100:+.1f} %)" if before else ""


def _line(change: Change) -> str:
    who = f"`{change.openrouter_id}`" if change.openrouter_id else f"`{change.subject}`"
    where = f" via `{change.tag}`" if change.tag else ""
    if change.kind == "price_changed":
        moved = _percent(change.old_value, change.new_value)
        return f"• {who} {change.subject}: {change.old_value} → {change.new_value}{moved}"
    if change.kind == "zero_data_retention_changed":
        keeps = "keeps no data now" if change.new_value == "true" else "no longer promises zero retention"
        return f"• {who}{where} {keeps}"
    return f"• {who}{where}"


def digest(changes: Sequence[Change], run_link: str) -> str:
    """Counts by kind, then the changes a person acts on first (new models, price moves old → new with the
    percentage, removals, zero-retention changes), at most a screenful, and the run's link. '' for no change."""
    if not changes:
        return ""
    counts = Counter(change.kind for change in changes)
    lines = [
        f"*Catalog changes*: {len(changes)} in this sync ({run_link})",
        " · ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in sorted(counts.items())),
    ]
    listed = 0
    for kind, title in FIRST.items():
        picked = [c for c in changes if c.kind == kind]
        shown = picked[: max(SCREENFUL - listed, 0)]
        if not shown:
            continue
        lines += ["", f"*{title}* ({len(picked)})", *(_line(c) for c in shown)]
        if len(picked) > len(shown):
            lines.append(f"…and {len(picked) - len(shown)} more")
        listed += len(shown)
    return "\n".join(lines)
