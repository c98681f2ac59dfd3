"""ai_catalog_changes: the reads of the change feed."""

from __future__ import annotations

import psycopg

from catalog_pipeline.rules.changes import Change


def run_changes(conn: psycopg.Connection, run_id: str) -> list[Change]:
    """Every change one Dagster run made, in a stable order."""
    rows = conn.execute(
        """SELECT changed_at, kind, openrouter_id, tag, subject, old_value, new_value, dagster_run_id
             FROM ai_catalog_changes WHERE dagster_run_id = %s
            ORDER BY kind, openrouter_id COLLATE "C", tag COLLATE "C", subject COLLATE "C\"""",
        (run_id,),
    )
    return [Change(*row) for row in rows]
