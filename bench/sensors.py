"""What a file sensor's tick costs as history grows: `python -m bench.sensors`.

The real sensors (invoices, CTR product views, industry customer batches) are evaluated as
the code server does (`build_sensor_context` with the resources they require) over a
landing folder holding 100 to 10,000 already-processed files. Targets: an idle tick hashes
(reads) no landed file and takes <= 50 ms at 10,000 files; a tick that finds new files
costs in proportion to their bytes; the cursor stays under 10 kB. Also shown: the periodic
sweep (every file stat'ed, by default once a minute), the first tick over a whole history,
and what an idle tick cost before the landing index (hashing every landed file).
Prints a Markdown table (the README shows it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg

import resources.lib.landing
from assets.ctr.ingest import views_folder
from assets.ctr.lake import ledger_rel, platform_of, source_name
from assets.shared import md_table
from definitions import domain_defs
from resources import PlatformPaths, build_resources
from resources.lib.files import file_sha256
from sensors.ctr import ctr_product_views_sensor
from sensors.industries import customers_sensor
from sensors.invoices import invoice_files_sensor

ROW = "v{0:04d},00000000-0000-4000-8000-{0:012d},2024-01-01 10:00:00,12.50\n"
HASHED = {"bytes": 0, "stats": 0}  # bytes read to hash files, files stat'ed
_changes = resources.lib.landing.LandingFolder.changes


def _counting_changes(self, after: int = 0):
    changes = _changes(self, after)
    HASHED["stats"] += changes.stated
    HASHED["bytes"] += changes.bytes_hashed
    return changes


# count what the mechanism stats and reads, from what it reports
resources.lib.landing.LandingFolder.changes = _counting_changes


def write_files(folder: Path, names: list[str], size: int) -> None:
    """Files of `size` bytes, mtime a minute ago (settled)."""
    folder.mkdir(parents=True, exist_ok=True)
    body = "venue_id,invoice_id,datetime_created,total\n"
    body += "".join(ROW.format(i) for i in range(max(1, size // len(ROW.format(0)))))
    past = time.time() - 60
    for name in names:
        path = folder / name
        path.write_text(body[:size] if size < len(body) else body)
        os.utime(path, (past, past))


DOMAIN_OF = {"invoice_files_sensor": "invoices", "ctr_product_views_sensor": "ctr",
             "industries_customers_sensor": "industries"}
INSTANCE = dg.DagsterInstance.ephemeral()


def tick(sensor: dg.SensorDefinition, paths: PlatformPaths, cursor: str | None):
    """(seconds, new cursor, requests, MB hashed, files stat'ed) of one evaluation, as the
    code server runs it: the context with the resources the sensor requires, the sensor."""
    os.environ["PLATFORM_DATA_DIR"] = paths.data_dir
    defs = domain_defs(DOMAIN_OF[sensor.name], {**build_resources(), "paths": paths})
    required = {key: defs.resources[key] for key in sensor.required_resource_keys}
    before, stats = HASHED["bytes"], HASHED["stats"]
    started = time.perf_counter()
    with dg.build_sensor_context(
        instance=INSTANCE, cursor=cursor, definitions=defs, resources=required
    ) as context:
        result = sensor.evaluate_tick(context)
    elapsed = time.perf_counter() - started
    mb = (HASHED["bytes"] - before) / 1e6
    return elapsed, result.cursor, list(result.run_requests or []), mb, HASHED["stats"] - stats


def idle(sensor: dg.SensorDefinition, paths: PlatformPaths, cursor: str | None):
    """(median ms, MB hashed in all, most files stat'ed by one) of 7 ticks, nothing new."""
    time.sleep(0.15)  # the last folder change is older than a clock tick
    tick(sensor, paths, cursor)
    ticks = [tick(sensor, paths, cursor) for _ in range(7)]
    ms = statistics.median(t[0] for t in ticks) * 1000
    return ms, sum(t[3] for t in ticks), max(t[4] for t in ticks)


def sweeping(paths: PlatformPaths) -> PlatformPaths:
    """The same data root, with a full look at every file on every tick."""
    return PlatformPaths(data_dir=paths.data_dir, landing_settle_seconds=5,
                         landing_sweep_seconds=0)


def history(root: Path, folder: str, files: int, size: int) -> tuple[PlatformPaths, list[str]]:
    """A data root whose landing folder holds `files` files (spread over 3 sub-folders for
    product views), all of them already seen by the sensor."""
    paths = PlatformPaths(data_dir=str(root), landing_settle_seconds=5)
    base = paths.landing(folder)
    if folder == "product_views":
        for i, platform in enumerate(("iOS", "Android", "MobileWeb")):
            names = [f"views_{n:06d}.json" for n in range(i, files, 3)]
            write_files(base / platform, names, size)
    else:
        write_files(base, [f"{folder}_{n:06d}_2024-01-02.csv" for n in range(files)], size)
    return paths, [str(p) for p in base.rglob("*") if p.is_file()]


def mark_ingested(paths: PlatformPaths) -> None:
    """The lake state once every landed product-view file is ingested: its manifest names its
    content hash (written here directly: ingesting 10,000 files would take minutes)."""
    lake = paths.lake_location("ctr")
    for landed in views_folder(paths).files():
        platform = platform_of(landed.rel)
        name = source_name(landed.path, platform)
        lake.write_bytes(ledger_rel(platform, name), json.dumps(
            {"platform": platform, "file": name, "sha256": landed.sha256}
        ).encode())


def bench_history(rows: list, root: Path, sensor, folder: str, files: int, size: int) -> None:
    paths, _ = history(root, folder, files, size)
    first = tick(sensor, paths, None)  # the whole history is new: every file hashed once
    cursor = first[1]
    if folder == "product_views":
        mark_ingested(paths)
        cursor = tick(sensor, paths, cursor)[1]
    n = f"{files:,}"
    ms, mb, stats = idle(sensor, paths, cursor)
    rows.append((sensor.name, n, "idle (median of 7)", stats, f"{mb:g}", f"{ms:.1f}",
                 len(cursor or "")))
    ms, mb, stats = idle(sensor, sweeping(paths), cursor)
    rows.append((sensor.name, n, "sweep: every file stat'ed, nothing new", stats, f"{mb:g}",
                 f"{ms:.1f}", len(cursor or "")))
    if files == max(FILES):
        rows.append((sensor.name, n, "first tick: the whole history is new", first[4],
                     f"{first[3]:,.0f}", f"{first[0] * 1000:,.0f}", len(cursor or "")))


def bench_new_files(rows: list, root: Path, files: int, size: int) -> None:
    """New files on top of a big history: the tick's cost follows their bytes."""
    paths, _ = history(root, "invoices", files, size)
    cursor = tick(invoice_files_sensor, paths, None)[1]
    idle(invoice_files_sensor, paths, cursor)  # from a quiet state, as in production
    folder = paths.landing("invoices")
    n = f"{files:,}"
    for count, size_mb in ((1, 1), (1, 10), (1, 100), (10, 10)):
        names = [f"new_{count}x{size_mb}_{i}_2024-01-03.csv" for i in range(count)]
        write_files(folder, names, size_mb * 1_000_000)
        seconds, cursor, requests, mb, stats = tick(invoice_files_sensor, paths, cursor)
        assert requests, "the new files were not found"  # one run per stretch of dates
        rows.append((invoice_files_sensor.name, n, f"{count} new file(s) x {size_mb} MB",
                     stats, f"{mb:,.0f}",
                     f"{seconds * 1000:,.0f} ({seconds * 1000 / mb:.1f} per MB)",
                     len(cursor or "")))
    path = folder / names[0]
    path.write_text("x" * 10_000_001)  # rewritten in place: the folder does not change
    os.utime(path, (time.time() - 60,) * 2)
    seconds, cursor, requests, mb, stats = tick(invoice_files_sensor, sweeping(paths), cursor)
    assert len(requests) == 1
    rows.append((invoice_files_sensor.name, n, "1 file rewritten in place, 10 MB (by the sweep)",
                 stats, f"{mb:,.0f}", f"{seconds * 1000:,.0f}", len(cursor or "")))


def bench_rehash_all(rows: list, root: Path, files: int, size: int) -> None:
    _, landed = history(root, "invoices", files, size)
    started = time.perf_counter()
    for path in landed:
        file_sha256(path)
    ms = (time.perf_counter() - started) * 1000
    total = sum(os.path.getsize(p) for p in landed) / 1e6
    rows.append(("before the index: hash every file", f"{files:,}", "idle", files,
                 f"{total:,.0f}", f"{ms:,.0f}", "grew with every file"))


FILES = (100, 1_000, 10_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=int, default=20, help="size of each history file")
    args = parser.parse_args()
    size = args.kb * 1000
    rows: list[tuple] = []
    sensors = ((invoice_files_sensor, "invoices"), (ctr_product_views_sensor, "product_views"),
               (customers_sensor, "customers"))
    for sensor, folder in sensors:
        for files in FILES if sensor is invoice_files_sensor else FILES[-1:]:
            with tempfile.TemporaryDirectory() as tmp:
                bench_history(rows, Path(tmp), sensor, folder, files, size)
    with tempfile.TemporaryDirectory() as tmp:
        bench_new_files(rows, Path(tmp), FILES[-1], size)
    with tempfile.TemporaryDirectory() as tmp:
        bench_rehash_all(rows, Path(tmp), FILES[-1], size)
    print(md_table(["sensor", "landed files", "tick", "files stat'ed", "MB hashed", "ms",
                    "cursor bytes"], rows))
    print(json.dumps({"history_file_kb": args.kb}))


if __name__ == "__main__":
    main()
