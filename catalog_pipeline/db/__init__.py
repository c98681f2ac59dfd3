"""Every SQL statement the project runs, and the one write engine; no Dagster."""


class CatalogDatabaseError(RuntimeError):
    """The catalog database could not be reached, migrated or written. Messages never contain credentials."""
