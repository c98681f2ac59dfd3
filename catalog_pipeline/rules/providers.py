"""Provider rules: pure functions from GET /providers and GET /endpoints/zdr answers to rows and flags."""

from __future__ import annotations

import json
from typing import Any, NamedTuple, TypedDict

import pycountry

from catalog_pipeline.rules.parse import clean_text, text_list


class ProviderRow(TypedDict):
    """One ai_providers row as a sync writes it; its keys, in order, are the synced columns."""

    slug: str
    name: str | None
    headquarters: str | None
    datacenters: list[str] | None
    privacy_policy_url: str | None
    terms_of_service_url: str | None
    status_page_url: str | None


PROVIDER_COLUMNS: tuple[str, ...] = tuple(ProviderRow.__annotations__)


class ListingRejected(ValueError):
    """A /providers or /endpoints/zdr answer that cannot be read."""


class Providers(NamedTuple):
    rows: list[ProviderRow]
    set_aside: list[str]  # entries that are not providers, with why
    unknown_countries: dict[str, list[str]]  # slug -> codes that are no ISO 3166-1 alpha-2 code (stored as sent)


class ZeroRetention(NamedTuple):
    endpoints: frozenset[tuple[str, str]]  # (model id, tag)
    set_aside: list[str]


def listing(body: bytes) -> list[Any]:
    """The `data` list of an answer, or ListingRejected saying what was wrong."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ListingRejected(f"not JSON: {str(exc)[:120]}") from None
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise ListingRejected("no data list in the answer")
    return data


def _country(code: Any) -> bool:
    return isinstance(code, str) and pycountry.countries.get(alpha_2=code) is not None


def classify_providers(items: list[Any]) -> Providers:
    """One row per provider slug (a repeated slug keeps its first entry); an entry without a usable slug is set
    aside. Country codes are stored as sent; those ISO 3166-1 does not know are listed."""
    result, seen = Providers([], [], {}), set()
    for position, item in enumerate(items, 1):
        slug = clean_text(item.get("slug")) if isinstance(item, dict) else None
        if not slug or slug in seen:
            result.set_aside.append(f"entry {position}: {'a repeated slug' if slug else 'no slug'}")
            continue
        seen.add(slug)
        row: ProviderRow = {
            "slug": slug,
            "name": clean_text(item.get("name")),
            "headquarters": clean_text(item.get("headquarters")),
            "datacenters": text_list(item.get("datacenters")),
            "privacy_policy_url": clean_text(item.get("privacy_policy_url")),
            "terms_of_service_url": clean_text(item.get("terms_of_service_url")),
            "status_page_url": clean_text(item.get("status_page_url")),
        }
        unknown = [c for c in [row["headquarters"], *(row["datacenters"] or [])] if c is not None and not _country(c)]
        if unknown:
            result.unknown_countries[slug] = unknown
        result.rows.append(row)
    return result


def zero_retention_endpoints(items: list[Any]) -> ZeroRetention:
    """The (model id, tag) of every endpoint /endpoints/zdr lists; an entry without both is set aside."""
    endpoints, set_aside = set(), []
    for position, item in enumerate(items, 1):
        model_id = clean_text(item.get("model_id")) if isinstance(item, dict) else None
        tag = clean_text(item.get("tag")) or clean_text(item.get("provider_name")) if isinstance(item, dict) else None
        if not model_id or not tag:
            set_aside.append(f"entry {position}: no model_id and tag")
            continue
        endpoints.add((model_id, tag))
    return ZeroRetention(frozenset(endpoints), set_aside)


def zero_retention(raw: dict[str, Any]) -> tuple[ZeroRetention | None, str | None]:
    """(the endpoints /endpoints/zdr lists, None), or (None, why the list could not be had)."""
    if raw["zdr_error"]:
        return None, raw["zdr_error"]
    try:
        return zero_retention_endpoints(listing(raw["zdr"])), None
    except ListingRejected as exc:
        return None, f"/endpoints/zdr: {exc}"
