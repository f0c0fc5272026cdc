"""`resources.lib.catalog.publish` on its own: one overwrite snapshot per publication, new
columns added without rewriting data, a partition replace refused on a table not partitioned
that way, slices of (platform, day) replaced alone, and concurrent writers of one table all
landing (lost commits retried), never doubling rows."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from resources.lib.catalog import open_catalog, publish
from resources.lib.storage import Location

ID = ("invoices", "totals")


def _rows(day: int, venues: int, amount: int = 1, **extra: int) -> pa.Table:
    data = {"venue": [f"v{i}" for i in range(venues)], "day": [day] * venues,
            "amount": [amount] * venues, **{k: [v] * venues for k, v in extra.items()}}
    return pa.table(data)


def _setup(tmp_path: Path):  # noqa: ANN202
    lake = Location(tmp_path / "lake")
    return open_catalog(lake, None, tmp_path / "state"), lake


def test_a_partition_replace_is_one_snapshot_and_new_columns_are_added(tmp_path: Path) -> None:
    catalog, lake = _setup(tmp_path)
    first = publish(catalog, lake, ID, pa.concat_tables([_rows(1, 3), _rows(2, 3)]),
                    {"dagster.run_id": "r1"}, "day", [1, 2])
    second = publish(catalog, lake, ID, _rows(2, 2, amount=5, extra=7),
                     {"dagster.run_id": "r2"}, "day", [2])
    table = catalog.load_table(ID)
    assert [s.snapshot_id for s in table.snapshots()] == [first, second]
    assert table.snapshot_by_id(second).summary.additional_properties["dagster.run_id"] == "r2"
    got = sorted(table.scan().to_arrow().to_pylist(), key=lambda r: (r["day"], r["venue"]))
    assert [(r["day"], r["amount"], r["extra"]) for r in got] == [
        (1, 1, None)] * 3 + [(2, 5, 7)] * 2
    assert table.scan(snapshot_id=first).to_arrow().num_rows == 6  # time travel
    day_one = [t.file for t in table.scan(row_filter="day = 1").plan_files()]
    assert len(day_one) == 1 and day_one[0].file_path.endswith(".parquet")

    with pytest.raises(ValueError, match="not partitioned by venue"):
        publish(catalog, lake, ID, _rows(3, 1), {}, "venue", ["v0"])
    assert catalog.load_table(ID).current_snapshot().snapshot_id == second


def test_concurrent_writers_of_one_table_all_land(tmp_path: Path) -> None:
    catalog, lake = _setup(tmp_path)
    publish(catalog, lake, ID, _rows(0, 1), {}, "day", [0])  # the table exists
    errors: list[BaseException] = []

    def writer(day: int) -> None:
        try:  # each thread its own catalog, as each run worker has
            own, _ = _setup(tmp_path)
            for amount in range(3):
                publish(own, lake, ID, _rows(day, 2, amount), {"dagster.run_id": f"d{day}"},
                        "day", [day])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    # two writers per day: the same rows replaced at once must not double
    threads = [threading.Thread(target=writer, args=(day,)) for day in (1, 2, 1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = catalog.load_table(ID).scan().to_arrow().to_pylist()
    assert sorted((r["day"], r["amount"]) for r in rows) == [(0, 1)] + [
        (d, 2) for d in (1, 2, 3) for _ in range(2)]


def _minutes(platform: str, day: date, count: int, tz: bool = False) -> pa.Table:
    start = datetime.combine(day, datetime.min.time(), UTC if tz else None)
    minutes = [start + timedelta(hours=h) for h in (0, 12, 23)]
    return pa.table({"platform": [platform] * 3, "minute": minutes, "count": [count] * 3})


@pytest.mark.parametrize("tz", [False, True], ids=["timestamp", "timestamptz"])
def test_a_slice_of_platform_and_day_is_replaced_alone(tmp_path: Path, tz: bool) -> None:
    """(platform identity, day(minute)): replacing (web, day 2) keeps (web, day 1), (app, day
    2) and the hours at both ends of the day; a spec that differs is refused."""
    catalog, lake = _setup(tmp_path)
    spec, ident = [("platform", "identity"), ("minute", "day")], ("ctr", "per_minute")
    d1, d2 = date(2016, 6, 1), date(2016, 6, 2)
    every = pa.concat_tables([_minutes(p, d, 1, tz) for p in ("web", "app") for d in (d1, d2)])
    publish(catalog, lake, ident, every, {}, spec, [(p, d) for p in ("web", "app")
                                                   for d in (d1, d2)])
    publish(catalog, lake, ident, _minutes("web", d2, 9, tz), {}, spec, [("web", d2)])
    table = catalog.load_table(ident)
    got = sorted((r["platform"], r["minute"].date(), r["count"])
                 for r in table.scan().to_arrow().to_pylist())
    assert got == sorted([(p, d, 1) for p in ("web", "app") for d in (d1, d2)
                          if (p, d) != ("web", d2)] * 3 + [("web", d2, 9)] * 3)
    assert len(table.snapshots()) == 2
    with pytest.raises(ValueError, match="not partitioned by platform"):
        publish(catalog, lake, ident, _minutes("web", d1, 1, tz), {}, "platform", ["web"])


def test_expiry_keeps_the_last_snapshots_and_deletes_only_what_they_no_longer_use(
        tmp_path: Path) -> None:
    from resources.lib.catalog_maintenance import expire_catalog

    catalog, lake = _setup(tmp_path)
    publish(catalog, lake, ID, _rows(1, 2), {}, "day", [1])  # day 1: never replaced again
    for amount in range(2, 8):  # six replacements of day 2
        publish(catalog, lake, ID, _rows(2, 2, amount), {}, "day", [2])
    table = catalog.load_table(ID)
    before = table.scan().to_arrow().to_pylist()
    second_last = sorted(table.snapshots(), key=lambda s: s.timestamp_ms)[-2].snapshot_id
    (done,) = expire_catalog(catalog, keep=2)
    assert (done.table, done.snapshots, done.kept) == ("invoices.totals", 5, 2)
    table = catalog.load_table(ID)
    assert len(table.snapshots()) == 2 and table.scan().to_arrow().to_pylist() == before
    assert {r["amount"] for r in table.scan(snapshot_id=second_last).to_arrow().to_pylist()
            if r["day"] == 2} == {6}  # the kept history still travels
    data = Path(lake.path()) / "invoices/iceberg/totals/data"
    on_disk = {str(p) for p in data.rglob("*.parquet")}
    live = {t.file.file_path.removeprefix("file://") for s in table.snapshots()
            for t in table.scan(snapshot_id=s.snapshot_id).plan_files()}
    assert on_disk == live and len(live) == 3  # day 1's file, and day 2's of both snapshots
    assert expire_catalog(catalog, keep=2)[0].snapshots == 0  # a second pass: nothing


def test_runs_publishing_different_tables_at_once_all_land(tmp_path: Path) -> None:
    """Four writers (each its own catalog, as run workers are), each creating and then
    replacing its own table: every table ends on its writer's last rows."""
    _setup(tmp_path)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            own, lake = _setup(tmp_path)
            for amount in range(4):
                publish(own, lake, ("late_payments", name), _rows(1, 3, amount), {})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    names = ["fact", "features", "accounts", "invoices"]
    threads = [threading.Thread(target=writer, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    catalog, _ = _setup(tmp_path)
    for name in names:
        table = catalog.load_table(("late_payments", name))
        assert {r["amount"] for r in table.scan().to_arrow().to_pylist()} == {3}
        assert len(table.snapshots()) == 4
