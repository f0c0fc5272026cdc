"""Both engines on the same inputs, in one run: CTR ingest + rollup and the late-payment
features, embedded (DuckDB/Polars in this process) and on Spark (Spark Connect).

    .venv/bin/python -m bench.scale [--gb 1 2 4 8] [--invoices 1000000 10000000]
                                    [--store-gb 1] [--no-spark]

CTR: the real MobileWeb day's batches repeated into array files of ~256 MB (a day of an
exporter that writes a file every few hours), parsed into the lake by the `ctr/view_events`
parser of each engine, then the per-minute rollup of the dates they touch. Late payments:
the generator's extracts, every asset of the domain materialized. Spark: `SPARK_REMOTE` if
set, else a local cluster (`cli.spark_cluster`: master, one worker with every core, Connect)
started for the run, warmed up by one small job first. Prints a Markdown table: seconds,
MB/s (or invoices/s) per core, and which engine is faster at each size.

Store: the same CTR files ingested (embedded) from a local landing folder into a local lake
and from a bucket of a SeaweedFS store on loopback (`tests.servers.s3.S3Server`) into a
lake on that bucket, file by file in alternating order in one run (machine load hits both
sides alike); uploading the files to the bucket is not timed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb

from assets.ctr.lake import ingest_file, parse_embedded, partition_files
from assets.ctr.spark_engine import SparkViewsParser, rollup_views
from assets.late_payments.cdc import extract_path_assets
from assets.shared import md_table
from cli import spark_cluster
from cli.generators.late_payments import write_extracts
from resources import PlatformPaths, SparkResource, Warehouse
from resources.lib.landing import LandingFolder
from resources.lib.storage import Location

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared/data/product-views/MobileWeb/productEvent_20160201.json"
FILE_MB = 256
CORES = os.cpu_count() or 1


def view_files(folder: Path, gb: float) -> tuple[list[Path], float]:
    """Array files of ~FILE_MB, the real day's batches repeated, up to `gb`; (files, MB)."""
    inner = REAL.read_text().strip()[1:-1].strip()
    per_file = max(1, round(FILE_MB * 1e6 / len(inner)))
    body = "[" + ",\n".join([inner] * per_file) + "]"
    folder.mkdir(parents=True, exist_ok=True)
    files, total = [], 0.0
    while total < gb * 1000:
        path = folder / f"views_{len(files):03d}.json"
        path.write_text(body)
        files.append(path)
        total += len(body) / 1e6
    return files, total


def landing(folder: Path | Location, state: Path) -> LandingFolder:
    """A product-views landing folder (`<folder>/MobileWeb/...`) with its own index."""
    return LandingFolder(folder, index=state / "landing.sqlite", depth=1)


def ctr(files: list[Path], lake: Location, session) -> tuple[float, float]:  # noqa: ANN001
    """(ingest seconds, rollup seconds) of one engine (`session` None: embedded) over
    `files` (all in one `<views>/MobileWeb/` folder)."""
    parse = SparkViewsParser(session) if session is not None else parse_embedded
    folder = landing(files[0].parent.parent, lake.local().parent)
    started = time.perf_counter()
    for path in files:
        ingest_file(folder, f"MobileWeb/{path.name}", "MobileWeb", lake, parse)
    ingested = time.perf_counter()
    for day in ("2016-01-31", "2016-02-01"):
        parts = partition_files(lake, "MobileWeb", day)
        if session is not None:
            rollup_views(session, [lake.spark_uri(p) for p in parts])
        else:
            duckdb.sql("SELECT product, date_trunc('minute', event_time) m, count(*) "
                       "FROM read_parquet(?) GROUP BY ALL",
                       params=[[lake.path(p) for p in parts]]).fetchall()
    return ingested - started, time.perf_counter() - ingested


def store_vs_local(tmp: Path, gb: float) -> tuple:
    """The table row of the same files ingested from the local folder and from the store,
    alternately file by file."""
    from tests.servers.s3 import S3Server

    files, mb = view_files(tmp / "store-views" / "MobileWeb", gb)
    with S3Server() as server:
        url = f"s3://{server.bucket('bench')}"
        store = Location(url, server.settings())
        for path in files:  # landed on the bucket: not timed
            store.write(f"landing/MobileWeb/{path.name}",
                        lambda tmp_file, path=path: shutil.copyfile(path, tmp_file))
        sides = {
            "local": (landing(files[0].parent.parent, tmp / "state-local"),
                      Location(tmp / "lake-local" / "ctr")),
            "store": (landing(store.child("landing"), tmp / "state-store"),
                      store.child("lake", "ctr")),
        }
        seconds = dict.fromkeys(sides, 0.0)
        for n, path in enumerate(files):
            for side in (("local", "store") if n % 2 == 0 else ("store", "local")):
                folder, lake = sides[side]
                started = time.perf_counter()
                ingest_file(folder, f"MobileWeb/{path.name}", "MobileWeb", lake)
                seconds[side] += time.perf_counter() - started
    per_core = [f"{mb / seconds[side] / CORES:,.1f}" for side in sides]
    slower = seconds["store"] / seconds["local"]
    return ("CTR ingest from the store vs the local folder", f"{mb / 1000:.2f} GB, "
            f"{len(files)} files", f"{seconds['local']:.1f}", f"{seconds['store']:.1f}",
            *per_core, "MB/s per core", f"store {slower:.2f}x the local time")


def features(extracts: Path, root: Path, spark: SparkResource) -> float:
    """Seconds to materialize every late_payments asset from `extracts` under `root`."""
    paths = PlatformPaths(data_dir=str(root))
    landing = paths.landing("retail")
    landing.mkdir(parents=True)
    for csv in extracts.glob("*.csv"):
        os.link(csv, landing / csv.name)
    resources = {"paths": paths, "warehouse": Warehouse(database=str(paths.warehouse)),
                 "spark": spark}
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    (root / "home").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with dg.instance_for_test(temp_dir=str(root / "home")) as instance:
        dg.materialize(extract_path_assets(), resources=resources, instance=instance,
                       run_config=quiet)
    return time.perf_counter() - started


def row(work: str, size: str, amount: float, unit: str, embedded: float, spark: float) -> tuple:
    per_core = [f"{amount / s / CORES:,.1f}" for s in (embedded, spark)]
    faster = "embedded" if embedded <= spark else "spark"
    return (work, size, f"{embedded:.1f}", f"{spark:.1f}", *per_core, unit,
            f"{faster} ({max(embedded, spark) / min(embedded, spark):.1f}x)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gb", type=float, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument("--invoices", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--store-gb", type=float, nargs="*", default=[1])
    parser.add_argument("--no-spark", action="store_true", help="only the store rows")
    args = parser.parse_args()
    rows: list[tuple] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        store_rows = [store_vs_local(tmp / f"store-{gb:g}", gb) for gb in args.store_gb]
        if store_rows:
            print(f"\n{CORES} cores; SeaweedFS on loopback, same machine\n")
            print(md_table(["workload", "input", "local s", "store s", "local per core",
                            "store per core", "unit", "ratio"], store_rows), flush=True)
        if not args.no_spark:
            rows = engines(tmp, args)
    if rows:
        print(f"\n{CORES} cores; Spark: one worker with every core, same machine\n")
        print(md_table(["workload", "input", "embedded s", "spark s", "embedded per core",
                        "spark per core", "unit", "faster"], rows))


def engines(tmp: Path, args: argparse.Namespace) -> list[tuple]:
    """The embedded-vs-Spark rows (a local cluster started for them unless SPARK_REMOTE)."""
    rows: list[tuple] = []
    remote = os.environ.get("SPARK_REMOTE")
    if not remote:
        remote = spark_cluster.up(tmp / "cluster", connect_port=free_port(),
                                  master_port=free_port())
    spark = SparkResource(remote=remote)
    try:
        session = spark.session()
        # JIT and first-job costs out of the figures
        ctr([REAL], Location(tmp / "warmup" / "ctr"), session)
        for gb in args.gb:
            files, mb = view_files(tmp / "views" / "MobileWeb", gb)
            timings = [ctr(files, Location(tmp / f"run-{engine}" / "lake" / "ctr"), s)
                       for engine, s in (("embedded", None), ("spark", session))]
            rows.append(row("CTR ingest", f"{mb / 1000:.1f} GB", mb, "MB/s per core",
                            *(t[0] for t in timings)))
            rows.append(row("CTR rollup (2 days)", f"{mb / 1000:.1f} GB", mb,
                            "MB/s per core", *(t[1] for t in timings)))
            print(rows[-2], rows[-1], flush=True)
            for path in (tmp / "views", tmp / "run-embedded", tmp / "run-spark"):
                shutil.rmtree(path, ignore_errors=True)
        for n in args.invoices:
            extracts = tmp / "extracts"
            write_extracts(extracts, n, seed=1, messy=False)
            seconds = [features(extracts, tmp / f"run-{engine}", s) for engine, s in
                       (("embedded", SparkResource()), ("spark", spark))]
            rows.append(row("late-payment features", f"{n:,} invoices", n,
                            "invoices/s per core", *seconds))
            print(rows[-1], flush=True)
            for path in (extracts, tmp / "run-embedded", tmp / "run-spark"):
                shutil.rmtree(path, ignore_errors=True)
    finally:
        spark.close()
        if not os.environ.get("SPARK_REMOTE"):
            spark_cluster.down(tmp / "cluster")
    return rows


if __name__ == "__main__":
    main()
