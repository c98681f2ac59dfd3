"""OpenRouter catalog client: fetches every model the API lists, with retries and shape validation."""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from dagster import ConfigurableResource, get_dagster_logger
from pydantic import Field, PrivateAttr

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
# The default listing holds text-output models only; this asks for every output modality.
MODELS_PATH = "/models?output_modalities=all"
EMBEDDINGS_PATH = "/embeddings/models"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

log = get_dagster_logger(__name__)


class OpenRouterError(RuntimeError):
    """The catalog could not be fetched or was not the shape the sync needs.

    `transient` errors (network, 429, 5xx after every retry) may succeed later; a malformed body will not.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class FetchedCatalog:
    models: list[Any]
    sources: list[str]
    # Raw response bodies by URL, kept so a sync can be replayed from exactly what it saw.
    bodies: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    listings: list[str] = field(default_factory=list)  # "<url>: N models (M new)", for the step's one log line
    duplicate_ids: int = 0
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    _seen: set[str] = field(default_factory=set, repr=False)

    def add_listing(self, url: str, body: bytes, models: list[Any]) -> int:
        """Merge one listing's models in, keeping the first of any id seen before; returns how many were new."""
        self.sources.append(url)
        self.bodies[url] = body
        added = 0
        for model in models:
            model_id = model.get("id") if isinstance(model, dict) else None
            if isinstance(model_id, str):
                if model_id in self._seen:
                    self.duplicate_ids += 1
                    continue
                self._seen.add(model_id)
            self.models.append(model)
            added += 1
        return added


def redact_url(url: str) -> str:
    """The URL without any user:password part, for logs and errors."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        parts = parts._replace(netloc=host)
    return urlunsplit(parts)


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def parse_catalog_body(body: bytes, *, status: int, content_type: str, where: str) -> list[Any]:
    """The `data` list of a catalog response, or an OpenRouterError that says what was wrong."""
    stripped = body.lstrip()[:64].lower()
    if "html" in content_type.lower() or stripped.startswith((b"<!doctype", b"<html", b"<")):
        raise OpenRouterError(
            f"{where} returned HTML (status {status}), expected JSON with a data list. "
            "Check OPENROUTER_BASE_URL: it should end in /api/v1."
        )
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OpenRouterError(f"{where} returned invalid JSON (status {status}, {len(body)} bytes): {exc}") from None
    if not isinstance(payload, dict):
        raise OpenRouterError(f"{where} returned a JSON {type(payload).__name__}, expected an object with a data list")
    if "error" in payload and "data" not in payload:
        error = payload["error"]
        message = error.get("message") if isinstance(error, dict) else error
        code = error.get("code") if isinstance(error, dict) else None
        raise OpenRouterError(f"{where} returned an error instead of models: {message!r} (code {code})")
    if "data" not in payload:
        raise OpenRouterError(f"{where} returned JSON without a 'data' key (keys: {sorted(payload)[:10]})")
    data = payload["data"]
    if data is None:
        raise OpenRouterError(f"{where} returned 'data': null, expected a list of models")
    if not isinstance(data, list):
        raise OpenRouterError(f"{where} returned 'data' as a {type(data).__name__}, expected a list of models")
    # Individual bad models are set aside later; a list with no model object at all is a broken response.
    if data and not any(isinstance(m, dict) and isinstance(m.get("id"), str) for m in data):
        raise OpenRouterError(f"{where} returned {len(data)} entries, none of them a model object with a string id")
    return data


class OpenRouterClient(ConfigurableResource):
    """Reads OpenRouter's model catalog over HTTP."""

    base_url: str = Field(default=DEFAULT_BASE_URL, description="OpenRouter API root (OPENROUTER_BASE_URL).")
    api_key: str | None = Field(default=None, description="Optional bearer token (OPENROUTER_API_KEY).")
    timeout_seconds: float = Field(default=30.0, description="Connect and read timeout per request.")
    max_retries: int = Field(default=4, description="Retries on 429, 5xx and network errors.")
    backoff_seconds: float = Field(default=1.0, description="First retry delay; doubles per retry.")
    max_retry_wait_seconds: float = Field(default=60.0, description="Cap on any wait, Retry-After included.")

    _sleep = PrivateAttr(default=time.sleep)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "catalog_pipeline/0.1"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def get(self, path: str, *, allow_404: bool = False) -> tuple[int, bytes, str] | None:
        """(status, body, content type) of a GET, retried on transient failures."""
        url = self._url(path)
        shown = redact_url(url)
        attempts = self.max_retries + 1
        last_problem = ""
        with requests.Session() as session:
            for attempt in range(1, attempts + 1):
                wait = min(self.backoff_seconds * 2 ** (attempt - 1), self.max_retry_wait_seconds)
                try:
                    response = session.get(url, headers=self._headers(), timeout=self.timeout_seconds)
                    body = response.content  # reads the whole body; a dropped connection raises here
                except requests.Timeout:
                    last_problem = f"no answer within {self.timeout_seconds:g}s"
                except requests.RequestException as exc:
                    last_problem = f"{type(exc).__name__}: {exc}"
                else:
                    status = response.status_code
                    if status == 404 and allow_404:
                        return None
                    if status not in _RETRY_STATUSES:
                        if status >= 400:
                            detail = body[:200].decode("utf-8", "replace")
                            hint = " Check OPENROUTER_API_KEY." if status in (401, 403) else ""
                            raise OpenRouterError(f"GET {shown} failed with HTTP {status}: {detail!r}.{hint}")
                        return status, body, response.headers.get("Content-Type", "")
                    last_problem = f"HTTP {status}"
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                    if retry_after is not None:
                        wait = min(retry_after, self.max_retry_wait_seconds)
                if attempt < attempts:
                    log.warning(
                        "GET %s: %s; retry %d/%d in %.1fs", shown, last_problem, attempt, self.max_retries, wait
                    )
                    self._sleep(wait)
        raise OpenRouterError(f"GET {shown} failed after {attempts} attempts: {last_problem}", transient=True)

    def fetch_catalog(self) -> FetchedCatalog:
        """Every model OpenRouter lists, all output modalities plus the embeddings listing, deduplicated."""
        catalog = FetchedCatalog(models=[], sources=[])
        for path, optional in ((MODELS_PATH, False), (EMBEDDINGS_PATH, True)):
            url = redact_url(self._url(path))  # every use below is a log, a note or a key: never the secret
            answer = self.get(path, allow_404=optional)
            if answer is None:
                catalog.notes.append(f"{url} answered 404; used the main listing only")
                log.warning("GET %s answered 404; continuing with the main listing", url)
                continue
            status, body, content_type = answer
            models = parse_catalog_body(body, status=status, content_type=content_type, where=url)
            added = catalog.add_listing(url, body, models)
            # Reported in the asset's one log line: each line is one more event the run stores.
            catalog.listings.append(f"{url}: {len(models)} models ({added} new)")
        return catalog
