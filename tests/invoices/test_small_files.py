"""Small files of one sync date share a transaction (assets/invoices/load.py) and give the
tables, the ledger and the per-file figures of loading them one by one: corrections, venue
moves, refunds and a resent copy among 60 small files, loaded by the sensor's one run and by
one run per file, compared row for row (issue 21, item 5)."""

from __future__ import annotations

import random

import dagster as dg

from assets.invoices.store import open_store
from cli.generators.invoices import write_invoice_file
from cli.runner import execute_run_request, tick_sensor
from tests.invoices.conftest import uid
from tests.test_reask import bind

SENSOR = "invoice_files_sensor"


def land(root, seed: int = 5) -> None:
    rng = random.Random(seed)
    folder = root / "landing" / "invoices"
    for f in range(60):
        day = f"2024-06-0{1 + f // 30}"
        rows = [[f"v{rng.randrange(4)}", uid(rng.randrange(120)),
                 f"2024-05-{1 + rng.randrange(28):02d} 10:00:00",
                 f"{rng.randrange(-500, 5000) / 100:.2f}"] for _ in range(rng.randrange(1, 4))]
        write_invoice_file(folder / f"invoices_{day}_{f:03d}.csv", rows, age_seconds=600 - f)
    (folder / f"invoices_2024-06-02_{60:03d}.csv").write_bytes(
        (folder / "invoices_2024-06-02_031.csv").read_bytes())  # a resent copy


def tables(resources: dict) -> dict[str, list[tuple]]:
    with open_store(resources["invoices_db"]) as store:
        return {name: store.execute(sql).fetchall() for name, sql in {
            "raw": "SELECT invoice_id, venue_id, created_at, total, source_file, synced_on"
                   " FROM invoices.raw_invoices ORDER BY 1",
            "totals": "SELECT venue_id, created_date, total_amount, invoice_count"
                      " FROM invoices.venue_daily_totals ORDER BY 1, 2",
            "ledger": "SELECT content_hash, file_name, rows_loaded, rows_unchanged,"
                      " created_dates_touched FROM invoices.file_ledger ORDER BY 2",
        }.items()}


def test_small_files_batched_equal_small_files_one_by_one(tmp_path, monkeypatch):
    results = {}
    for how in ("batched", "one_by_one"):
        root = tmp_path / how
        land(root)
        resources, defs = bind(root, "invoices", monkeypatch)
        with dg.instance_for_test() as instance:
            requests, _ = tick_sensor(defs, SENSOR, instance, None)
            if how == "one_by_one":
                files = [n for r in requests
                         for n in r.run_config["ops"]["invoices__raw_invoices"]["config"]["files"]]
                requests = [r.with_replaced_attrs(
                    run_key=f"{r.run_key}-{n}", run_config={"ops": {"invoices__raw_invoices": {
                        "config": {"files": [n]}}}}, partition_key=n[9:19], tags={})
                    for r in requests[:1] for n in files]
            assert len(requests) == (1 if how == "batched" else 61)
            for request in requests:
                assert execute_run_request(defs, request, instance).success
        results[how] = tables(resources)
    assert len(results["batched"]["raw"]) > 60
    assert results["batched"] == results["one_by_one"]
