"""Every asset check of the catalog: the truncation guard before the write, and the verdicts on the table."""

from collections.abc import Mapping, Sequence

import pandas as pd
import psycopg
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, Config, MetadataValue, asset_check
from pydantic import Field

from catalog_pipeline.classification import MODALITIES, count_modalities
from catalog_pipeline.resources.postgres import CatalogDatabase
from catalog_pipeline.store import SyncOutcome, active_counts, vanishing_active_ids

SHOWN = 25
MAX_SANE_PRICE_PER_MILLION = 10_000

AI_MODELS_CHECKS = [
    AssetCheckSpec(
        "modality_counts",
        asset="ai_models_table",
        description="Active rows per modality match this run's classification.",
    ),
    AssetCheckSpec(
        "prices_sane",
        asset="ai_models_table",
        description="No negative cost, none above $10,000 per million tokens, no cost on a variable-priced row.",
    ),
    AssetCheckSpec(
        "curated_rows_survive",
        asset="ai_models_table",
        description="The curated ids are identical before and after the write.",
    ),
]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], limit: int = SHOWN) -> str:
    """A short markdown table, cells made safe, with a count of the rows left out."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")[:120]

    lines = [f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"]
    lines += [f"| {' | '.join(cell(v) for v in row)} |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n…and {len(rows) - limit} more ({len(rows)} in all).")
    return "\n".join(lines)


def modality_counts_result(
    outcome: SyncOutcome, classified: Mapping[str, int], expected_active: int
) -> AssetCheckResult:
    """Active rows per modality equal this run's classification; no unknown modality; totals add up."""
    active = outcome.active_by_modality
    mismatched = {
        m: {"database": active.get(m, 0), "classified": classified.get(m, 0)}
        for m in sorted(set(active) | set(classified))
        if active.get(m, 0) != classified.get(m, 0)
    }
    invalid = {m: n for m, n in active.items() if m not in MODALITIES and n}
    return AssetCheckResult(
        check_name="modality_counts",
        passed=not mismatched and not invalid and outcome.active_total == expected_active,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "active_by_modality": MetadataValue.json(dict(active)),
            "classified_by_modality": MetadataValue.json(dict(classified)),
            "mismatched": MetadataValue.json(mismatched),
            "invalid_modalities": MetadataValue.json(invalid),
            "active_total": outcome.active_total,
            "expected_active": expected_active,
        },
    )


def curated_survival_result(before: frozenset[str], after: frozenset[str]) -> AssetCheckResult:
    """The curated ids are exactly the same set before and after the write."""
    lost, gained = sorted(before - after), sorted(after - before)
    return AssetCheckResult(
        check_name="curated_rows_survive",
        passed=not lost and not gained,
        severity=AssetCheckSeverity.ERROR,
        description="The write would have changed curated flags; it was rolled back." if lost or gained else None,
        metadata={
            "curated_before": len(before),
            "curated_after": len(after),
            "lost": MetadataValue.json(lost[:SHOWN]),
            "gained": MetadataValue.json(gained[:SHOWN]),
            "failures": MetadataValue.md(
                markdown_table(
                    ["id", "why"],
                    [(i, "curated flag lost") for i in lost] + [(i, "curated flag gained") for i in gained],
                )
            ),
        },
    )


def prices_sane_result(conn: psycopg.Connection) -> AssetCheckResult:
    """WARN when an active row has a negative cost, more than $10,000 per million, or costs while variable."""
    rows = conn.execute(
        """SELECT openrouter_id, input_cost_per_million, output_cost_per_million, pricing_kind
             FROM ai_models
            WHERE is_active
              AND (least(input_cost_per_million, output_cost_per_million) < 0
                   OR greatest(input_cost_per_million, output_cost_per_million) > %(cap)s
                   OR (pricing_kind = 'variable'
                       AND (input_cost_per_million IS NOT NULL OR output_cost_per_million IS NOT NULL)))
            ORDER BY openrouter_id""",
        {"cap": MAX_SANE_PRICE_PER_MILLION},
    ).fetchall()
    found: dict[str, list[str]] = {"negative_cost": [], "above_10000_per_million": [], "variable_with_cost": []}
    table = []
    for model_id, prompt, completion, kind in rows:
        prices = [p for p in (prompt, completion) if p is not None]
        if kind == "variable":
            why = "variable_with_cost"
        elif min(prices) < 0:
            why = "negative_cost"
        else:
            why = "above_10000_per_million"
        found[why].append(model_id)
        table.append((model_id, f"in {prompt} / out {completion}", why))
    return AssetCheckResult(
        check_name="prices_sane",
        passed=not rows,
        severity=AssetCheckSeverity.WARN,
        metadata={
            **{why: MetadataValue.json(ids[:SHOWN]) for why, ids in found.items()},
            "offending_total": len(rows),
            "failures": MetadataValue.md(markdown_table(["id", "$/M tokens", "why"], table)),
        },
    )


def truncation_verdict(
    fetched_by_modality: Mapping[str, int],
    active_by_modality: Mapping[str, int],
    vanishing: int,
    *,
    min_share: float,
    min_rows_for_modality_guard: int = 5,
) -> tuple[bool, dict[str, object]]:
    """(passed, details): a fetch that would deactivate too much of the active catalog looks truncated.

    It fails when the fetch holds fewer rows than `min_share` of the active ones, when a modality with enough
    active rows is gone, or when more than 1 - `min_share` of the active ids would be deactivated.
    """
    fetched_total, active_total = sum(fetched_by_modality.values()), sum(active_by_modality.values())
    vanished = sorted(
        m for m, n in active_by_modality.items() if n >= min_rows_for_modality_guard and not fetched_by_modality.get(m)
    )
    share_ok = active_total == 0 or fetched_total >= min_share * active_total
    churn_ok = active_total == 0 or vanishing <= (1 - min_share) * active_total
    details: dict[str, object] = {
        "fetched_total": fetched_total,
        "active_total": active_total,
        "share": round(fetched_total / active_total, 4) if active_total else None,
        "min_share": min_share,
        "vanished_modalities": vanished,
        "active_ids_vanishing": vanishing,
    }
    return share_ok and churn_ok and not vanished, details


class TruncationGuardConfig(Config):
    """Run config of the truncation guard; set allow_mass_removal for a real, intended mass removal."""

    min_share: float = Field(default=0.5, description="Fail below this share of the currently active rows.")
    allow_mass_removal: bool = Field(default=False, description="Operator override: let this run shrink the catalog.")


@asset_check(asset="classified_models", blocking=True)
def catalog_not_truncated(
    config: TruncationGuardConfig, classified_models: pd.DataFrame, catalog_db: CatalogDatabase
) -> AssetCheckResult:
    """Stops the write when the fetch looks truncated: too few models, a whole modality gone, or most ids new."""
    with catalog_db.migrated() as conn:
        active = active_counts(conn)
        vanishing = vanishing_active_ids(conn, classified_models["openrouter_id"].tolist())
    fetched = count_modalities(classified_models["modality"])
    passed, details = truncation_verdict(fetched, active, vanishing, min_share=config.min_share)
    overridden = not passed and config.allow_mass_removal
    return AssetCheckResult(
        passed=passed or overridden,
        severity=AssetCheckSeverity.ERROR,
        description="Overridden by allow_mass_removal: the operator accepted a mass removal." if overridden else None,
        metadata={
            **{k: MetadataValue.json(v) if isinstance(v, list) else v for k, v in details.items()},
            "fetched_by_modality": MetadataValue.json(fetched),
            "active_by_modality": MetadataValue.json(active),
            "overridden": overridden,
        },
    )
