"""The file-arrival sensor, evaluated against a real Dagster instance."""

from __future__ import annotations

import os
import time

import dagster as dg

from assets.invoices.partitions import TOTALS_KEY
from cli.generators.invoices import write_invoice_file
from cli.runner import execute_run_request, tick_sensor
from definitions import domain_defs
from resources import PlatformPaths
from tests.invoices.conftest import latest_metadata, uid

SENSOR = "invoice_files_sensor"


def test_one_run_per_stretch_of_sync_dates_brings_exactly_the_touched_creation_dates(
    invoices_env
):
    # a file is read once nobody has written it for 30 s
    paths = PlatformPaths(data_dir=str(invoices_env.data_dir), landing_settle_seconds=30,
                          landing_sweep_seconds=0)
    invoices_env.defs = domain_defs("invoices", {**invoices_env.resources, "paths": paths})
    land = invoices_env.landing
    write_invoice_file(land / "invoices_2024-03-01.csv", [
        ["v1", uid(1), "2024-02-27 09:00:00", "10.00"],
        ["v1", uid(2), "2024-02-28 09:00:00", "20.00"],
        ["v2", uid(3), "2024-03-01 09:00:00", "-5.00"],
    ])
    write_invoice_file(land / "invoices_20240302.csv", [
        ["v3", uid(4), "2024-01-15 12:00:00", "7.00"],
        ["v2", uid(5), "2024-03-01 13:00:00", "1.00"],
        ["v1", uid(1), "2024-02-20 09:00:00", "11.00"],  # correction: moves 02-27 → 02-20
    ])
    (land / "invoices_2024-03-03.csv.part").write_text("venue_id,invoice_id\n")  # in flight
    write_invoice_file(land / "invoices_2024-03-04.csv", [], age_seconds=0)  # still settling

    with dg.instance_for_test() as instance:
        requests, cursor = tick_sensor(invoices_env.defs, SENSOR, instance, None)
        # two files of consecutive sync dates: one run over both dates, loading both
        [request] = requests
        assert request.partition_key_range == dg.PartitionKeyRange("2024-03-01", "2024-03-02")
        assert request.run_key.startswith("invoice-files:")
        assert request.tags["landing/files"] == (
            "2 files: invoices_2024-03-01.csv .. invoices_20240302.csv")
        again, cursor = tick_sensor(invoices_env.defs, SENSOR, instance, cursor)
        assert again == []

        for request in sorted(requests, key=lambda r: r.partition_key):
            assert execute_run_request(invoices_env.defs, request, instance).success
        # the runs recorded exactly the creation dates the files touched (02-29 was not:
        # 2024 is a leap year), each with its own figures; no further run is asked for
        assert instance.get_materialized_partitions(TOTALS_KEY) == {
            "2024-01-15", "2024-02-20", "2024-02-27", "2024-02-28", "2024-03-01"}
        assert latest_metadata(instance, TOTALS_KEY, "2024-02-27")["dagster/row_count"] == 0
        latest = latest_metadata(instance, TOTALS_KEY, "2024-03-01")
        # the run's last event also says which dates of the whole asset hold data
        assert latest.pop("coverage").startswith("4 partitions hold data in 4 stretch(es)")
        assert latest == {"dagster/row_count": 1, "total_amount": -4.0, "invoices": 2}
        nothing, cursor = tick_sensor(invoices_env.defs, SENSOR, instance, cursor)
        assert nothing == []

        settling = land / "invoices_2024-03-04.csv"
        past = time.time() - 60
        os.utime(settling, (past, past))
        later, _ = tick_sensor(invoices_env.defs, SENSOR, instance, cursor)
        assert [r.partition_key for r in later] == ["2024-03-04"]

    assert invoices_env.rows(
        "SELECT venue_id, created_date, total_amount, invoice_count"
        " FROM invoices.venue_daily_totals ORDER BY created_date, venue_id"
    ) == invoices_env.rows(
        "SELECT venue_id, created_date, SUM(total), COUNT(*) FROM invoices.raw_invoices"
        " GROUP BY 1, 2 ORDER BY 2, 1"
    )
    assert len(invoices_env.rows("SELECT * FROM invoices.venue_daily_totals")) == 4


def test_rewritten_file_gets_a_new_run_key(invoices_env):
    path = write_invoice_file(invoices_env.landing / "invoices_2024-03-01.csv",
                              [["v1", uid(1), "2024-02-27 09:00:00", "10.00"]])
    with dg.instance_for_test() as instance:
        first, cursor = tick_sensor(invoices_env.defs, SENSOR, instance, None)
        write_invoice_file(path, [["v1", uid(1), "2024-02-27 09:00:00", "12.00"]])
        second, _ = tick_sensor(invoices_env.defs, SENSOR, instance, cursor)
    assert len(first) == len(second) == 1
    assert first[0].run_key != second[0].run_key


def test_a_day_without_a_file_splits_the_runs_and_a_long_backlog_is_capped(invoices_env):
    from datetime import date, timedelta

    from assets.shared.partitions import OWN_EVENTS_MAX as MAX_DATES

    days = [(date(2024, 1, 1) + timedelta(days=d)).isoformat() for d in range(MAX_DATES + 2)]
    days.append("2024-03-01")
    for i, day in enumerate(days):
        write_invoice_file(invoices_env.landing / f"invoices_{day}.csv",
                           [["v1", uid(100 + i), f"{day} 09:00:00", "1.00"]])
    with dg.instance_for_test() as instance:
        requests, _ = tick_sensor(invoices_env.defs, SENSOR, instance, None)
    spans = [(r.partition_key_range.start, r.partition_key_range.end) if r.partition_key_range
             else (r.partition_key, r.partition_key) for r in requests]
    # no partition in a run without its file; at most MAX_DATES dates (own events) per run
    assert spans == [("2024-01-01", days[MAX_DATES - 1]), (days[MAX_DATES], days[MAX_DATES + 1]),
                     ("2024-03-01", "2024-03-01")]
    assert [len(r.run_config["ops"]["invoices__raw_invoices"]["config"]["files"])
            for r in requests] == [MAX_DATES, 2, 1]


def test_many_small_files_coalesce_into_few_bounded_runs(invoices_env):
    """Issue 21, item 8: 2,100 one-row files of two dates are 3 runs (was: one per 31 files),
    each at most MAX_FILES files; a run is also cut at MAX_BYTES."""
    from sensors.invoices import MAX_BYTES, MAX_FILES

    assert MAX_FILES == 1000 and MAX_BYTES == 64 * 2**20
    for i in range(2_100):
        day = "2024-05-01" if i < 1_400 else "2024-05-02"
        write_invoice_file(invoices_env.landing / f"invoices_{day}_{i:04d}.csv",
                           [["v1", uid(10_000 + i), f"{day} 09:00:00", "1.00"]])
    with dg.instance_for_test() as instance:
        requests, _ = tick_sensor(invoices_env.defs, SENSOR, instance, None)
    files = [r.run_config["ops"]["invoices__raw_invoices"]["config"]["files"] for r in requests]
    assert [len(f) for f in files] == [1000, 1000, 100]
    assert sorted(n for f in files for n in f) == sorted(
        p.name for p in invoices_env.landing.glob("*.csv"))
    assert all(r.tags["platform/domain"] == "invoices" for r in requests)
    # the backlog's tail yields to another domain's fresh file (sensors/reask.py)
    assert [r.tags.get("dagster/priority") for r in requests] == [None, "-1", "-1"]
