"""Pure rules over the API's objects: no I/O, no psycopg, no Dagster."""
