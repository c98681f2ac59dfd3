"""The truncation guard: a blocking check between classification and the write."""

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, Config, MetadataValue, asset_check
from pydantic import Field

from catalog_pipeline.assets.catalog import classified_models
from catalog_pipeline.catalog_db import CatalogDatabase
from catalog_pipeline.catalog_store import active_counts
from catalog_pipeline.checks_logic import truncation_verdict
from catalog_pipeline.classification import MODALITIES


class TruncationGuardConfig(Config):
    """Run config of the truncation guard; set allow_mass_removal for a real, intended mass removal."""

    min_share: float = Field(default=0.5, description="Fail below this share of the currently active rows.")
    allow_mass_removal: bool = Field(default=False, description="Operator override: let this run shrink the catalog.")


@asset_check(asset=classified_models, blocking=True)
def catalog_not_truncated(
    config: TruncationGuardConfig, classified_models: pd.DataFrame, catalog_db: CatalogDatabase
) -> AssetCheckResult:
    """Stops the write when the fetch looks truncated: too few models, or a whole modality gone."""
    with catalog_db.migrated() as conn:
        active = active_counts(conn)
    fetched = classified_models["modality"].value_counts().to_dict() if len(classified_models) else {}
    fetched = {m: int(fetched.get(m, 0)) for m in MODALITIES}
    passed, details = truncation_verdict(fetched, active, min_share=config.min_share)
    overridden = not passed and config.allow_mass_removal
    return AssetCheckResult(
        passed=passed or overridden,
        severity=AssetCheckSeverity.ERROR,
        description=("Overridden by allow_mass_removal: the operator accepted a mass removal." if overridden else None),
        metadata={
            **{k: MetadataValue.json(v) if isinstance(v, list) else v for k, v in details.items()},
            "fetched_by_modality": MetadataValue.json(fetched),
            "active_by_modality": MetadataValue.json(active),
            "overridden": overridden,
        },
    )
