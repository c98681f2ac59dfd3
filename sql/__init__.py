"""The schema migrations, applied in order; shipped inside the package as catalog_pipeline.migrations."""
