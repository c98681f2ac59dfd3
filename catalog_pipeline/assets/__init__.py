from catalog_pipeline.assets.checks import (
    catalog_not_truncated,
    curated_models_expiring,
    endpoint_prices_sane,
    endpoints_cover_catalog,
    prices_sane,
)
from catalog_pipeline.assets.endpoints import ai_model_endpoints_table, raw_openrouter_endpoints
from catalog_pipeline.assets.models import ai_models_table, classified_models, raw_openrouter_models

catalog_assets = [
    raw_openrouter_models,
    classified_models,
    ai_models_table,
    raw_openrouter_endpoints,
    ai_model_endpoints_table,
]
catalog_checks = [
    catalog_not_truncated,
    prices_sane,
    curated_models_expiring,
    endpoint_prices_sane,
    endpoints_cover_catalog,
]
CATALOG_CHECK_KEYS = [
    *(key for check in catalog_checks for key in check.check_keys),
    *ai_models_table.check_keys,
]
