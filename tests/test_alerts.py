"""Alerts through a real local webhook: a failed run and failed checks are posted; a dead webhook fails no tick."""

import copy
import socket

import pytest
from conftest import run_sync
from dagster import DagsterInstance, SkipReason, build_run_status_sensor_context, build_sensor_context
from pytest_httpserver import HTTPServer

from catalog_pipeline.ops import AlertWebhook, alert_on_failed_checks, alert_on_failed_run
from catalog_pipeline.resources.openrouter import OpenRouterClient

KEY = "sk-or-v1-alert-test-key-000000"


@pytest.fixture
def webhook():
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    server.start()
    yield server
    server.clear()
    server.stop()


def _posted(server: HTTPServer) -> list[str]:
    return [request.get_json()["text"] for request, _ in server.log]


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"


def _failed_run(catalog_db, httpserver, instance):
    httpserver.expect_request("/api/v1/models").respond_with_data(f"denied; your header was Bearer {KEY}", status=403)
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), api_key=KEY, backoff_seconds=0.01)
    result = run_sync(catalog_db, "", client=client, instance=instance)
    assert not result.success
    return result


def _run_failure_context(instance, result, alert_webhook, catalog_db, client):
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    return build_run_status_sensor_context(
        sensor_name="alert_on_failed_run",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure,
        resources={"alert_webhook": alert_webhook, "catalog_db": catalog_db, "openrouter": client},
    ).for_run_failure()


def test_a_failed_run_is_posted_with_its_link_step_and_scrubbed_error(catalog_db, httpserver, webhook):
    alert_webhook = AlertWebhook(url=webhook.url_for("/hook"), ui_url="https://dagster.example.com")
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), api_key=KEY, backoff_seconds=0.01)
    with DagsterInstance.ephemeral() as instance:
        result = _failed_run(catalog_db, httpserver, instance)
        alert_on_failed_run(_run_failure_context(instance, result, alert_webhook, catalog_db, client))
    [text] = _posted(webhook)
    assert "*sync_openrouter_models* failed" in text
    assert f"https://dagster.example.com/runs/{result.run_id}" in text
    assert "step `raw_openrouter_models`" in text and "HTTP 403" in text
    assert KEY not in text and "Bearer ***" in text


def test_failed_and_warn_checks_are_posted_once(catalog_db, openrouter, handwritten_catalog, webhook):
    alert_webhook = AlertWebhook(url=webhook.url_for("/hook"))
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources={"alert_webhook": alert_webhook})
        assert run_sync(catalog_db, openrouter.serve(handwritten_catalog), instance=instance).success
        assert isinstance(alert_on_failed_checks(context), SkipReason)  # the first tick starts from now
        assert _posted(webhook) == []
        odd = copy.deepcopy(handwritten_catalog)
        odd["data"][0]["pricing"]["prompt"] = "0.5"  # $500,000 per million tokens
        result = run_sync(catalog_db, openrouter.serve(odd), instance=instance)
        context = build_sensor_context(
            instance=instance, cursor=context.cursor, resources={"alert_webhook": alert_webhook}
        )
        assert "alerted on" in alert_on_failed_checks(context).skip_message
        [text] = _posted(webhook)
        assert "check *prices_sane* on `ai_models_table` failed (WARN)" in text
        assert f"/runs/{result.run_id}" in text and odd["data"][0]["id"] in text
        assert "price_moves" in text  # a 200,000-fold move is a WARN too
        # The next tick has nothing new to say.
        context = build_sensor_context(
            instance=instance, cursor=context.cursor, resources={"alert_webhook": alert_webhook}
        )
        alert_on_failed_checks(context)
        assert len(_posted(webhook)) == 1


def test_a_dead_webhook_fails_no_tick_and_no_url_sends_nothing(catalog_db, openrouter, httpserver, handwritten_catalog):
    client = OpenRouterClient(base_url=httpserver.url_for("/api/v1"), api_key=KEY, backoff_seconds=0.01)
    for alert_webhook in (AlertWebhook(url=_closed_port_url(), timeout_seconds=1), AlertWebhook()):
        with DagsterInstance.ephemeral() as instance:
            result = _failed_run(catalog_db, httpserver, instance)
            alert_on_failed_run(_run_failure_context(instance, result, alert_webhook, catalog_db, client))
            context = build_sensor_context(instance=instance, resources={"alert_webhook": alert_webhook})
            alert_on_failed_checks(context)
            odd = copy.deepcopy(handwritten_catalog)
            odd["data"][0]["pricing"]["prompt"] = "0.5"
            run_sync(catalog_db, openrouter.serve(odd), instance=instance)
            context = build_sensor_context(
                instance=instance, cursor=context.cursor, resources={"alert_webhook": alert_webhook}
            )
            skipped = alert_on_failed_checks(context)
            assert "no alert sent" in skipped.skip_message
            before = context.cursor
            again = build_sensor_context(instance=instance, cursor=before, resources={"alert_webhook": alert_webhook})
            assert alert_on_failed_checks(again).skip_message == "no new failed check"  # the cursor moved on
        httpserver.clear()
