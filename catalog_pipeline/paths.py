"""Where the project keeps its files: migrations, and local state (embedded Postgres, raw fetches)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = Path(os.environ.get("CATALOG_SQL_DIR", PROJECT_ROOT / "sql"))


def state_dir() -> Path:
    """CATALOG_STATE_DIR, else .catalog_state/ in the project checkout (created on demand)."""
    path = Path(os.environ.get("CATALOG_STATE_DIR") or PROJECT_ROOT / ".catalog_state")
    path.mkdir(parents=True, exist_ok=True)
    return path
