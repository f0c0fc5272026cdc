"""CTR ingest beside DuckDB, measured in one run (docs/ctr.md, "Ingest speed"; issue 25).

Throughput: distinct files (the real MobileWeb day, every event's timestamp moved by the
copy's number of seconds: new content, not only a new name), ingested by the platform's
ingest path (`intake.ingest`: hash, parse, one Parquet part per date, manifest; no Dagster
run around it) beside DuckDB reading the same files into Parquet (the views only),
interleaved. Memory: one ~1 GB file parsed in a child process (`parse_view_file`) beside
DuckDB's `COPY` of its views, peak RSS growth past the interpreter with its imports.
Hash-only duplicates (the same files again under other names) are timed apart.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.side_by_side import IngestRow, interleaved

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared/data/product-views/MobileWeb/productEvent_20160201.json"
EVENTS = ("STRUCT(event_type VARCHAR, data STRUCT(event_name VARCHAR, "
          "timestamp_unixtime_ms DOUBLE, custom_attributes STRUCT(codeColor VARCHAR)))[]")
VIEWS_SQL = """COPY (SELECT e.data.custom_attributes.codeColor AS product,
  e.data.timestamp_unixtime_ms AS ts FROM (SELECT unnest(events) AS e FROM {reader}({files},
  columns={{'events': '{events}'}}{fmt}))
  WHERE e.event_type = 'custom_event' AND e.data.event_name = 'product') TO '{out}'"""


def write_copies(folder: Path, copies: int, lines: bool) -> list[Path]:
    """`copies` distinct files of the real day (array, pretty-printed like it; or lines)."""
    folder.mkdir(parents=True, exist_ok=True)
    batches = json.loads(REAL.read_bytes())
    files = []
    for k in range(copies):
        for batch in batches:
            for event in batch["events"]:
                event["data"]["timestamp_unixtime_ms"] += 1000 if k else 0
        path = folder / f"copy_{k:03d}.{'jsonl' if lines else 'json'}"
        with path.open("w") as fh:
            if lines:
                fh.writelines(json.dumps(b) + "\n" for b in batches)
            else:
                json.dump(batches, fh, indent=2)
        files.append(path)
    return files


def duckdb_views(files: list[Path], lines: bool, out: Path) -> None:
    """DuckDB's same work: read the files, keep the views, write them to Parquet."""
    import duckdb

    sql = VIEWS_SQL.format(
        reader="read_ndjson" if lines else "read_json", files=[str(f) for f in files],
        events=EVENTS, fmt="" if lines else ", format='array'", out=out)
    with duckdb.connect() as con:
        con.execute(sql)


def _platform(data: Path):  # -> callable ingesting every landed file into a fresh lake
    import dagster as dg

    from assets.ctr.ingest import views_folder
    from assets.ctr.intake import ingest
    from resources import PlatformPaths

    paths = PlatformPaths(data_dir=str(data))
    context = dg.build_asset_context()

    def run() -> int:
        logging.disable(logging.INFO)  # one log line per file: not what is measured
        try:
            done = ingest(context, views_folder(paths), paths.lake_location("ctr"), [])
        finally:
            logging.disable(logging.NOTSET)
        return len(done.loaded)

    return run


def throughput(tmp: Path, copies: int, lines: bool, rounds: int) -> tuple[IngestRow, str]:
    """Platform vs DuckDB over `copies` distinct files; then the hash-only duplicates."""
    landing = tmp / "data" / "landing" / "product_views" / "MobileWeb"
    files = write_copies(landing, copies, lines)
    mb = sum(f.stat().st_size for f in files) / 1e6
    run = _platform(tmp / "data")
    lake = tmp / "data" / "lake"
    times = interleaved(
        {"platform": run, "duckdb": lambda: duckdb_views(files, lines, tmp / "d.parquet")},
        rounds=rounds, setup=lambda: shutil.rmtree(lake, ignore_errors=True))
    run()  # the lake holds the files again (untimed)
    for f in files:  # the same bytes under other names: hashed, recorded as duplicates
        shutil.copyfile(f, f.with_name("dup_" + f.name))
    started = time.perf_counter()
    loaded = run()
    dup_s = time.perf_counter() - started
    form = "JSON Lines, same batches" if lines else f"JSON array, ~{mb:.0f} MB distinct"
    reader = "read_ndjson" if lines else "read_json"
    row = IngestRow(
        path=f"CTR views, {form} ({copies} files, {mb:.0f} MB)",
        platform=f"{mb / times['platform']:.0f} MB/s",
        bare=f"DuckDB {reader} → Parquet {mb / times['duckdb']:.0f} MB/s",
        ratio=times["platform"] / times["duckdb"], target=1.3)
    note = (f"{form}: {loaded} duplicate files ({mb:.0f} MB) hashed only, recorded in "
            f"{dup_s:.2f} s = {mb / dup_s:.0f} MB/s (not a parse rate)")
    shutil.rmtree(tmp / "data", ignore_errors=True)
    return row, note


# VmHWM, not ru_maxrss: Linux keeps a forked parent's ru_maxrss across exec
PEAK = """
import json, sys, time
from pathlib import Path
{imports}
def hwm():
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024
base = hwm()
started = time.perf_counter()
{work}
seconds = time.perf_counter() - started
print(json.dumps({{"base_mb": base, "grown_mb": hwm() - base, "s": seconds}}))
"""
PLATFORM_PEAK = ("from assets.ctr.views_blocks import parse_view_file",
                 "parse_view_file(Path(sys.argv[1]))")
DUCKDB_PEAK = ("import duckdb\nfrom bench.ctr_ingest import duckdb_views",
               "duckdb_views([Path(sys.argv[1])], sys.argv[1].endswith('l'), "
               "Path(sys.argv[1] + '.parquet'))")


def peak(script: tuple[str, str], path: Path) -> dict[str, float]:
    """Peak RSS growth (MB) of a child process doing `script` on `path`, and its seconds."""
    code = PEAK.format(imports=script[0], work=script[1])
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, text=True,
                         capture_output=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def big_file(tmp: Path, gb: float, lines: bool) -> Path:
    """One file of ~`gb` GB: the real day's batches over and over (array or lines)."""
    batches = json.loads(REAL.read_bytes())
    one = ("".join(json.dumps(b) + "\n" for b in batches) if lines
           else json.dumps(batches, indent=2)[1:-1].strip("\n"))
    times = max(1, round(gb * 1e9 / len(one)))
    path = tmp / ("big.jsonl" if lines else "big.json")
    with path.open("w") as fh:
        fh.write("" if lines else "[\n")
        for i in range(times):
            fh.write(one if lines or i == 0 else ",\n" + one)
        fh.write("" if lines else "\n]\n")
    return path


def memory(tmp: Path, gb: float, lines: bool) -> IngestRow:
    path = big_file(tmp, gb, lines)
    size_mb = path.stat().st_size / 1e6
    ours, bare = peak(PLATFORM_PEAK, path), peak(DUCKDB_PEAK, path)
    path.unlink()
    form = "JSON Lines" if lines else "JSON array"
    return IngestRow(
        path=f"CTR peak memory / file size, {size_mb / 1000:.2f} GB {form} (RSS growth past "
             f"the interpreter's {ours['base_mb']:.0f} MB)",
        platform=f"{ours['grown_mb']:,.0f} MB = {ours['grown_mb'] / size_mb:.2f}× "
                 f"({size_mb / ours['s']:.0f} MB/s)",
        bare=f"DuckDB {bare['grown_mb']:,.0f} MB = {bare['grown_mb'] / size_mb:.2f}× "
             f"({size_mb / bare['s']:.0f} MB/s)",
        ratio=ours["grown_mb"] / size_mb, target=2.0)


def ingest_rows(quick: bool = False) -> tuple[list[IngestRow], list[str]]:
    """The rows (and the duplicate notes) of one run; `quick`: small sizes, one round."""
    tmp = Path(tempfile.mkdtemp(prefix="ctr-ingest-bench-"))
    try:
        rows, notes = [], []
        for lines in (False, True):
            row, note = throughput(tmp, 2 if quick else 10, lines, 1 if quick else 3)
            rows.append(row)
            notes.append(note)
        rows += [memory(tmp, 0.1 if quick else 1.0, lines) for lines in (False, True)]
        return rows, notes
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
