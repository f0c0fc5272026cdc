"""Invoices with LANDING_URL on a bucket of a real S3-compatible store: files put into the
bucket give the same totals as the same files in the local folder; a bad object is moved
aside with its reason; the store down for a tick skips it, the next catches up; the secret
key is in no event of the run."""

from __future__ import annotations

import csv
import io

import dagster as dg
import pytest

from cli.runner import drain_sensor, tick_sensor
from definitions import domain_defs
from resources import build_resources
from resources.lib.storage import Location
from tests.invoices.conftest import uid

pytestmark = pytest.mark.integration
SENSOR = "invoice_files_sensor"
FILES = {
    "invoices_2024-03-01.csv": [["v1", uid(1), "2024-02-27 09:00:00", "10.00"],
                                ["v2", uid(2), "2024-03-01 09:00:00", "-5.00"]],
    "invoices_2024-03-02.csv": [["v1", uid(1), "2024-02-20 09:00:00", "11.00"],  # correction
                                ["v3", uid(3), "2024-01-15 12:00:00", "7.00"],
                                ["v3", uid(4), "not a date", "7.00"]],  # kept with a reason
}
TOTALS = ("SELECT venue_id, created_date, total_amount, invoice_count"
          " FROM invoices.venue_daily_totals ORDER BY 1, 2")


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["venue_id", "invoice_id", "datetime_created", "total"])
    writer.writerows(rows)
    return out.getvalue().encode()


def _platform(tmp_path, monkeypatch, landing_url: str | None) -> dg.Definitions:
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INVOICES_DB_URL", raising=False)
    if landing_url:
        monkeypatch.setenv("LANDING_URL", landing_url)
    else:
        monkeypatch.delenv("LANDING_URL", raising=False)
    return domain_defs("invoices", build_resources())


def _totals(defs: dg.Definitions) -> list[tuple]:
    resource = defs.resources["invoices_db"]
    store = getattr(resource, "resource", resource)
    from assets.invoices.store import open_store

    with open_store(store) as db:
        return [tuple(r) for r in db.execute(TOTALS).fetchall()]


def test_the_same_files_in_a_bucket_give_the_same_totals(s3_bucket, s3_server, tmp_path,
                                                          monkeypatch) -> None:
    local = _platform(tmp_path / "local", monkeypatch, None)
    for name, rows in FILES.items():
        Location(tmp_path / "local" / "landing" / "invoices").write_bytes(name, _csv(rows))
    with dg.instance_for_test() as instance:
        assert drain_sensor(local, SENSOR, instance)[0] == 1
    want = _totals(local)

    bucket = _platform(tmp_path / "bucket", monkeypatch, f"s3://{s3_bucket}/landing")
    root = Location(f"s3://{s3_bucket}/landing/invoices", s3_server.settings())
    for name, rows in FILES.items():
        root.write_bytes(name, _csv(rows))
    root.write_bytes("invoices_nodate.csv", _csv([]))  # no sync date: moved aside
    with dg.instance_for_test() as instance:
        runs, cursor = drain_sensor(bucket, SENSOR, instance)
        assert runs == 1
        assert _totals(bucket) == want and len(want) == 3
        logs = [str(e) for r in instance.get_runs() for e in instance.all_logs(r.run_id)]
        assert logs and not any(s3_server.secret_key in line for line in logs)
        with s3_server.stopped():
            requests, kept = tick_sensor(bucket, SENSOR, instance, cursor)
        assert requests == [] and kept == cursor
        root.write_bytes("invoices_2024-03-03.csv", _csv([["v9", uid(9), "2024-03-03 "
                                                              "08:00:00", "1.00"]]))
        assert drain_sensor(bucket, SENSOR, instance, cursor)[0] == 1
    assert ("v9", *_totals(bucket)[-1][1:]) == _totals(bucket)[-1]
    assert not (tmp_path / "bucket" / "landing").exists()  # nothing landed on this disk
    rejected = sorted(e.rel for e in root.list() if e.rel.startswith("_rejected/"))
    assert rejected == ["_rejected/invoices_nodate.csv",
                        "_rejected/invoices_nodate.csv.reason.txt"]
    assert b"no sync date" in root.read_bytes("_rejected/invoices_nodate.csv.reason.txt")
