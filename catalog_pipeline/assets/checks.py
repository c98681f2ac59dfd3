"""Every asset check of the catalog: the truncation guard before the write, and the verdicts on the table."""

from collections.abc import Mapping, Sequence
from decimal import Decimal

import pandas as pd
import psycopg
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, Config, MetadataValue, asset_check
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import Field

from catalog_pipeline.classification import MODALITIES, count_modalities
from catalog_pipeline.resources.postgres import CatalogDatabase, set_local
from catalog_pipeline.store import SyncOutcome, active_counts, vanishing_active_ids

SHOWN = 25
EXPIRY_WARNING_DAYS = 14
# Sane upper bounds, in USD: per million tokens for token prices, per unit for the others. A price above its
# bound is far more likely a unit mix-up than a real price.
MAX_SANE_PRICE_PER_MILLION = 10_000
MAX_SANE_UNIT_PRICE = {
    "image": 10,
    "megapixel": 10,
    "second": 10,
    "minute": 10,
    "hour": 100,
    "million characters": 1_000,
    "search": 10,
    "request": 10,
    "song": 10,
}
MAX_SANE_OTHER_UNIT_PRICE = 100
# Sane lower bounds for a paid price (zero is free, not judged): about a tenth of the lowest paid price of each
# unit in the five real catalogs in shared/fixtures (token: inclusionai/ling-2.6-flash's cache read at $0.002 per
# million; image: meta-llama/llama-3.2-11b-vision-instruct's $0.000079475 an input image; second:
# qwen/qwen3-asr-flash's $0.000035; minute: voxtral's $0.0001; hour: whisper's $0.04; million characters:
# kokoro's $0.62; search: cohere/rerank-v3.5's $0.001; request: $0.005; megapixel: flux.2-klein's $0.014; song:
# lyria's $0.04). Below it, a price is far more likely in the wrong unit: a per-token price read per image
# (google/gemini-3-pro-image's "0.000002") lands there.
MIN_SANE_PRICE_PER_MILLION = Decimal("0.0002")
MIN_SANE_UNIT_PRICE = {
    "image": "0.00001",
    "megapixel": "0.001",
    "second": "0.000003",
    "minute": "0.00001",
    "hour": "0.004",
    "million characters": "0.06",
    "search": "0.0001",
    "request": "0.0005",
    "song": "0.004",
}

AI_MODELS_CHECKS = [
    AssetCheckSpec(
        "modality_counts",
        asset="ai_models_table",
        description="Active rows per modality match this run's classification.",
    ),
    AssetCheckSpec(
        "prices_sane",
        asset="ai_models_table",
        description="No negative price; every paid price within its unit's bounds (token: $0.0002 to $10,000 per "
        "million).",
    ),
    AssetCheckSpec(
        "price_moves",
        asset="ai_models_table",
        description="Names models whose token price moved 10× or more, crossed zero, or whose context shrank.",
    ),
    AssetCheckSpec(
        "curated_models_expiring",
        asset="ai_models_table",
        description=f"Names curated, active models that expire within {EXPIRY_WARNING_DAYS} days or have expired.",
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


def prices_sane_result(conn: psycopg.Connection, endpoints: bool = False) -> AssetCheckResult:
    """WARN on an active model's (or endpoint's) price in force that is negative or above its unit's bound, or on a
    variable-priced one with a token cost. Routers' "-1" and prices of units nobody knows yet are not judged."""
    where = _ENDPOINTS if endpoints else _MODELS
    rows = conn.execute(
        sql.SQL(
            """SELECT {who}, p.component, p.condition, p.unit, p.price, p.price_per_million,
                  CASE WHEN p.price < 0 THEN 'negative price'
                       WHEN p.unit = 'token' AND p.price_per_million < %(token_floor)s
                       THEN 'below $' || %(token_floor)s || ' per million tokens'
                       WHEN p.unit = 'token' THEN 'above $' || %(token_cap)s || ' per million tokens'
                       WHEN p.price < (%(floors)s::jsonb ->> p.unit)::numeric
                       THEN 'below $' || (%(floors)s::jsonb ->> p.unit) || ' per ' || p.unit
                       ELSE 'above $' || coalesce(%(caps)s::jsonb ->> p.unit, %(other_cap)s::text) || ' per ' || p.unit
                  END AS why
             FROM {prices} p JOIN {owners} m ON {joined}
            WHERE p.valid_to IS NULL AND m.is_active AND m.pricing_kind IS DISTINCT FROM 'variable'
              AND p.unit IS NOT NULL
              AND (p.price < 0
                   OR (p.unit = 'token' AND p.price_per_million > %(token_cap)s)
                   OR (p.unit = 'token' AND p.price > 0 AND p.price_per_million < %(token_floor)s)
                   OR (p.unit <> 'token' AND p.price > 0 AND p.price < (%(floors)s::jsonb ->> p.unit)::numeric)
                   OR (p.unit <> 'token' AND p.price > coalesce((%(caps)s::jsonb ->> p.unit)::numeric, %(other_cap)s)))
           UNION ALL
           SELECT {who}, 'prompt, completion', '', 'token', NULL, NULL, 'token cost on a variable-priced model'
             FROM {owners} m
            WHERE m.is_active AND m.pricing_kind = 'variable'
              AND (m.input_cost_per_million IS NOT NULL OR m.output_cost_per_million IS NOT NULL)
            ORDER BY 1, 2, 3"""
        ).format(**where),
        {
            "token_cap": MAX_SANE_PRICE_PER_MILLION,
            "token_floor": MIN_SANE_PRICE_PER_MILLION,
            "floors": Jsonb(MIN_SANE_UNIT_PRICE),
            "caps": Jsonb(MAX_SANE_UNIT_PRICE),
            "other_cap": MAX_SANE_OTHER_UNIT_PRICE,
        },
    ).fetchall()
    table = [
        (
            model_id,
            f"{component} {condition}".strip(),
            f"{per_million or price} per {'M tokens' if per_million else unit}",
            why,
        )
        for model_id, component, condition, unit, price, per_million, why in rows
    ]
    return AssetCheckResult(
        check_name="endpoint_prices_sane" if endpoints else "prices_sane",
        passed=not rows,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "offending_total": len(rows),
            "offending": MetadataValue.json([{"id": r[0], "component": r[1], "why": r[3]} for r in table[:SHOWN]]),
            "failures": MetadataValue.md(markdown_table(["id", "component", "value", "why"], table)),
        },
    )


_MODELS = {
    "who": sql.SQL("m.openrouter_id"),
    "prices": sql.Identifier("ai_model_prices"),
    "owners": sql.Identifier("ai_models"),
    "joined": sql.SQL("m.openrouter_id = p.openrouter_id"),
}
_ENDPOINTS = {
    "who": sql.SQL("m.openrouter_id || ' via ' || m.tag"),
    "prices": sql.Identifier("ai_model_endpoint_prices"),
    "owners": sql.Identifier("ai_model_endpoints"),
    "joined": sql.SQL("m.openrouter_id = p.openrouter_id AND m.tag = p.tag"),
}


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


def curated_expiring_result(conn: psycopg.Connection) -> AssetCheckResult:
    """WARN naming curated, active models whose expiration date is past or within EXPIRY_WARNING_DAYS."""
    rows = conn.execute(
        """SELECT openrouter_id, expiration_date,
                  CASE WHEN expiration_date < current_date THEN 'expired' ELSE 'expires soon' END
             FROM ai_models
            WHERE is_curated AND is_active AND expiration_date <= current_date + %s
            ORDER BY expiration_date, openrouter_id""",
        (EXPIRY_WARNING_DAYS,),
    ).fetchall()
    return AssetCheckResult(
        check_name="curated_models_expiring",
        passed=not rows,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "expiring_total": len(rows),
            "expiring": MetadataValue.json([{"id": r[0], "expiration_date": r[1].isoformat()} for r in rows[:SHOWN]]),
            "failures": MetadataValue.md(markdown_table(["id", "expiration date", "why"], rows)),
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
    with catalog_db.migrated() as conn, catalog_db.explained("the truncation guard", conn), conn.transaction():
        set_local(conn, catalog_db.timeouts())
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
