from catalog_pipeline.assets.catalog import ai_models_table, classified_models, raw_openrouter_models
from catalog_pipeline.assets.checks import catalog_not_truncated
from catalog_pipeline.assets.endpoints import ai_model_endpoints_table, raw_openrouter_endpoints

catalog_assets = [
    raw_openrouter_models,
    classified_models,
    ai_models_table,
    raw_openrouter_endpoints,
    ai_model_endpoints_table,
]
catalog_checks = [catalog_not_truncated]
CATALOG_CHECK_KEYS = [
    *catalog_not_truncated.check_keys,
    *ai_models_table.check_keys,
    *ai_model_endpoints_table.check_keys,
]

__all__ = [
    "CATALOG_CHECK_KEYS",
    "ai_models_table",
    "catalog_assets",
    "catalog_checks",
    "catalog_not_truncated",
    "classified_models",
    "raw_openrouter_models",
]
