"""The same fetch, classify and upsert as the Dagster job, without Dagster: the floor for the end-to-end ratio."""

import os
import sys
import time

start = time.perf_counter()
from catalog_pipeline.catalog_db import CatalogDatabase  # noqa: E402
from catalog_pipeline.catalog_store import write_catalog  # noqa: E402
from catalog_pipeline.classification import classify_catalog  # noqa: E402
from catalog_pipeline.openrouter import OpenRouterClient  # noqa: E402

db = CatalogDatabase(url=os.environ["DATABASE_URL"])
db.ensure_schema()
catalog = OpenRouterClient(base_url=os.environ["OPENROUTER_BASE_URL"]).fetch_catalog()
result = classify_catalog(catalog.models)
with db.connect() as conn:
    outcome = write_catalog(conn, result.rows)
print(
    f"bare sync: {len(result.rows)} rows, {outcome.inserted} inserted, {time.perf_counter() - start:.3f}s",
    file=sys.stderr,
)
