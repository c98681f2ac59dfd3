"""OpenRouter catalog client: every model the API lists, through one retrying HTTP session, shape-checked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from dagster import ConfigurableResource, get_dagster_logger
from pydantic import Field
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
# The default listing holds text-output models only; this asks for every output modality.
MODELS_PATH = "/models?output_modalities=all"
EMBEDDINGS_PATH = "/embeddings/models"
RETRY_STATUSES = (429, 500, 502, 503, 504)

log = get_dagster_logger(__name__)


class OpenRouterError(RuntimeError):
    """The catalog could not be fetched, or was not the shape the sync needs."""


@dataclass
class FetchedCatalog:
    """What the listings answered: their models in order (repeats included), and each raw body by URL."""

    models: list[Any] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)
    listed: dict[str, int] = field(default_factory=dict)  # models per listing URL
    notes: list[str] = field(default_factory=list)
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def sources(self) -> list[str]:
        return list(self.bodies)


def redact_url(url: str) -> str:
    """The URL without any user:password part, for logs and errors."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        parts = parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host)
    return urlunsplit(parts)


def parse_catalog_body(body: bytes, *, status: int, content_type: str, where: str) -> list[Any]:
    """The `data` list of a catalog response, or an OpenRouterError that says what was wrong."""
    if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
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
    """OpenRouter's model catalog over HTTP.

    Retry policy: a request that meets a network error, a timeout, 429 or a 5xx is tried again up to
    `max_retries` times, waiting `backoff_seconds` × 2ⁿ or the answer's Retry-After, never more than
    `max_retry_wait_seconds`; any other failure ends the fetch at once.
    """

    base_url: str = Field(default=DEFAULT_BASE_URL, description="OpenRouter API root (OPENROUTER_BASE_URL).")
    api_key: str | None = Field(default=None, description="Optional bearer token (OPENROUTER_API_KEY).")
    timeout_seconds: float = Field(default=30.0, description="Connect and read timeout per request.")
    max_retries: int = Field(default=4, description="Retries on 429, 5xx, timeouts and network errors.")
    backoff_seconds: float = Field(default=1.0, description="First retry delay; doubles per retry.")
    max_retry_wait_seconds: int = Field(default=60, description="Cap on any wait, Retry-After included.")

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    @contextmanager
    def session(self) -> Iterator[requests.Session]:
        """A requests.Session with the retry policy mounted and the headers set."""
        retry = Retry(
            total=self.max_retries,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.backoff_seconds,
            backoff_max=self.max_retry_wait_seconds,
            retry_after_max=self.max_retry_wait_seconds,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        with requests.Session() as session:
            adapter = HTTPAdapter(max_retries=retry)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update({"Accept": "application/json", "User-Agent": "catalog_pipeline/0.2"})
            if self.api_key:
                session.headers["Authorization"] = f"Bearer {self.api_key}"
            yield session

    def get(self, session: requests.Session, path: str) -> requests.Response:
        """The answer to a GET, after the retry policy; an OpenRouterError for what it could not get past."""
        shown = redact_url(self.url(path))
        attempts = f"failed after {self.max_retries + 1} attempts"
        try:
            response = session.get(self.url(path), timeout=self.timeout_seconds)
            response.content  # noqa: B018 - reads the whole body here, where a broken-off one raises
        except requests.RequestException as exc:
            retried = exc.args[0] if exc.args and isinstance(exc.args[0], MaxRetryError) else None
            reason = retried.reason if retried else exc
            if isinstance(reason, TimeoutError | requests.Timeout | ReadTimeoutError | ConnectTimeoutError):
                problem = f"{attempts}: no answer within {self.timeout_seconds:g}s"
            elif retried:
                problem = f"{attempts}: {type(reason).__name__}: {reason}"
            else:  # the answer broke off mid-body: not a request the policy can send again
                problem = f"failed mid-answer: {type(exc).__name__}: {exc}"
            raise OpenRouterError(f"GET {shown} {problem}") from None
        if response.status_code in RETRY_STATUSES:
            raise OpenRouterError(f"GET {shown} {attempts}: HTTP {response.status_code}")
        return response

    def fetch_catalog(self) -> FetchedCatalog:
        """Every model OpenRouter lists: all output modalities, then the embeddings listing."""
        catalog = FetchedCatalog()
        with self.session() as session:
            for path, optional in ((MODELS_PATH, False), (EMBEDDINGS_PATH, True)):
                shown = redact_url(self.url(path))
                response = self.get(session, path)
                status = response.status_code
                if status == 404 and optional:
                    catalog.notes.append(f"{shown} answered 404; used the main listing only")
                    log.warning("GET %s answered 404; continuing with the main listing", shown)
                    continue
                if status >= 400:
                    detail = response.content[:200].decode("utf-8", "replace")
                    hint = " Check OPENROUTER_API_KEY." if status in (401, 403) else ""
                    raise OpenRouterError(f"GET {shown} failed with HTTP {status}: {detail!r}.{hint}")
                models = parse_catalog_body(
                    response.content, status=status, content_type=response.headers.get("Content-Type", ""), where=shown
                )
                catalog.models += models
                catalog.bodies[shown] = response.content
                catalog.listed[shown] = len(models)
        return catalog
