"""One price history: ai_model_prices owns every dated price, and ai_model_price_history is a view over it that
keeps the periods the old table alone held."""

import shutil
from datetime import UTC, datetime
from decimal import Decimal

from catalog_pipeline.db.migrations import apply_migrations

SQL_DIR = __import__("pathlib").Path(__file__).parent.parent / "sql"
JAN, JUN, SEP = (datetime(2025, m, 1, tzinfo=UTC) for m in (1, 6, 9))


def test_the_migration_moves_the_periods_only_the_old_table_held(catalog_db, pg, tmp_path):
    """A database from before 016: a model priced since January in the old history, in ai_model_prices only since
    June (when 010 came), re-priced in September. After 016 the view still answers for March."""
    for path in sorted(SQL_DIR.glob("0*.sql")):
        if path.stem < "016":
            shutil.copy(path, tmp_path / path.name)
    with catalog_db.connect() as conn:
        apply_migrations(conn, tmp_path)
    pg.execute(
        """INSERT INTO ai_model_price_history (openrouter_id, input_cost_per_million, output_cost_per_million,
                  pricing_kind, valid_from, valid_to, dagster_run_id)
           VALUES ('acme/one', 3, 15, 'paid', %(jan)s, %(sep)s, 'old-run'),
                  ('acme/one', 2, 10, 'paid', %(sep)s, NULL, 'new-run')""",
        {"jan": JAN, "sep": SEP},
    )
    pg.execute(
        """INSERT INTO ai_model_prices (openrouter_id, component, unit, price, price_per_million, valid_from, valid_to)
           VALUES ('acme/one', 'prompt', 'token', 0.000003, 3, %(jun)s, %(sep)s),
                  ('acme/one', 'completion', 'token', 0.000015, 15, %(jun)s, %(sep)s),
                  ('acme/one', 'prompt', 'token', 0.000002, 2, %(sep)s, NULL),
                  ('acme/one', 'completion', 'token', 0.00001, 10, %(sep)s, NULL)""",
        {"jun": JUN, "sep": SEP},
    )
    assert catalog_db.ensure_schema()[0] == "016_one_price_history"
    history = pg.execute(
        "SELECT input_cost_per_million, output_cost_per_million, pricing_kind, previous_input_cost_per_million, "
        "valid_from, valid_to FROM ai_model_price_history WHERE openrouter_id = 'acme/one' ORDER BY valid_from"
    ).fetchall()
    assert history == [
        (Decimal(3), Decimal(15), "paid", None, JAN, JUN),  # moved from the old table
        (Decimal(3), Decimal(15), "paid", Decimal(3), JUN, SEP),
        (Decimal(2), Decimal(10), "paid", Decimal(3), SEP, None),
    ]
    march = pg.execute(
        "SELECT input_cost_per_million FROM ai_model_price_history WHERE openrouter_id = 'acme/one' "
        "AND valid_from <= '2025-03-01' AND (valid_to IS NULL OR valid_to > '2025-03-01')"
    ).fetchall()
    assert march == [(Decimal(3),)]
    assert pg.execute("SELECT relkind FROM pg_class WHERE relname = 'ai_model_price_history'").fetchone() == ("v",)
