"""Raw fetch archives: every sync keeps exactly what the API answered, compressed, so it can be replayed."""

from __future__ import annotations

import gzip
import json
import shutil
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from catalog_pipeline.local_db import state_dir
from catalog_pipeline.resources.openrouter import FetchedCatalog, FetchedEndpoints, parse_catalog_body


def _write(fetched_at: datetime, run_id: str, suffix: str, document: dict) -> Path:
    """$CATALOG_STATE_DIR/raw/<UTC time>_<run id><suffix>.json.gz, written."""
    folder = state_dir() / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{fetched_at:%Y%m%dT%H%M%SZ}_{run_id[:8]}{suffix}.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(document, handle)
    return path


def _read(path: str | Path) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def archive_catalog(catalog: FetchedCatalog, run_id: str, scrub: Callable[[str], str]) -> Path:
    """Write the fetched responses, scrubbed of secrets, to $CATALOG_STATE_DIR/raw/<UTC time>_<run id>.json.gz."""
    document = {
        "fetched_at": catalog.fetched_at.isoformat(),
        "sources": catalog.sources,
        "responses": {url: scrub(body.decode("utf-8", "replace")) for url, body in catalog.bodies.items()},
    }
    return _write(catalog.fetched_at, run_id, "", document)


def archive_endpoints(fetched: FetchedEndpoints, run_id: str, scrub: Callable[[str], str]) -> Path:
    """Write each endpoints answer by path (and why the failed ones failed), and which model asked for which path,
    beside the catalog's archive."""
    document = {
        "fetched_at": fetched.fetched_at.isoformat(),
        "asked": fetched.asked,
        "answers": {k: scrub(v.decode("utf-8", "replace")) for k, v in fetched.bodies.items()},
        "failed": fetched.failed,
    }
    return _write(fetched.fetched_at, run_id, "_endpoints", document)


def load_endpoints_archive(path: str | Path) -> FetchedEndpoints:
    """The endpoints an earlier sync fetched, from its archive. An archive from before answers were kept by path
    (it has a "catalog" list instead of "asked") keyed them by model id: each id is then its own path."""
    document = _read(path)
    asked = document.get("asked") or {m: m for m in document["catalog"]}
    return FetchedEndpoints(
        asked=asked,
        bodies={k: v.encode("utf-8") for k, v in document["answers"].items()},
        failed=document["failed"],
        fetched_at=datetime.fromisoformat(document["fetched_at"]),
    )


def archive_providers(fetched: dict, run_id: str, scrub: Callable[[str], str]) -> Path:
    """Write the /providers and /endpoints/zdr answers (or why each failed) beside the catalog's archive."""
    document = {
        key: scrub(value.decode("utf-8", "replace")) if isinstance(value, bytes) else value
        for key, value in fetched.items()
    }
    return _write(datetime.fromisoformat(fetched["fetched_at"]), run_id, "_providers", document)


def load_providers_archive(path: str | Path) -> dict:
    """The providers' answers an earlier sync fetched, from its archive."""
    return {k: v.encode("utf-8") if k in ("providers", "zdr") and v is not None else v for k, v in _read(path).items()}


def load_archive(path: str | Path) -> FetchedCatalog:
    """The catalog as an earlier sync fetched it, rebuilt from its archive."""
    document = _read(path)
    catalog = FetchedCatalog(fetched_at=datetime.fromisoformat(document["fetched_at"]))
    for url in document["sources"]:
        body = document["responses"][url].encode("utf-8")
        models = parse_catalog_body(body, status=200, content_type="application/json", where=url).models
        catalog.models += models
        catalog.bodies[url] = body
        catalog.listed[url] = len(models)
    return catalog


def prune(folder: Path, keep_days: float, keep: set[Path]) -> list[Path]:
    """Delete the entries of `folder` (archives, or run folders) last changed more than `keep_days` ago, except
    those in `keep`; the deleted paths."""
    if not folder.is_dir():
        return []
    cutoff = time.time() - keep_days * 86400
    keep = {path.resolve() for path in keep}
    pruned = []
    for entry in folder.iterdir():
        if entry.resolve() in keep or entry.stat().st_mtime >= cutoff:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        pruned.append(entry)
    return pruned
