"""No password reaches a run's logs: runs launched through the real webserver with a
malformed INVOICES_DB_URL (the three passwords of issue 21) fail once, with a configuration
error naming the variable, and with a well-formed URL whose password is wrong the driver's
own error is logged; in every case the password is in none of the event log (GraphQL
`logsForRun`), the compute logs, the run and event storage (every file of DAGSTER_HOME) and
the webserver's output (which carries the code server's and the run worker's)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.webserver import webserver

RAW_INVOICES = ["invoices", "raw_invoices"]
# password -> (pieces a driver quoted in the issue, what the error must say is wrong)
MALFORMED = {
    "Adv%zzSecretPw1": (("zzSecretPw1",), "has a '%' that is not followed by two hex digits"),
    "Adv Secret Pw2": (("Secret Pw2", "Adv Secret"), "contains a space"),
    "AdvSecret@Pw3": (("AdvSecret", "Pw3@"), "has more than one '@'"),
}
PROBE_ROLE, RIGHT, WRONG = "secrets_probe", "Right-Pw-5c1e", "Wrong-Pw-9d2f"


def run_invoices(tmp_path: Path, url: str) -> tuple[str, list[dict], str]:
    """One run of raw_invoices (a partition, no file landed: it still opens the invoices
    database) launched through the webserver with INVOICES_DB_URL=url: (status, the event
    log through GraphQL, everything the run left on disk and in the webserver's output)."""
    # retried 4 times: 0.5 s, 1, 2, 4 s apart instead of the default 3, 6, 12, 24 s
    with webserver(tmp_path, {"INVOICES_DB_URL": url, "STEP_RETRY_DELAY_SECONDS": "0.5"}) as ui:
        answer = ui.launch("__ASSET_JOB", assets=[RAW_INVOICES],
                           tags={"dagster/partition": "2026-11-05"})
        assert answer["__typename"] == "LaunchRunSuccess", answer
        run_id = answer["run"]["runId"]
        status = ui.wait_for_run(run_id, timeout=240)
        events = ui.logs(run_id)
    stored = [p for p in ui.home.rglob("*") if p.is_file()]
    compute_logs = [p for p in stored if p.suffix in (".err", ".out")]
    assert compute_logs, "the run left no compute log"
    disk = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in stored)
    return status, events, disk + ui.log.read_text()


def step_failures(events: list[dict], kind: str = "ExecutionStepFailureEvent") -> list[str]:
    """The error texts (message and chained causes) of the run's events of `kind`."""
    return ["\n".join([e["error"]["message"], *(c["error"]["message"]
                                                for c in e["error"]["errorChain"])])
            for e in events if e["__typename"] == kind]


def assert_nowhere(secrets: tuple[str, ...], events: list[dict], disk: str) -> None:
    logged = json.dumps(events)
    assert not [s for s in secrets if s in logged], "a password piece is in logsForRun"
    assert not [s for s in secrets if s in disk], "a password piece is on disk or in output"


@pytest.mark.integration
@pytest.mark.parametrize("password", list(MALFORMED))
def test_a_malformed_password_is_a_config_error_naming_the_variable(password, pg_url,
                                                                     tmp_path):
    pieces, problem = MALFORMED[password]
    host_and_db = pg_url.split("@", 1)[1]
    status, events, disk = run_invoices(tmp_path, f"postgresql://postgres:{password}@"
                                                  f"{host_and_db}")
    assert status == "FAILURE"
    failures = step_failures(events)
    assert len(failures) == 1, failures  # not retried: a setting does not heal
    assert "configuration error: INVOICES_DB_URL" in failures[0] and problem in failures[0]
    assert not any(e["__typename"] == "ExecutionStepUpForRetryEvent" for e in events)
    assert "configuration error: INVOICES_DB_URL" in disk  # the searched logs hold the error
    assert_nowhere((password, *pieces), events, disk)


@pytest.fixture
def probe_role(pg_server) -> str:
    """A role of the session's server that must log in with its password (scram), whatever
    the server's trust rule for everyone else: host and port/database of a fresh database."""
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {PROBE_ROLE}")
        conn.execute(f"CREATE ROLE {PROBE_ROLE} LOGIN PASSWORD '{RIGHT}'")
    hba = Path(pg_server.data_dir) / "pg_hba.conf"
    rule = f"host all {PROBE_ROLE} 127.0.0.1/32 scram-sha-256\n"
    if rule not in hba.read_text():
        hba.write_text(rule + hba.read_text())
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")
    database = pg_server.create_database()
    return database.split("@", 1)[1]


@pytest.mark.integration
def test_a_wrong_password_logs_the_drivers_error_without_it(probe_role, tmp_path):
    with pytest.raises(psycopg.OperationalError):  # the rule is in force
        psycopg.connect(f"postgresql://{PROBE_ROLE}:{WRONG}@{probe_role}", connect_timeout=5)
    status, events, disk = run_invoices(tmp_path, f"postgresql://{PROBE_ROLE}:{WRONG}@"
                                                  f"{probe_role}")
    assert status == "FAILURE"
    # a refused login is the server's answer, retried like any server error (RETRY)
    attempts = step_failures(events, "ExecutionStepUpForRetryEvent")
    assert len(attempts) == 4, attempts
    assert all("password authentication failed" in a for a in attempts), attempts
    assert "password authentication failed" in disk
    assert_nowhere((WRONG,), events, disk)
