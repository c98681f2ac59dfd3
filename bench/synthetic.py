"""Synthetic catalogs of any size, cloned from the real catalog's model objects with new ids and perturbed prices."""

from __future__ import annotations

import json
import os
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURE = (
    REPO.parent / "shared" / "fixtures" / "openrouter" / "2026-06-24_kn0ws_openrouter-models_full-catalog.json"
)
FALLBACK_FIXTURE = REPO / "tests" / "data" / "handwritten_catalog.json"


def fixture_path() -> Path:
    folder = os.environ.get("CATALOG_FIXTURES_DIR")
    if folder:
        candidate = Path(folder) / DEFAULT_FIXTURE.name
        if candidate.exists():
            return candidate
    return DEFAULT_FIXTURE if DEFAULT_FIXTURE.exists() else FALLBACK_FIXTURE


def _perturb(price: Any, rng: random.Random) -> Any:
    if not isinstance(price, str):
        return price
    try:
        value = Decimal(price)
    except ArithmeticError:
        return price
    if value <= 0:
        return price
    return str((value * Decimal(rng.randint(50, 150)) / 100).normalize())


def synthetic_catalog(size: int, seed: int = 7) -> list[dict[str, Any]]:
    """`size` models cloned from the real catalog, with new ids and perturbed prices."""
    templates = json.loads(fixture_path().read_text())["data"]
    rng = random.Random(seed)
    models = []
    for i in range(size):
        template = templates[i % len(templates)]
        model = dict(template)  # shallow: descriptions and parameter lists are shared, as in a real parse
        model["id"] = f"{template['id']}-syn{i}"
        model["pricing"] = {k: _perturb(v, rng) for k, v in template["pricing"].items()}
        models.append(model)
    return models
