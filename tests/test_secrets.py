"""Passwords in server URLs never reach the UI: the real webserver, asked through the GraphQL
API its pages use, shows each URL as a reference to its environment variable."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SECRETS = {
    "INVOICES_DB_URL": "postgresql://platform:pw-invoices-7f3a@127.0.0.1:1/invoices",
    "PURCHASES_DB_URL": "postgresql://platform:pw-purchases-7f3a@127.0.0.1:1/purchases",
    "ECOMMERCE_DB_URL": "postgresql://platform:pw-ecommerce-7f3a@127.0.0.1:1/ecommerce",
    "MONGODB_URI": "mongodb://platform:pw-mongo-7f3a@127.0.0.1:1/?authSource=admin",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
}
PASSWORDS = ("pw-invoices-7f3a", "pw-purchases-7f3a", "pw-ecommerce-7f3a", "pw-mongo-7f3a")

RESOURCES = """
{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
  ... on RepositoryLocation { repositories { name
    allTopLevelResourceDetails { name description
      configFields { name description }
      configuredValues { key value type }
      nestedResources { name } }
} } } } } } }
"""
ASSETS = """
{ assetNodes { assetKey { path } description opName
    metadataEntries { label description ... on TextMetadataEntry { text } }
    requiredResources { resourceKey } } }
"""
INSTIGATORS = """
{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
  ... on RepositoryLocation { repositories {
    sensors { name description }
    schedules { name description }
    jobs { name description }
} } } } } } }
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def webserver(tmp_path: Path) -> Iterator[str]:
    """`dagster-webserver` over the code location, every URL variable carrying a password."""
    port = _free_port()
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, **SECRETS, "DAGSTER_HOME": str(home),
           "PLATFORM_DATA_DIR": str(tmp_path / "data")}
    log = (tmp_path / "webserver.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-m", "definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the webserver did not start in 120 s"
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        output = (tmp_path / "webserver.log").read_text()
        leaked = [p for p in PASSWORDS if p in output]
        assert not leaked, f"a password reached the webserver's log: {leaked}"


def graphql(url: str, query: str) -> dict:
    response = httpx.post(f"{url}/graphql", json={"query": query}, timeout=60)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


@pytest.mark.integration
def test_no_password_reaches_the_ui(webserver):
    answers = {name: graphql(webserver, q) for name, q in
               (("resources", RESOURCES), ("assets", ASSETS), ("instigators", INSTIGATORS))}
    text = json.dumps(answers)
    leaked = [p for p in PASSWORDS if p in text]
    assert not leaked, f"the UI shows passwords: {leaked}"
    # ...and it does show where each URL comes from: the variable, not its value
    repo = answers["resources"]["workspaceOrError"]["locationEntries"][0][
        "locationOrLoadError"]["repositories"][0]
    values = {(r["name"], v["key"]): (v["type"], v["value"])
              for r in repo["allTopLevelResourceDetails"] for v in r["configuredValues"]}
    assert values[("invoices_db", "url")] == ("ENV_VAR", "INVOICES_DB_URL")
    assert values[("purchases_db", "url")] == ("ENV_VAR", "PURCHASES_DB_URL")
    assert values[("ecommerce_db", "url")] == ("ENV_VAR", "ECOMMERCE_DB_URL")
    assert values[("docstore", "uri")] == ("ENV_VAR", "MONGODB_URI")
    assert values[("kafka", "bootstrap_servers")] == ("ENV_VAR", "KAFKA_BOOTSTRAP_SERVERS")
    assert len(answers["assets"]["assetNodes"]) > 30
