"""Secrets never leave the process: anything the project writes (errors, logs, metadata, rows) is scrubbed."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from catalog_pipeline.db import CatalogDatabaseError


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
    return openrouter.scrub(scrub_url(text, catalog_db.url))


def scrub(text: str, *secrets: str | None) -> str:
    """The text with every secret (and its percent-decoded form) replaced by ***."""
    for secret in secrets:
        for form in {secret, unquote(secret)} if secret else ():
            if len(form) >= 4:  # a shorter one would blank out ordinary words
                text = text.replace(form, "***")
    return text


def describe_url(url: str) -> str:
    """host:port/dbname of a connection URL, without user or password, safe to log."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparseable DATABASE_URL>"
    if parts.scheme.startswith("postgres"):
        host = parts.hostname or "local socket"
        return f"{host}{f':{port}' if port else ''}{parts.path or '/'}"
    return "<DATABASE_URL in key=value form>"


def scrub_url(message: str, url: str | None) -> str:
    """The message with the URL and its password removed."""
    if not url:
        return message
    return scrub(message.replace(url, describe_url(url)), url_password(url))


def check_url(url: str) -> None:
    """Refuse a DATABASE_URL that would be misread, with advice that names no part of it.

    An unencoded '#', '/' or '?' in the password ends the URL's host part early; an '@' makes the host start
    inside the password. Either way the driver's own error would quote a piece of the password.
    """
    if "://" not in url:
        return  # key=value conninfo: the driver parses it
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a non-numeric port
        ambiguous = parts.netloc.count("@") > 1 or bool(parts.fragment)
    except ValueError:
        ambiguous = True
    if ambiguous or not parts.scheme.startswith("postgres"):
        raise CatalogDatabaseError(
            "DATABASE_URL cannot be read as postgresql://user:password@host:port/database. If the password "
            "holds '@', '#', '/', '?' or '%', percent-encode them (%40, %23, %2F, %3F, %25)."
        )
