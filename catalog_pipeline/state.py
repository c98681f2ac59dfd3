"""Where the project keeps local state: the embedded Postgres's data and the raw fetch archives."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """CATALOG_STATE_DIR, else .catalog_state/ in the working directory (created on demand)."""
    path = Path(os.environ.get("CATALOG_STATE_DIR") or ".catalog_state").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
