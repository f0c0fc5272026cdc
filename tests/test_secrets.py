"""Passwords in server URLs never reach the UI, and a launch cannot reach them: the real
webserver, asked through the GraphQL API its pages use, names each URL's variable and never
its value, and refuses any resource config at launch (the resources are bound fixed in
definitions.py), so a launch can neither redirect a load nor pull a variable into a log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tests.webserver import Webserver, webserver

SECRETS = {
    "INVOICES_DB_URL": "postgresql://platform:pw-invoices-7f3a@127.0.0.1:1/invoices",
    "PURCHASES_DB_URL": "postgresql://platform:pw-purchases-7f3a@127.0.0.1:1/purchases",
    "ECOMMERCE_DB_URL": "postgresql://platform:pw-ecommerce-7f3a@127.0.0.1:1/ecommerce",
    "MONGODB_URI": "mongodb://platform:pw-mongo-7f3a@127.0.0.1:1/?authSource=admin",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
    "SPARK_REMOTE": "sc://127.0.0.1:1/;token=pw-spark-7f3a",
    # the object store (issue 22): the secret key and a session token
    "LANDING_URL": "s3://landing-bucket/prefix",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
    "AWS_ACCESS_KEY_ID": "platform-key-id",
    "AWS_SECRET_ACCESS_KEY": "pw-aws-secret-7f3a",
    "AWS_SESSION_TOKEN": "pw-aws-token-7f3a",
    # the Iceberg catalog's database (issue 23)
    "ICEBERG_CATALOG_URL": "postgresql://platform:pw-catalog-7f3a@127.0.0.1:1/catalog",
    # the retail database as a CDC source (issue 24)
    "RETAIL_DB_URL": "mysql://retail:pw-retail-7f3a@127.0.0.1:1/retail",
}
PASSWORDS = ("pw-invoices-7f3a", "pw-purchases-7f3a", "pw-ecommerce-7f3a", "pw-mongo-7f3a",
             "pw-spark-7f3a", "pw-aws-secret-7f3a", "pw-aws-token-7f3a", "pw-catalog-7f3a",
             "pw-retail-7f3a")
# (resource, field, the variable it is bound to)
BOUND = [("invoices_db", "url", "INVOICES_DB_URL"), ("purchases_db", "url", "PURCHASES_DB_URL"),
         ("ecommerce_db", "url", "ECOMMERCE_DB_URL"), ("docstore", "uri", "MONGODB_URI"),
         ("kafka", "bootstrap_servers", "KAFKA_BOOTSTRAP_SERVERS"),
         ("spark", "remote", "SPARK_REMOTE"),
         ("paths", "aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
         ("paths", "aws_session_token", "AWS_SESSION_TOKEN"),
         ("paths", "iceberg_catalog_url", "ICEBERG_CATALOG_URL"),
         ("retail_db", "url", "RETAIL_DB_URL")]
# issue 21, item 4: the document store's database read from the invoices URL at launch
ISSUE_LAUNCH = {"resources": {"docstore": {"config": {"database": {"env": "INVOICES_DB_URL"}}}}}

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


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[Webserver]:
    """`dagster-webserver` over the code location, every URL variable carrying a password."""
    with webserver(tmp_path, SECRETS) as server:
        yield server
    output = server.log.read_text()
    leaked = [p for p in PASSWORDS if p in output]
    assert not leaked, f"a password reached the webserver's log: {leaked}"


@pytest.mark.integration
def test_no_password_reaches_the_ui(ui):
    answers = {name: ui.graphql(q) for name, q in
               (("resources", RESOURCES), ("assets", ASSETS), ("instigators", INSTIGATORS))}
    text = json.dumps(answers)
    leaked = [p for p in PASSWORDS if p in text]
    assert not leaked, f"the UI shows passwords: {leaked}"
    # ...and it does show where each URL comes from: the variable, not its value
    repo = answers["resources"]["workspaceOrError"]["locationEntries"][0][
        "locationOrLoadError"]["repositories"][0]
    resources = {r["name"]: r for r in repo["allTopLevelResourceDetails"]}
    for name, field, variable in BOUND:
        assert f"`{field}` from ${variable}" in resources[name]["description"], name
    # nothing of a resource can be set at launch, so the page lists no field to set
    assert all(not r["configFields"] and not r["configuredValues"] for r in resources.values())
    assert len(answers["assets"]["assetNodes"]) > 30


@pytest.mark.integration
def test_a_launch_cannot_reconfigure_a_resource(ui):
    """The issue's launch (the document store's database from INVOICES_DB_URL) and a
    literal redirect of the invoices database are refused; no run is created."""
    for job, resource in (("customers_insights_job", ISSUE_LAUNCH["resources"]),
                          ("__ASSET_JOB", {"invoices_db": {"config": {
                              "url": "postgresql://other@elsewhere:5432/other"}}})):
        answer = ui.launch(job, {"resources": resource})
        assert answer["__typename"] == "RunConfigValidationInvalid", answer
        assert "unexpected config entry" in json.dumps(answer["errors"])
        assert not [p for p in PASSWORDS if p in json.dumps(answer)]
    runs = ui.graphql("{ runsOrError { ... on Runs { count } } }")["runsOrError"]
    assert runs == {"count": 0}


def test_the_issues_launch_is_refused_in_process(monkeypatch, tmp_path):
    monkeypatch.setenv("INVOICES_DB_URL", SECRETS["INVOICES_DB_URL"])
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path))
    from definitions import defs

    job = defs.resolve_job_def("customers_insights_job")
    with pytest.raises(dg.DagsterInvalidConfigError, match="unexpected config entry"):
        job.execute_in_process(run_config=ISSUE_LAUNCH,
                               instance=dg.DagsterInstance.ephemeral())


def test_op_config_cannot_carry_a_secret(monkeypatch, tmp_path, capfd):
    """Op config strings can be read from a variable at launch (`{"env": ...}`); one that
    carries a secret fails the step at its start, once, naming the field and the variable."""
    from definitions import domain_defs
    from resources import build_resources

    monkeypatch.setenv("INVOICES_DB_URL", SECRETS["INVOICES_DB_URL"])
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path))
    job = domain_defs("invoices", build_resources()).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        run_config={"ops": {"invoices__raw_invoices": {"config": {
            "files": ["invoices_2026-11-05.csv", {"env": "INVOICES_DB_URL"}]}}}},
        partition_key="2026-11-05", asset_selection=[dg.AssetKey(["invoices", "raw_invoices"])],
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1  # not retried
    message = failures[0].step_failure_data.error.message
    assert "launch config `files` carries a secret (INVOICES_DB_URL)" in message, message
    logged = dg.serialize_value(result.all_events) + "".join(capfd.readouterr())
    assert "pw-invoices-7f3a" not in logged
