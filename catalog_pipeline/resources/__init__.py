"""The two resources a sync needs: the OpenRouter API and the catalog's Postgres."""

from catalog_pipeline.resources.openrouter import OpenRouterClient, OpenRouterError
from catalog_pipeline.resources.postgres import CatalogDatabase, CatalogDatabaseError

__all__ = ["CatalogDatabase", "CatalogDatabaseError", "OpenRouterClient", "OpenRouterError"]
