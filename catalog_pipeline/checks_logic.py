"""Verdicts of the catalog's asset checks, as plain functions over counts and id sets."""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from catalog_pipeline.catalog_store import SyncOutcome
from catalog_pipeline.classification import MODALITIES

SHOWN = 25
MAX_SANE_PRICE_PER_MILLION = 10_000


def modality_counts_result(
    outcome: SyncOutcome, classified: Mapping[str, int], expected_active: int
) -> AssetCheckResult:
    """Active rows per modality equal this run's classification; no unknown modality; totals add up."""
    mismatched = {
        m: {"database": outcome.active_by_modality.get(m, 0), "classified": classified.get(m, 0)}
        for m in sorted(set(outcome.active_by_modality) | set(classified))
        if outcome.active_by_modality.get(m, 0) != classified.get(m, 0)
    }
    invalid = {m: n for m, n in outcome.active_by_modality.items() if m not in MODALITIES and n}
    passed = not mismatched and not invalid and outcome.active_total == expected_active
    return AssetCheckResult(
        check_name="modality_counts",
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "active_by_modality": MetadataValue.json(dict(outcome.active_by_modality)),
            "classified_by_modality": MetadataValue.json(dict(classified)),
            "mismatched": MetadataValue.json(mismatched),
            "invalid_modalities": MetadataValue.json(invalid),
            "active_total": outcome.active_total,
            "expected_active (fetched - set aside)": expected_active,
        },
    )


def curated_survival_result(before: frozenset[str], after: frozenset[str]) -> AssetCheckResult:
    """The curated ids are exactly the same set before and after the write."""
    lost = sorted(before - after)
    gained = sorted(after - before)
    return AssetCheckResult(
        check_name="curated_rows_survive",
        passed=not lost and not gained,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "curated_before": len(before),
            "curated_after": len(after),
            "lost": MetadataValue.json(lost[:SHOWN]),
            "gained": MetadataValue.json(gained[:SHOWN]),
        },
    )


def truncation_verdict(
    fetched_by_modality: Mapping[str, int],
    active_by_modality: Mapping[str, int],
    *,
    min_share: float,
    min_rows_for_modality_guard: int = 5,
) -> tuple[bool, dict[str, object]]:
    """(passed, details): a fetch holding too small a share of the active catalog looks truncated."""
    fetched_total = sum(fetched_by_modality.values())
    active_total = sum(active_by_modality.values())
    required = min_share * active_total
    vanished = sorted(
        m
        for m, n in active_by_modality.items()
        if n >= min_rows_for_modality_guard and fetched_by_modality.get(m, 0) == 0
    )
    share_ok = active_total == 0 or fetched_total >= required
    details: dict[str, object] = {
        "fetched_total": fetched_total,
        "active_total": active_total,
        "share": round(fetched_total / active_total, 4) if active_total else None,
        "min_share": min_share,
        "vanished_modalities": vanished,
    }
    return share_ok and not vanished, details


def prices_sane_result(conn: psycopg.Connection) -> AssetCheckResult:
    """WARN when an active row has a negative cost, more than $10,000 per million, or costs while variable."""
    rows = conn.execute(
        """SELECT openrouter_id,
                  least(input_cost_per_million, output_cost_per_million) < 0 AS negative,
                  greatest(input_cost_per_million, output_cost_per_million) > %(cap)s AS too_high,
                  pricing_kind = 'variable'
                    AND (input_cost_per_million IS NOT NULL OR output_cost_per_million IS NOT NULL)
                    AS variable_with_cost
             FROM ai_models
            WHERE is_active
              AND (least(input_cost_per_million, output_cost_per_million) < 0
                   OR greatest(input_cost_per_million, output_cost_per_million) > %(cap)s
                   OR (pricing_kind = 'variable'
                       AND (input_cost_per_million IS NOT NULL OR output_cost_per_million IS NOT NULL)))
            ORDER BY openrouter_id""",
        {"cap": MAX_SANE_PRICE_PER_MILLION},
    ).fetchall()
    return AssetCheckResult(
        check_name="prices_sane",
        passed=not rows,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "negative_cost": MetadataValue.json([r[0] for r in rows if r[1]][:SHOWN]),
            "above_10000_per_million": MetadataValue.json([r[0] for r in rows if r[2]][:SHOWN]),
            "variable_with_cost": MetadataValue.json([r[0] for r in rows if r[3]][:SHOWN]),
            "offending_total": len(rows),
        },
    )
