from catalog_pipeline.assets.changes import catalog_changes
from catalog_pipeline.assets.checks import (
    benchmark_scores_plausible,
    catalog_not_truncated,
    curated_models_expiring,
    endpoint_prices_sane,
    endpoint_providers_known,
    endpoints_cover_catalog,
    prices_sane,
    zero_data_retention_fresh,
)
from catalog_pipeline.assets.endpoints import ai_model_endpoints_table, raw_openrouter_endpoints
from catalog_pipeline.assets.models import ai_models_table, classified_models, raw_openrouter_models
from catalog_pipeline.assets.providers import ai_providers_table, raw_openrouter_providers

catalog_assets = [
    raw_openrouter_models,
    classified_models,
    ai_models_table,
    raw_openrouter_endpoints,
    ai_model_endpoints_table,
    raw_openrouter_providers,
    ai_providers_table,
    catalog_changes,
]
catalog_checks = [
    catalog_not_truncated,
    prices_sane,
    benchmark_scores_plausible,
    curated_models_expiring,
    endpoint_prices_sane,
    endpoints_cover_catalog,
    zero_data_retention_fresh,
    endpoint_providers_known,
]
CATALOG_CHECK_KEYS = [
    *(key for check in catalog_checks for key in check.check_keys),
    *ai_models_table.check_keys,
]
