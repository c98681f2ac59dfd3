"""Every asset check of the catalog. Those that need the write's own transaction (modality counts, curated rows,
price moves) are built here and yielded by the write; those that only read a table are @asset_checks beside their
asset, re-runnable from the UI; the truncation guard blocks the write."""

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetIn, Config, MetadataValue, asset_check
from pydantic import Field

from catalog_pipeline.assets.reports import SHOWN, markdown_table
from catalog_pipeline.db.endpoints import ENDPOINTS, uncovered_models
from catalog_pipeline.db.models import (
    MODELS,
    ModelsOutcome,
    active_counts,
    curated_expiring,
    implausible_scores,
    vanishing_active_ids,
)
from catalog_pipeline.db.providers import unknown_endpoint_providers
from catalog_pipeline.db.sync import Table, insane_prices
from catalog_pipeline.resources.postgres import CatalogDatabase
from catalog_pipeline.rules.endpoints import excused_models
from catalog_pipeline.rules.models import MODALITIES, count_modalities
from catalog_pipeline.rules.providers import zero_retention

EXPIRY_WARNING_DAYS = 14

# The checks the write yields from inside its transaction.
WRITE_CHECKS = [
    AssetCheckSpec(
        "modality_counts",
        asset="ai_models_table",
        description="Active rows per modality match this run's classification.",
    ),
    AssetCheckSpec(
        "price_moves",
        asset="ai_models_table",
        description="Names models whose token price moved 10× or more, crossed zero, or whose context shrank.",
    ),
    AssetCheckSpec(
        "curated_rows_survive",
        asset="ai_models_table",
        description="The curated ids are identical before and after the write.",
    ),
]


def modality_counts_result(
    outcome: ModelsOutcome, classified: Mapping[str, int], expected_active: int
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
            "failures": MetadataValue.md(
                markdown_table(
                    ["modality", "active rows", "classified"],
                    [(m, v["database"], v["classified"]) for m, v in mismatched.items()]
                    + [(m, n, "not a known modality") for m, n in invalid.items()]
                    + (
                        [("total", outcome.active_total, expected_active)]
                        if outcome.active_total != expected_active
                        else []
                    ),
                )
            ),
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


def price_moves_result(moves: Sequence[Mapping[str, object]]) -> AssetCheckResult:
    """WARN naming every model whose token price moved 10× or more or crossed zero, or whose context shrank."""
    table = []
    for move in moves:
        for what, old, new in (
            ("input $/M", move["old_input"], move["new_input"]),
            ("output $/M", move["old_output"], move["new_output"]),
            ("context", move["old_context"], move["new_context"]),
        ):
            if old != new and old is not None and new is not None:
                table.append((move["id"], what, f"{old} → {new}"))
    return AssetCheckResult(
        check_name="price_moves",
        passed=not moves,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "moved_total": len(moves),
            "moved": MetadataValue.json([str(m["id"]) for m in moves[:SHOWN]]),
            "failures": MetadataValue.md(markdown_table(["id", "what", "old → new"], table)),
        },
    )


def _prices_sane(catalog_db: CatalogDatabase, table: Table) -> AssetCheckResult:
    with catalog_db.reading(f"checking {table.name}'s prices") as conn:
        rows = insane_prices(conn, table)
    found = [
        (
            who,
            f"{component} {condition}".strip(),
            f"{per_million or price} per {'M tokens' if per_million else unit}",
            why,
        )
        for who, component, condition, unit, price, per_million, why in rows
    ]
    return AssetCheckResult(
        passed=not found,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "offending_total": len(found),
            "offending": MetadataValue.json([{"id": r[0], "component": r[1], "why": r[3]} for r in found[:SHOWN]]),
            "failures": MetadataValue.md(markdown_table(["id", "component", "value", "why"], found)),
        },
    )


@asset_check(asset="ai_models_table")
def prices_sane(catalog_db: CatalogDatabase) -> AssetCheckResult:
    """No negative price; every paid price within its unit's bounds (token: $0.0002 to $10,000 per million)."""
    return _prices_sane(catalog_db, MODELS)


@asset_check(asset="ai_model_endpoints_table")
def endpoint_prices_sane(catalog_db: CatalogDatabase) -> AssetCheckResult:
    """Endpoint prices within the same bounds as the model prices."""
    return _prices_sane(catalog_db, ENDPOINTS)


@asset_check(asset="ai_models_table")
def benchmark_scores_plausible(catalog_db: CatalogDatabase) -> AssetCheckResult:
    """Every score in force is plausible: an index within 0–100, no negative elo or rank, a win rate within 0–100."""
    with catalog_db.reading("checking the benchmark scores") as conn:
        rows = implausible_scores(conn)
    found = [(r[0], "/".join(filter(None, r[1:4])), f"score {r[4]}, win rate {r[5]}, rank {r[6]}", r[7]) for r in rows]
    return AssetCheckResult(
        passed=not found,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "offending_total": len(found),
            "offending": MetadataValue.json([{"id": r[0], "benchmark": r[1], "why": r[3]} for r in found[:SHOWN]]),
            "failures": MetadataValue.md(markdown_table(["id", "benchmark", "values", "why"], found)),
        },
    )


@asset_check(asset="ai_models_table")
def curated_models_expiring(catalog_db: CatalogDatabase) -> AssetCheckResult:
    """Names curated, active models that expire within 14 days or have expired."""
    with catalog_db.reading("checking curated expiry dates") as conn:
        rows = curated_expiring(conn, EXPIRY_WARNING_DAYS)
    return AssetCheckResult(
        passed=not rows,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "expiring_total": len(rows),
            "expiring": MetadataValue.json([{"id": r[0], "expiration_date": r[1].isoformat()} for r in rows[:SHOWN]]),
            "failures": MetadataValue.md(markdown_table(["id", "expiration date", "why"], rows)),
        },
    )


@asset_check(
    asset="ai_model_endpoints_table",
    additional_ins={"raw": AssetIn("raw_openrouter_endpoints")},
)
def endpoints_cover_catalog(catalog_db: CatalogDatabase, raw: dict[str, Any]) -> AssetCheckResult:
    """Every active model has endpoint rows, unless its endpoints failed, its answer listed none, or it is served by
    another model's answer (a variant's base)."""
    excused = excused_models(raw["asked"], raw["bodies"], raw["failed"])
    with catalog_db.reading("checking endpoint coverage") as conn:
        uncovered = uncovered_models(conn, list(excused))
    rows = [(m, "no active endpoint rows") for m in uncovered] + sorted(excused.items())
    return AssetCheckResult(
        passed=not uncovered,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "uncovered": MetadataValue.json(uncovered[:SHOWN]),
            "excused": MetadataValue.json(dict(sorted(excused.items())[:SHOWN])),
            "failures": MetadataValue.md(markdown_table(["id", "why"], rows)),
        },
    )


def truncation_verdict(
    fetched_by_modality: Mapping[str, int],
    active_by_modality: Mapping[str, int],
    vanishing: int,
    *,
    min_share: float,
    min_rows_for_modality_guard: int = 5,
) -> tuple[bool, dict[str, object], list[tuple[str, object, str]]]:
    """(passed, details, reasons): a fetch that would deactivate too much of the active catalog looks truncated.

    It fails when the fetch holds fewer rows than `min_share` of the active ones, when a modality with enough
    active rows is gone, or when more than 1 - `min_share` of the active ids would be deactivated.
    """
    fetched_total, active_total = sum(fetched_by_modality.values()), sum(active_by_modality.values())
    vanished = sorted(
        m for m, n in active_by_modality.items() if n >= min_rows_for_modality_guard and not fetched_by_modality.get(m)
    )
    reasons: list[tuple[str, object, str]] = []
    if active_total and fetched_total < min_share * active_total:
        reasons.append(("rows fetched", f"{fetched_total} of {active_total} active", f"below {min_share:.0%}"))
    reasons += [
        (f"modality {m}", f"{active_by_modality[m]} active, 0 fetched", "a whole modality gone") for m in vanished
    ]
    if active_total and vanishing > (1 - min_share) * active_total:
        reasons.append(("active ids vanishing", vanishing, f"more than {1 - min_share:.0%} of {active_total}"))
    details: dict[str, object] = {
        "fetched_total": fetched_total,
        "active_total": active_total,
        "share": round(fetched_total / active_total, 4) if active_total else None,
        "min_share": min_share,
        "vanished_modalities": vanished,
        "active_ids_vanishing": vanishing,
    }
    return not reasons, details, reasons


class TruncationGuardConfig(Config):
    """Run config of the truncation guard; set allow_mass_removal for a real, intended mass removal."""

    min_share: float = Field(default=0.5, description="Fail below this share of the currently active rows.")
    allow_mass_removal: bool = Field(default=False, description="Operator override: let this run shrink the catalog.")


@asset_check(asset="classified_models", blocking=True)
def catalog_not_truncated(
    config: TruncationGuardConfig, classified_models: pd.DataFrame, catalog_db: CatalogDatabase
) -> AssetCheckResult:
    """Stops the write when the fetch looks truncated: too few models, a whole modality gone, or most ids new."""
    with catalog_db.reading("the truncation guard") as conn:
        active = active_counts(conn)
        vanishing = vanishing_active_ids(conn, classified_models["openrouter_id"].tolist())
    fetched = count_modalities(classified_models["modality"])
    passed, details, reasons = truncation_verdict(fetched, active, vanishing, min_share=config.min_share)
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
            "failures": MetadataValue.md(markdown_table(["what", "value", "why"], reasons)),
        },
    )


@asset_check(asset="ai_model_endpoints_table", additional_ins={"raw": AssetIn("raw_openrouter_providers")})
def zero_data_retention_fresh(raw: dict[str, Any]) -> AssetCheckResult:
    """WARN when /endpoints/zdr could not be had this run: the endpoints' flags are as the last list left them."""
    zero, why = zero_retention(raw)
    return AssetCheckResult(
        passed=zero is not None,
        severity=AssetCheckSeverity.WARN,
        description=None if zero is not None else f"the list is stale: {why}",
        metadata={"listed": len(zero.endpoints) if zero else 0, "why": why or ""},
    )


@asset_check(asset="ai_model_endpoints_table")
def endpoint_providers_known(catalog_db: CatalogDatabase) -> AssetCheckResult:
    """WARN naming the provider slugs of active endpoints that ai_providers does not list."""
    with catalog_db.reading("checking the endpoints' providers") as conn:
        unknown = unknown_endpoint_providers(conn)
    return AssetCheckResult(
        passed=not unknown,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "unknown_total": len(unknown),
            "unknown": MetadataValue.json([slug for slug, _ in unknown[:SHOWN]]),
            "failures": MetadataValue.md(markdown_table(["provider slug", "active endpoints"], unknown)),
        },
    )
