"""What changed, told once: ai_catalog_changes holds exactly the changes syncs made, and the digest a local webhook
receives names them. A real local HTTP server, a real Postgres, the real 2026-05-16 catalog and endpoints."""

import copy
import json
import re
from decimal import Decimal, InvalidOperation

import pytest
from conftest import failure_text, materialization_metadata, serve_real_day, user_guides
from werkzeug import Response

from catalog_pipeline.definitions import build_defs
from catalog_pipeline.resources.openrouter import OpenRouterClient
from catalog_pipeline.resources.webhook import AlertWebhook

FEED = (
    "SELECT kind, openrouter_id, tag, subject, old_value, new_value FROM ai_catalog_changes WHERE dagster_run_id = %s"
)


def _sync(catalog_db, base_url, webhook_url=None):
    client = OpenRouterClient(base_url=base_url, backoff_seconds=0.01, max_retries=2, endpoints_per_second=1000)
    defs = build_defs(client, catalog_db, changes_webhook=AlertWebhook(url=webhook_url, ui_url="https://dagster.test"))
    result = defs.resolve_job_def("sync_openrouter_models").execute_in_process(raise_on_error=False)
    assert result.success, failure_text(result)
    return result


def _normal(value):
    try:
        return Decimal(value).normalize()
    except (InvalidOperation, TypeError):
        return value


def _feed(pg, run_id) -> set[tuple]:
    return {(*row[:4], _normal(row[4]), _normal(row[5])) for row in pg.execute(FEED, (run_id,)).fetchall()}


def test_two_syncs_of_the_handwritten_catalog_tell_their_changes_once(catalog_db, pg, openrouter, handwritten_catalog,
                                                                      httpserver):  # fmt: skip
    first = _sync(catalog_db, openrouter.serve(handwritten_catalog))
    added = _feed(pg, first.run_id)
    assert {(k, m) for k, m, *_ in added if k == "model_added"} == {
        ("model_added", m["id"]) for m in handwritten_catalog["data"]
    }
    changed = copy.deepcopy(handwritten_catalog)
    gone = changed["data"].pop()["id"]
    model = changed["data"][0]
    old = pg.execute(
        "SELECT price_per_million FROM ai_model_prices WHERE openrouter_id = %s AND component = 'prompt' "
        "AND condition = '' AND valid_to IS NULL",
        (model["id"],),
    ).fetchone()[0]
    model["pricing"]["prompt"] = format(old * 2 / 1_000_000, "f")
    second = _sync(catalog_db, openrouter.serve(changed))
    feed = _feed(pg, second.run_id)
    assert ("model_removed", gone, None, None, None, None) in feed
    assert ("price_changed", model["id"], None, "prompt", _normal(str(old)), _normal(str(old * 2))) in feed
    # Its endpoints are derived from its prices here (endpoint_data.py): they move too.
    assert {k for k, *_ in feed} <= {"model_removed", "price_changed", "endpoint_removed", "endpoint_price_changed"}
    report = materialization_metadata(second, "catalog_changes")["change_report"]
    assert f"`{model['id']}` prompt: " in report and "(+100.0 %)" in report and f"`{gone}`" in report

    third = _sync(catalog_db, openrouter.serve(changed))
    assert _feed(pg, third.run_id) == set()
    assert materialization_metadata(third, "catalog_changes")["changes"] == 0


@pytest.mark.real_data
def test_the_feed_holds_exactly_the_edits_between_two_real_syncs_and_the_digest_names_them(
    real_file, catalog_db, pg, openrouter, httpserver
):
    catalog = real_file("2026-05-16_mddb_openrouter-models.json")
    saved = real_file("2026-05-16_mddb_openrouter-endpoints.json")["data"]
    owners = {e["modelId"]: e for e in saved if e["modelId"] == e["response"]["data"]["id"]}
    served = [
        m
        for m in catalog["data"]
        if len(owners.get(m["id"], {}).get("response", {}).get("data", {}).get("endpoints", [])) > 1
    ]
    new, gone, back, up, down, gains, loses, flips = (m["id"] for m in served[:8])
    tags = {m: [ep["tag"] for ep in owners[m]["response"]["data"]["endpoints"]] for m in owners}
    slugs = sorted({t.split("/")[0] for ts in tags.values() for t in ts})
    zdr = {"data": [{"model_id": flips, "tag": tags[flips][0], "provider_name": "x"}]}

    def day(models, answers, providers, zero):
        listing = {**catalog, "data": models}
        if "total_count" in catalog:
            listing["total_count"] = len(models)
        provider_list = {
            "data": [{"slug": s, "name": s, "headquarters": "US", "datacenters": ["US"]} for s in providers]
        }
        serve_real_day(openrouter.server, listing, answers, provider_list, zero)
        return openrouter.base_url

    without = [m for m in catalog["data"] if m["id"] != new]
    _sync(catalog_db, day(without, saved, slugs, zdr))
    _sync(catalog_db, day([m for m in without if m["id"] != back], saved, slugs, zdr))

    # The edits: a model added, one removed, one back; a prompt price up and one down; a context window shrunk; an
    # endpoint gained (at a new provider) and one lost; a zero-retention flag flipped off.
    models = copy.deepcopy([m for m in catalog["data"] if m["id"] != gone])
    by_id = {m["id"]: m for m in models}
    by_id[up]["pricing"]["prompt"] = format(Decimal(by_id[up]["pricing"]["prompt"]) * 2, "f")
    by_id[down]["pricing"]["prompt"] = format(Decimal(by_id[down]["pricing"]["prompt"]) / 2, "f")
    by_id[down]["context_length"] = by_id[down]["context_length"] // 2
    answers = copy.deepcopy(saved)
    for entry in answers:
        endpoints = entry["response"]["data"]["endpoints"]
        if entry["modelId"] == gains:
            endpoints.append({**copy.deepcopy(endpoints[0]), "tag": "newprovider", "provider_name": "NewProvider"})
        if entry["modelId"] == loses:
            lost = endpoints.pop()["tag"]
    old = {
        (m, c): v
        for m, c, v in pg.execute(
            "SELECT openrouter_id, component, price_per_million FROM ai_model_prices "
            "WHERE valid_to IS NULL AND condition = '' AND component = 'prompt' AND openrouter_id = ANY(%s)",
            ([up, down],),
        )
    }
    context = pg.execute("SELECT context_length FROM ai_models WHERE openrouter_id = %s", (down,)).fetchone()[0]
    pg.execute("UPDATE ai_models SET is_curated = true WHERE openrouter_id = %s", (down,))  # its price is cut
    base = day(models, answers, [*slugs, "newprovider"], {"data": []})
    httpserver.expect_request("/hook", method="POST").respond_with_response(Response("ok"))  # the digest's webhook
    edited = _sync(catalog_db, base, httpserver.url_for("/hook"))

    expected = {
        ("model_added", new, None, None, None, None),
        ("model_removed", gone, None, None, None, None),
        ("model_returned", back, None, None, None, None),
        ("price_changed", up, None, "prompt", _normal(str(old[(up, "prompt")])), _normal(str(old[(up, "prompt")] * 2))),
        ("price_changed", down, None, "prompt", _normal(str(old[(down, "prompt")])),
         _normal(str(old[(down, "prompt")] / 2))),
        ("context_changed", down, None, "context_length", _normal(str(context)), _normal(str(context // 2))),
        ("endpoint_added", gains, "newprovider", None, None, None),
        ("endpoint_removed", loses, lost, None, None, None),
        ("zero_data_retention_changed", flips, tags[flips][0], "zero_data_retention", "true", "false"),
        ("provider_added", None, None, "newprovider", None, None),
        *(("endpoint_added", new, t, None, None, None) for t in tags[new]),
        *(("endpoint_removed", gone, t, None, None, None) for t in tags[gone]),
        *(("endpoint_returned", back, t, None, None, None) for t in tags[back]),
    }  # fmt: skip
    assert _feed(pg, edited.run_id) == expected

    [posted] = [json.loads(r.data)["text"] for r, _ in httpserver.log if r.path == "/hook"]
    assert f"https://dagster.test/runs/{edited.run_id}" in posted
    for model_id in (new, gone, up, down, flips):
        assert f"`{model_id}`" in posted, model_id
    assert "(+100.0 %)" in posted and "(-50.0 %)" in posted
    assert posted == materialization_metadata(edited, "catalog_changes")["change_report"]
    # The README's two questions answer: this week's changes, and the price cut on the curated model.
    readme = [b for b in re.findall(r"```sql\n(.*?)```", user_guides()[0], flags=re.S) if "ai_catalog_changes" in b]
    week, cuts = [s.strip() for s in readme[0].split(";") if "ai_catalog_changes" in s]
    assert len(pg.execute(week).fetchall()) >= len(expected)
    assert [(r[1], r[2]) for r in pg.execute(cuts).fetchall()] == [(down, "prompt")]

    base = day(models, answers, [*slugs, "newprovider"], {"data": []})  # the same day again (the log starts afresh)
    httpserver.expect_request("/hook", method="POST").respond_with_response(Response("ok"))
    again = _sync(catalog_db, base, httpserver.url_for("/hook"))
    assert _feed(pg, again.run_id) == set()
    assert [r for r, _ in httpserver.log if r.path == "/hook"] == []  # nothing changed: nothing posted


def test_a_catalog_synced_before_the_feed_shows_its_earlier_changes_after_the_migration(
    catalog_db, pg, openrouter, handwritten_catalog
):
    """The feed's own tables emptied and its migration run again, as on a database synced before it existed: the
    models added and removed (as the tables tell them now) and every price move since prices were dated."""
    first = _sync(catalog_db, openrouter.serve(handwritten_catalog))
    changed = copy.deepcopy(handwritten_catalog)
    gone = changed["data"].pop()["id"]
    changed["data"][0]["pricing"]["completion"] = "0.00009"
    second = _sync(catalog_db, openrouter.serve(changed))
    before = {(k, m, t, s, o, n) for k, m, t, s, o, n in pg.execute(
        "SELECT kind, openrouter_id, tag, subject, old_value, new_value FROM ai_catalog_changes"
    )}  # fmt: skip
    pg.execute("DROP TABLE ai_model_listings, ai_model_endpoint_listings, ai_provider_listings, "
               "ai_model_context_lengths CASCADE")  # fmt: skip
    pg.execute("DELETE FROM schema_migrations WHERE version LIKE '018_%'")
    catalog_db.ensure_schema()
    after = {(k, m, t, s, o, n) for k, m, t, s, o, n in pg.execute(
        "SELECT kind, openrouter_id, tag, subject, old_value, new_value FROM ai_catalog_changes"
    )}  # fmt: skip
    assert after == before
    assert ("model_removed", gone, None, None, None, None) in after
    assert ("price_changed", changed["data"][0]["id"], None, "completion") in {a[:4] for a in after}
    assert {first.run_id, second.run_id} >= {r[0] for r in pg.execute("SELECT dagster_run_id FROM ai_catalog_changes "
                                                                       "WHERE kind = 'price_changed'")}  # fmt: skip
