"""The two resources a sync needs: the OpenRouter API and the catalog's Postgres."""

from catalog_pipeline.db import CatalogDatabaseError
from catalog_pipeline.resources.openrouter import OpenRouterClient, OpenRouterError
from catalog_pipeline.resources.postgres import CatalogDatabase

__all__ = ["CatalogDatabase", "CatalogDatabaseError", "OpenRouterClient", "OpenRouterError"]
