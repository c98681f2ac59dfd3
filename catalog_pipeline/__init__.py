"""catalog_pipeline: keeps the ai_models Postgres catalog in step with OpenRouter's model list."""
