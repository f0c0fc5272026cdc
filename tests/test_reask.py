"""A failed run whose cause goes away is asked again, and loads each file once (issue 21).

Every file-driven pipeline, with its real sensor on a real instance: its data root is a
small tmpfs filled between the sensor's tick and the run (the run fails at once, naming the
full path), then freed; the next ticks ask again (`REASK_DELAYS_SECONDS=0`) and the files
load exactly once. A file deleted before its run fails it as missing, is not asked again
on its own, and loads at once when the same bytes land again. A bad file (moved aside) is
never asked again.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from assets.invoices.publish import published_totals
from cli.generators.invoices import write_invoice_file
from cli.runner import execute_run_request, tick_sensor
from definitions import domain_defs
from resources import build_resources
from resources.lib.serving import lake_root
from sensors.reask import ATTEMPT_TAG, REASK_OF_TAG, REASK_TAG
from tests.invoices.conftest import uid

INVOICES = "invoice_files_sensor"
BIG_FILE_ROWS = 400_000  # ~20 MB of CSV: more than is left for it
LEFT_FOR_TWO_FILES = 2**20


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def bind(root: Path, domain: str, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dg.Definitions]:
    """The domain's definitions, embedded, on the data root `root`."""
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(root))
    for name in ("INVOICES_DB_URL", "PURCHASES_DB_URL", "KAFKA_BOOTSTRAP_SERVERS"):
        monkeypatch.delenv(name, raising=False)
    resources = build_resources()
    return resources, domain_defs(domain, resources)


def run_all(defs: dg.Definitions, requests: list[dg.RunRequest],
            instance: dg.DagsterInstance) -> list[dg.ExecuteInProcessResult]:
    return [execute_run_request(defs, r, instance, raise_on_error=False) for r in requests]


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    return " ".join(str(e.event_specific_data.error.to_string())
                    for e in result.all_events if e.is_step_failure)


def drain(defs: dg.Definitions, sensor: str, instance: dg.DagsterInstance,
          cursor: str | None, ticks: int = 6) -> tuple[list[dg.RunRequest], str | None]:
    """Tick and run what is asked until a tick asks for nothing; every run must succeed."""
    asked = []
    for _ in range(ticks):
        requests, cursor = tick_sensor(defs, sensor, instance, cursor)
        if not requests:
            return asked, cursor
        for result in run_all(defs, requests, instance):
            assert result.success, failure_text(result)
        asked += requests
    raise AssertionError(f"{sensor} still asks after {ticks} ticks")


def fails_on_a_full_disk_then_recovers(small_disk, defs: dg.Definitions, sensor: str,
                                       instance: dg.DagsterInstance
                                       ) -> tuple[dg.RunRequest, list[dg.RunRequest]]:
    """The sensor's one request, run on a full disk (it must fail naming it), then the
    disk freed and the sensor drained: (the first request, what was asked after)."""
    [request], cursor = tick_sensor(defs, sensor, instance, None)
    small_disk.fill()
    [failed] = run_all(defs, [request], instance)
    assert not failed.success and "no space left" in failure_text(failed)
    small_disk.free()
    asked, _ = drain(defs, sensor, instance, cursor)
    return request, asked


def land_invoices(root: Path, name: str = "invoices_2024-03-01.csv", n: int = 200,
                  first: int = 0) -> Path:
    """`n` invoices (ids from `first`) created in February 2024."""
    path = root / "landing" / "invoices" / name
    write_invoice_file(path, [[f"v{i % 7}", uid(i), f"2024-02-{1 + i % 28:02d} 10:00:00",
                               f"{i}.25"] for i in range(first, first + n)])
    return path


def invoice_counts(resources: dict) -> tuple[int, int, int]:
    """(raw rows, ledger rows, invoices counted by the totals)."""
    from assets.invoices.store import open_store

    with open_store(resources["invoices_db"]) as store:
        return (store.scalar("SELECT COUNT(*) FROM invoices.raw_invoices"),
                store.scalar("SELECT COUNT(*) FROM invoices.file_ledger"),
                store.scalar("SELECT COALESCE(SUM(invoice_count), 0)"
                             " FROM invoices.venue_daily_totals"))


def test_invoices_run_failed_on_a_full_disk_is_asked_again_and_loads_once(
    small_disk, instance, monkeypatch
):
    monkeypatch.setenv("REASK_DELAYS_SECONDS", "0")
    resources, defs = bind(small_disk.path, "invoices", monkeypatch)
    land_invoices(small_disk.path)
    [request], cursor = tick_sensor(defs, INVOICES, instance, None)
    assert request.tags[ATTEMPT_TAG] == "1"
    small_disk.fill()
    [failed] = run_all(defs, [request], instance)
    assert not failed.success
    assert "no space left on the device of" in failure_text(failed)
    assert len([e for e in failed.all_events if e.event_type_value == "STEP_RESTARTED"]) == 0
    # still full: the tick fails too, naming the landing index's path (issue 21, item 5)
    with pytest.raises(Exception, match="no space left on the device of .*landing.sqlite"):
        tick_sensor(defs, INVOICES, instance, cursor)
    small_disk.free()
    asked, cursor = drain(defs, INVOICES, instance, cursor)
    assert [r.run_key for r in asked] == [f"{request.run_key}:retry1"]
    assert asked[0].tags[REASK_OF_TAG] == failed.run_id and asked[0].tags[ATTEMPT_TAG] == "2"
    assert invoice_counts(resources) == (200, 1, 200)
    [run] = instance.get_runs(dg.RunsFilter(run_ids=[failed.run_id]))
    assert run.tags[REASK_TAG].startswith("asked again as")


def test_invoices_file_deleted_before_its_run_loads_when_it_lands_again(
    tmp_path, instance, monkeypatch
):
    monkeypatch.delenv("REASK_DELAYS_SECONDS", raising=False)  # the real backoff: 60 s
    resources, defs = bind(tmp_path, "invoices", monkeypatch)
    path = land_invoices(tmp_path)
    [request], cursor = tick_sensor(defs, INVOICES, instance, None)
    kept = tmp_path / "kept.csv"
    shutil.move(path, kept)
    [failed] = run_all(defs, [request], instance)
    assert not failed.success and "not found" in failure_text(failed)
    nothing, cursor = tick_sensor(defs, INVOICES, instance, cursor)
    assert nothing == []  # missing input: not asked again on its own
    shutil.copy(kept, path)  # the same bytes land again: asked at once, not after 60 s
    [again], cursor = tick_sensor(defs, INVOICES, instance, cursor)
    assert again.run_key == f"{request.run_key}:retry1"
    assert run_all(defs, [again], instance)[0].success
    assert invoice_counts(resources) == (200, 1, 200)
    assert tick_sensor(defs, INVOICES, instance, cursor)[0] == []


def test_a_bad_invoice_file_is_never_asked_again(tmp_path, instance, monkeypatch):
    monkeypatch.setenv("REASK_DELAYS_SECONDS", "0")
    resources, defs = bind(tmp_path, "invoices", monkeypatch)
    path = tmp_path / "landing" / "invoices" / "invoices_2024-03-01.csv"
    path.parent.mkdir(parents=True)
    path.write_text("not,an,invoice,header\n1,2,3,4\n")
    [request], cursor = tick_sensor(defs, INVOICES, instance, None)
    [failed] = run_all(defs, [request], instance)
    assert not failed.success
    for _ in range(2):
        nothing, cursor = tick_sensor(defs, INVOICES, instance, cursor)
        assert nothing == []
    [run] = instance.get_runs(dg.RunsFilter(run_ids=[failed.run_id]))
    assert run.tags[REASK_TAG].startswith("not asked again: bad file(s) moved to _rejected/")


def committed_totals(resources: dict) -> tuple[int, Decimal]:
    from assets.invoices.store import open_store

    with open_store(resources["invoices_db"]) as store:
        count, amount = store.execute("SELECT SUM(invoice_count), SUM(total_amount)"
                                      " FROM invoices.venue_daily_totals").fetchone()
    return int(count), Decimal(str(amount))


def test_a_run_failing_mid_way_on_a_full_disk_has_published_what_it_committed(
    small_disk, instance, monkeypatch
):
    """Issue 21, item 2: two files commit, the disk fills at the third; the published
    totals equal the warehouse (not the state before the run), and after space is freed the
    re-asked run loads the rest once."""
    monkeypatch.setenv("REASK_DELAYS_SECONDS", "0")
    monkeypatch.setenv("INVOICES_PUBLISH_EVERY_SECONDS", "0")
    resources, defs = bind(small_disk.path, "invoices", monkeypatch)
    land_invoices(small_disk.path, "invoices_2024-03-01.csv", 50)
    drain(defs, INVOICES, instance, None)  # the warehouse exists, 50 invoices published
    for day, n, first in (("02", 500, 10**6), ("03", 500, 2 * 10**6), ("04", BIG_FILE_ROWS, 0)):
        land_invoices(small_disk.path, f"invoices_2024-03-{day}.csv", n, first)
    [request], cursor = tick_sensor(defs, INVOICES, instance, None)
    small_disk.fill(leave=LEFT_FOR_TWO_FILES)
    [failed] = run_all(defs, [request], instance)
    assert not failed.success and "no space left" in failure_text(failed)
    small_disk.free()
    assert committed_totals(resources)[0] == 1050  # the two small files committed
    assert published_totals(lake_root(small_disk.path)) == committed_totals(resources)
    asked, _ = drain(defs, INVOICES, instance, cursor)
    assert len(asked) == 1
    assert committed_totals(resources)[0] == 1000 + BIG_FILE_ROWS  # 0..49 re-synced
    assert published_totals(lake_root(small_disk.path)) == committed_totals(resources)


def test_late_payments_run_failed_on_a_full_disk_is_asked_again_and_loads_once(
    small_disk, instance, monkeypatch
):
    """The issue's late-payment case ("extract set unchanged" for good): now the set is
    asked again once space is freed, and its features are built once."""
    from tests.late_payments.conftest import EXTRACT_FILES, REAL_EXTRACTS

    monkeypatch.setenv("REASK_DELAYS_SECONDS", "0")
    resources, defs = bind(small_disk.path, "late_payments", monkeypatch)
    landing = small_disk.path / "landing" / "retail"
    landing.mkdir(parents=True)
    for name in EXTRACT_FILES:
        shutil.copy(REAL_EXTRACTS / name, landing / name)
    request, asked = fails_on_a_full_disk_then_recovers(
        small_disk, defs, "late_payments_extracts_sensor", instance)
    assert [r.run_key for r in asked] == [f"{request.run_key}:retry1"]
    with resources["warehouse"].get_connection() as conn:
        assert conn.execute("SELECT count(*) FROM late_payments.invoice_features"
                            ).fetchone()[0] == 9685


def test_ctr_ingest_failed_on_a_full_disk_is_asked_again_and_counts_once(
    small_disk, instance, monkeypatch
):
    """CTR: the view file's ingest fails on the full disk; once freed, the re-asked ingest
    and its refresh run, and the rollup counts each view once."""
    from tests.ctr.test_pipeline import view, write_views

    monkeypatch.setenv("REASK_DELAYS_SECONDS", "0")
    resources, defs = bind(small_disk.path, "ctr", monkeypatch)
    events = [view(p, f"2016-03-05 10:0{i}:00") for i, p in enumerate("PPQ")]
    write_views(small_disk.path, "iOS", "a.json", [{"events": events}])
    request, asked = fails_on_a_full_disk_then_recovers(
        small_disk, defs, "ctr_product_views_sensor", instance)
    assert asked[0].run_key == f"{request.run_key}:retry1"
    with resources["warehouse"].get_connection() as conn:
        assert conn.execute("SELECT SUM(count) FROM ctr.views_per_minute").fetchone()[0] == 3


def test_industries_customer_batch_failed_on_a_full_disk_is_asked_again_and_loads_once(
    small_disk, instance, monkeypatch
):
    """Industries: a customer batch's run fails on the full disk; once freed it is asked
    again and each customer is loaded once."""
    from tests.industries.conftest import write_customers

    monkeypatch.setenv("REASK_DELAYS_SECONDS", "0")
    resources, defs = bind(small_disk.path, "industries", monkeypatch)
    write_customers(small_disk.path / "landing" / "customers" / "customers_20250101T000000.csv",
                    "specialized_industries",
                    [(f"C{i}", f"Company {i}", '["Agriculture"]') for i in range(50)])
    request, asked = fails_on_a_full_disk_then_recovers(
        small_disk, defs, "industries_customers_sensor", instance)
    assert [r.run_key for r in asked] == [f"{request.run_key}:retry1"]
    with resources["warehouse"].get_connection() as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT customer_id)"
                            " FROM industries.customers").fetchone() == (50, 50)


def test_industries_order_batch_failed_on_a_full_disk_is_asked_again_and_reads_once(
    small_disk, instance, monkeypatch
):
    """Industries orders (the embedded stream: landed order files; on Kafka the same rule,
    the batch's offsets committed with its rows): a batch failed on the full disk is asked
    again once freed, and each order is read once."""
    import json
    import random
    from datetime import timedelta

    from cli.generators import industries

    monkeypatch.setenv("REASK_DELAYS_SECONDS", "0")
    resources, defs = bind(small_disk.path, "industries", monkeypatch)
    rng, placed = random.Random(3), industries.END - timedelta(hours=2)
    path = small_disk.path / "landing" / "orders" / f"orders_{placed:%Y-%m-%d}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(industries.make_order(
        rng, f"O{i:05d}", industries.customer_id(i % 5), placed)) + "\n" for i in range(40)))
    request, asked = fails_on_a_full_disk_then_recovers(
        small_disk, defs, "industries_order_stream_sensor", instance)
    assert asked and asked[0].run_key == f"{request.run_key}:retry1"
    drain(defs, "industries_order_hours_sensor", instance, None)  # lake batches -> orders
    with resources["warehouse"].get_connection() as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT order_id)"
                            " FROM industries.orders").fetchone() == (40, 40)
