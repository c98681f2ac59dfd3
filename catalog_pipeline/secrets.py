"""Secrets never leave the process: anything the project writes (errors, logs, metadata, rows) is scrubbed."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def url_password(url: str | None) -> str | None:
    """The password of a connection URL, as written and decoded; None when it has none or cannot be parsed."""
    if not url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def scrub_resources(text: str, catalog_db: object, openrouter: object) -> str:
    """The text without the database URL and password (catalog_db) and the API key (openrouter)."""
    from catalog_pipeline.resources.postgres import scrub_url  # the resources import this module

    return openrouter.scrub(scrub_url(text, catalog_db.url))


def scrub(text: str, *secrets: str | None) -> str:
    """The text with every secret (and its percent-decoded form) replaced by ***."""
    for secret in secrets:
        for form in {secret, unquote(secret)} if secret else ():
            if len(form) >= 4:  # a shorter one would blank out ordinary words
                text = text.replace(form, "***")
    return text
