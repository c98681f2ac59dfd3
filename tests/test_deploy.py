"""The deployment files, tested as far as a machine without Docker can: they parse and name the real modules."""

import importlib
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_compose_runs_postgres_the_code_server_the_webserver_and_the_daemon():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "code", "webserver", "daemon"}
    assert services["code"]["command"][:3] == ["dagster", "code-server", "start"]
    assert services["webserver"]["command"][0] == "dagster-webserver"
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    for name in ("code", "webserver", "daemon"):
        environment = services[name]["environment"]
        assert environment["DAGSTER_PG_URL"].startswith("postgresql://dagster:${DAGSTER_DB_PASSWORD")
        assert environment["DATABASE_URL"].startswith("postgresql://catalog:${CATALOG_DB_PASSWORD")
    assert services["webserver"]["ports"] == ["127.0.0.1:3000:3000"]  # not exposed beyond the host
    assert (DEPLOY / services["postgres"]["volumes"][1].split(":")[0]).exists()


def test_the_image_starts_the_real_code_location():
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    command = next(line for line in lines if line.startswith("CMD "))
    args = yaml.safe_load(command.removeprefix("CMD "))
    module = args[args.index("-m") + 1]
    assert importlib.import_module(module).defs is not None
    assert args[args.index("--location-name") + 1] == "catalog_pipeline"
    compose = yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())
    assert compose["services"]["code"]["command"] == args
    # What the image copies exists, and the workspace it gives the webserver names that code server.
    for line in lines:
        if line.startswith("COPY "):
            for source in shlex.split(line)[1:-1]:
                assert (DEPLOY.parent / source).exists(), source
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    server = workspace["load_from"][0]["grpc_server"]
    assert (server["host"], server["port"], server["location_name"]) == ("code", 4000, "catalog_pipeline")
    assert "/opt/dagster/workspace.yaml" in compose["services"]["daemon"]["command"]


def test_the_env_file_the_readme_asks_for_is_ignored_by_git():
    """`.env` holds DATABASE_URL and OPENROUTER_API_KEY (README, *The Dagster UI*): `git add .` must not commit it."""
    repo = DEPLOY.parent
    if not (repo / ".git").exists():
        pytest.skip("not a git checkout (an installed package): nothing to commit from")
    for path in (".env", "deploy/.env"):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=repo, check=False)
        assert ignored.returncode == 0, f"{path} is not ignored by git"


def test_the_readme_is_a_users_guide_and_links_the_reference():
    """Under 200 lines; the schema, the guarantees and operations live in docs/, each linked and present."""
    repo = DEPLOY.parent
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 200
    for page in ("docs/schema.md", "docs/guarantees.md", "docs/operations.md", "bench/README.md"):
        assert f"]({page})" in readme and (repo / page).is_file(), page
