"""Operating the sync as operators do: Postgres instance storage, a real webserver + daemon, a real browser."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests
from conftest import embeddings_listing, reset_schema, serve_endpoints
from dagster import DagsterInstance

from catalog_pipeline.assets import catalog_assets
from catalog_pipeline.definitions import build_defs
from catalog_pipeline.resources.openrouter import OpenRouterClient

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


def _database_next_to(url: str, name: str) -> str:
    """A fresh database `name` on the same server as `url` (dropped and recreated)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def test_sync_on_a_postgres_backed_instance(tmp_path, pg_url, catalog_db, openrouter, handwritten_catalog):
    """The shipped deploy/dagster.yaml: runs and events stored in Postgres, read back from it."""
    instance_url = _database_next_to(pg_url, "catalog_dagster_instance_test")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_PG_URL"] = instance_url
    try:
        with DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
            defs = build_defs(OpenRouterClient(base_url=openrouter.serve(handwritten_catalog)), catalog_db)
            result = defs.resolve_job_def("sync_openrouter_models").execute_in_process(instance=instance)
            assert result.success
            run_id = result.run_id
        # A fresh instance on the same database sees the run and its materializations.
        with DagsterInstance.from_config(str(home)) as reread:
            assert reread.get_run_by_id(run_id).is_success
            event = reread.get_latest_materialization_event(__import__("dagster").AssetKey("ai_models_table"))
            assert event.run_id == run_id
            assert event.asset_materialization.metadata["dagster/row_count"].value == 23
        with psycopg.connect(instance_url) as conn:
            assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
            assert (
                conn.execute(
                    "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
                ).fetchone()[0]
                == len(catalog_assets)  # one per asset of the job
            )
    finally:
        os.environ.pop("DAGSTER_PG_URL", None)


# --- a real webserver and daemon ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DagsterServices:
    def __init__(self, port: int, home: Path, env: dict[str, str], logs: Path) -> None:
        self.port, self.home, self.env, self.logs = port, home, env, logs
        self.url = f"http://127.0.0.1:{port}"
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        # The instance's storage is created here, once: the webserver, the daemon and the code server each create it
        # when it is missing, and three at once can leave Dagster's alembic_version with two heads (seen in CI).
        with DagsterInstance.from_config(str(self.home)):
            pass
        bindir = Path(sys.executable).parent
        commands = {
            "webserver": [
                str(bindir / "dagster-webserver"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-w",
                "workspace.yaml",
            ],
            "daemon": [str(bindir / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        }
        for name, command in commands.items():
            log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
            self.processes.append(
                subprocess.Popen(
                    command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/server_info", timeout=2).ok and self._location_loaded():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError("dagster-webserver did not come up:\n" + (self.logs / "webserver.log").read_text()[-3000:])

    def _location_loaded(self) -> bool:
        query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
        data = requests.post(f"{self.url}/graphql", json={"query": query}, timeout=5).json()
        entries = data["data"]["workspaceOrError"]["locationEntries"]
        return any(e["name"] == "catalog_pipeline" and e["loadStatus"] == "LOADED" for e in entries)

    def stop(self) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def services(tmp_path_factory, pg_url, httpserver_module_catalog):
    home = tmp_path_factory.mktemp("dagster_home")
    logs = tmp_path_factory.mktemp("service_logs")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "OPENROUTER_API_KEY", "DAGSTER_PG_URL")}
    env.update(
        {
            "DAGSTER_HOME": str(home),
            "DATABASE_URL": pg_url,
            "OPENROUTER_BASE_URL": httpserver_module_catalog,
            "CATALOG_STATE_DIR": str(tmp_path_factory.mktemp("state")),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    running = DagsterServices(_free_port(), home, env, logs)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def httpserver_module_catalog():
    """A module-wide local OpenRouter (pytest-httpserver is function-scoped by default)."""
    import json

    from pytest_httpserver import HTTPServer

    catalog = json.loads((Path(__file__).parent / "data" / "handwritten_catalog.json").read_text())
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/api/v1/models").respond_with_json(catalog)
    server.expect_request("/api/v1/embeddings/models").respond_with_json(embeddings_listing(catalog))
    serve_endpoints(server, {m["id"]: m for m in catalog["data"]})
    server.start()
    yield server.url_for("/api/v1")
    server.clear()
    server.stop()


def _wait_for_run(client, run_id: str, timeout: float = 240) -> str:
    from dagster import DagsterRunStatus

    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id)
        if status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
            return status.value
        time.sleep(1)
    raise AssertionError(f"run {run_id} still {status} after {timeout}s")


def _sync_over_graphql(services) -> str:
    """Launch the sync job exactly as the README's "sync now" request does, wait for it; its run id."""
    from dagster_graphql import DagsterGraphQLClient

    launch = requests.post(
        f"{services.url}/graphql",
        json={
            "query": "mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) { __typename "
            "... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }",
            "variables": {
                "p": {
                    "selector": {
                        "repositoryLocationName": "catalog_pipeline",
                        "repositoryName": "__repository__",
                        "jobName": "sync_openrouter_models",
                    },
                    "runConfigData": {},
                }
            },
        },
        timeout=30,
    ).json()
    answer = launch["data"]["launchPipelineExecution"]
    assert answer["__typename"] == "LaunchRunSuccess", launch
    run_id = answer["run"]["runId"]
    client = DagsterGraphQLClient("127.0.0.1", port_number=services.port)
    status = _wait_for_run(client, run_id)
    assert status == "SUCCESS", (services.logs / "daemon.log").read_text()[-3000:]
    return run_id


def _run_facts(services, run_prefix: str) -> tuple[float, bool]:
    """(seconds from start to end, whether its steps ran in the run's own process) of a run on the services."""
    with DagsterInstance.from_config(str(services.home)) as instance:
        run = next(r for r in instance.get_runs() if r.run_id.startswith(run_prefix))
        stats = instance.get_run_stats(run.run_id)
        messages = [entry.user_message or "" for entry in instance.all_logs(run.run_id)]
    in_process = any("steps in process" in m for m in messages) and not any("subprocess" in m for m in messages)
    return stats.end_time - stats.start_time, in_process


def test_sync_now_over_http(services, pg_url):
    """The admin "sync now" path: GraphQL launch on a real webserver, the daemon dequeues, rows land."""
    reset_schema(pg_url)
    run_id = _sync_over_graphql(services)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM ai_models WHERE is_active").fetchone()[0] == 23
        assert conn.execute("SELECT dagster_run_id FROM ai_model_sync_runs").fetchall() == [(run_id,)]


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is not installed (apt-get install -y chromium)"
        if os.environ.get("CATALOG_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CATALOG_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    return CHROMIUM


def test_materialize_all_in_the_browser(services, pg_url, chromium):
    """Headless Chromium: open the asset graph, click Materialize all, wait for success, check the rows. The run
    is in process, as the job launched over GraphQL is; both durations are printed."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    reset_schema(pg_url)
    job_run = _sync_over_graphql(services)
    reset_schema(pg_url)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        try:
            page.goto(f"{services.url}/asset-groups/openrouter_catalog@__repository__@catalog_pipeline")
            for name in ("raw_openrouter_models", "classified_models", "ai_models_table"):
                expect(page.get_by_text(name, exact=True).first).to_be_visible(timeout=60_000)
            # A first-visit "Join the Dagster community" dialog may open a moment after the page loads.
            try:
                page.get_by_role("button", name="Skip").click(timeout=8_000)
            except PlaywrightTimeout:
                pass
            page.get_by_role("button", name="Materialize all").click()
            # The launch toast links to the run; follow it and wait for the run to succeed.
            toast = page.get_by_text("Launched run")
            expect(toast).to_be_visible(timeout=60_000)
            run_prefix = toast.inner_text().split()[-1]
            page.get_by_role("link", name="View").first.click()
            page.wait_for_url(f"**/runs/{run_prefix}*", timeout=60_000)
            expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=240_000)
            page.goto(f"{services.url}/asset-groups/openrouter_catalog@__repository__@catalog_pipeline")
            expect(page.get_by_text("ai_models_table", exact=True).first).to_be_visible(timeout=60_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / "asset_lineage.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "browser_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM ai_models WHERE is_active").fetchone()[0] == 23
        assert conn.execute("SELECT outcome FROM ai_model_sync_runs").fetchall() == [("success",)]
    assert (ARTIFACTS / "asset_lineage.png").stat().st_size > 10_000
    ui_seconds, ui_in_process = _run_facts(services, run_prefix)
    job_seconds, job_in_process = _run_facts(services, job_run)
    print(f"\nMaterialize all: {ui_seconds:.2f} s; the job over GraphQL: {job_seconds:.2f} s")
    assert ui_in_process and job_in_process


def test_dg_dev_serves_the_code_location(tmp_path, pg_url, httpserver_module_catalog):
    """`dg dev` from the repo root: the webserver comes up with the code location loaded, then stops cleanly."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "OPENROUTER_API_KEY", "DAGSTER_PG_URL")}
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with DagsterInstance.from_config(str(home)):  # its storage created once, before dg dev's processes race to
        pass
    env.update(
        {
            "DAGSTER_HOME": str(home),
            "DATABASE_URL": pg_url,
            "OPENROUTER_BASE_URL": httpserver_module_catalog,
            "CATALOG_STATE_DIR": str(tmp_path / "state"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    port = _free_port()
    log_path = tmp_path / "dg_dev.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["dg", "dev", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    services = DagsterServices(port, home, env, tmp_path)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{services.url}/server_info", timeout=2).ok and services._location_loaded():
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError("dg dev did not come up:\n" + log_path.read_text()[-3000:])
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
