"""What the `commerce` catalog costs and gives: `python -m bench.catalog`.

(a) Publication overhead: one run's publication of a 1,000-row partition (PyIceberg
overwrite of that partition, one snapshot) as the table's snapshots grow, beside the
warehouse transaction that writes the same rows (DuckDB DELETE + INSERT), interleaved;
then the same after the daily expiry (keep 50).
(b) Trino against the API for the page's questions, on the demo's data (`cli.demo --scale
0.2`): each question asked of both in turn, medians; the queries are docs/sql.md's.
Prints two Markdown tables (the README shows them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from assets.shared import md_table
from resources import PlatformPaths
from resources.lib.catalog import publish

ROOT = Path(__file__).resolve().parents[1]
ID = ("invoices", "venue_daily_totals")


def _slice(day: date, rows: int, amount: int) -> pa.Table:
    return pa.table({
        "venue_id": [f"v{i:05d}" for i in range(rows)], "created_date": [day] * rows,
        "total_amount": pa.array([Decimal(amount)] * rows, pa.decimal128(18, 2)),
        "invoice_count": [amount] * rows})


def _ms(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def publication(counts: list[int], rows: int, rounds: int) -> list[tuple]:
    from resources.lib.catalog_maintenance import expire_catalog

    tmp = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    paths = PlatformPaths(data_dir=str(tmp))
    catalog, lake = paths.catalog(), paths.lake_root()
    wh = duckdb.connect(str(tmp / "warehouse.duckdb"))
    wh.execute("CREATE TABLE t (venue_id VARCHAR, created_date DATE, "
               "total_amount DECIMAL(18,2), invoice_count BIGINT)")
    day0, made, out = date(2024, 1, 1), 0, []

    def one(n: int) -> tuple[float, float]:
        data, day = _slice(day0 + timedelta(days=n % 365), rows, n), day0 + timedelta(n % 365)
        wh.register("data", data)

        def warehouse() -> None:
            wh.execute("BEGIN")
            wh.execute("DELETE FROM t WHERE created_date = ?", [day])
            wh.execute("INSERT INTO t SELECT * FROM data")
            wh.execute("COMMIT")
        return _ms(warehouse), _ms(lambda: publish(catalog, lake, ID, data, {},
                                                   "created_date", [day]))

    def measure(label: str) -> None:
        nonlocal made
        pairs = [one(made + i) for i in range(rounds)]
        made += rounds
        table = catalog.load_table(ID)
        meta = os.path.getsize(table.metadata_location.removeprefix("file://")) / 1024
        out.append((label, len(table.snapshots()), f"{statistics.median(p[0] for p in pairs):.1f}",
                    f"{statistics.median(p[1] for p in pairs):.1f}", f"{meta:.0f}"))

    for target in counts:
        while made < target - rounds:
            one(made)
            made += 1
        measure("as published")
        print(*out[-1], sep=" | ", file=sys.stderr, flush=True)  # progress
    t0 = time.perf_counter()
    expire_catalog(catalog, keep=50)
    expiry = f"{time.perf_counter() - t0:.1f}"
    measure("after expiry (keep 50)")
    return [(*row, "") for row in out[:-1]] + [(*out[-1], expiry)]


def _sql_blocks() -> dict[str, str]:
    import re

    text = (ROOT / "docs" / "sql.md").read_text()
    found = {}
    for body in re.findall(r"^```sql\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
        first, _, sql = body.partition("\n")
        if m := re.fullmatch(r"-- check: (\w+)", first.strip()):
            found[m[1]] = sql.strip()
    return found


CTR_RANGE = {"startTimestamp": "2016-02-01 00:00:00", "endTimestamp": "2016-02-02 00:00:00",
             "aggregation": 60}
QUESTIONS = {  # the page's question: (docs/sql.md block, the API's endpoint and parameters)
    "top 3 industries": ("top3", "/industries/scores", {}),
    "CTR, one day, 60-min buckets": ("ctr", "/ctr", CTR_RANGE),
    "venue totals, one venue, a quarter": (
        "venue_totals", "/invoices/venue-totals",
        {"venue_id": "venue-003", "start": "2024-01-01", "end": "2024-03-31"}),
    "late-payment share per month": ("late_share", "/late-payments/share",
                                     {"granularity": "month"}),
}


def _demo(tmp: Path) -> Path:
    home, data = tmp / "home", tmp / "data"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_DB_URL", "_URI", "_URL"))}
    subprocess.run([sys.executable, "-m", "cli.demo", "--scale", "0.2"], cwd=ROOT, check=True,
                   env=env | {"DAGSTER_HOME": str(home), "PLATFORM_DATA_DIR": str(data)},
                   capture_output=True, timeout=1800)
    return data


def _api(data: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--port",
                             str(port), "--log-level", "warning"], cwd=ROOT,
                            env=os.environ | {"PLATFORM_DATA_DIR": str(data)})
    for _ in range(300):
        try:
            _get(port, "/health", {})
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the API did not start")


def _get(port: int, path: str, params: dict) -> object:
    import json
    import urllib.parse
    import urllib.request

    url = f"http://127.0.0.1:{port}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.loads(answer.read())


def engines(rounds: int) -> list[tuple]:
    import trino

    from tests.servers import free_port
    from tests.servers.trino import TrinoServer, properties_of

    data = _demo(Path(tempfile.mkdtemp(prefix="bench-catalog-demo-")))
    port = free_port()
    api = _api(data, port)
    server = TrinoServer({"commerce": properties_of(PlatformPaths(data_dir=str(data)).catalog())})
    server.started()
    cur = trino.dbapi.connect(host="127.0.0.1", port=server.port, user="bench").cursor()
    blocks, out = _sql_blocks(), []
    try:
        for question, (block, path, params) in QUESTIONS.items():
            def sql(b: str = block) -> list:
                cur.execute(blocks[b])
                return cur.fetchall()
            rows, answer = sql(), _get(port, path, params)  # warm both, and count
            pairs = [(_ms(lambda p=path, q=params: _get(port, p, q)), _ms(sql))
                     for _ in range(rounds)]
            api_ms, trino_ms = (statistics.median(p[i] for p in pairs) for i in (0, 1))
            size = len(answer) if isinstance(answer, list) else len(answer.get("industries", []))
            out.append((question, f"{api_ms:.1f}", f"{trino_ms:.0f}", f"{trino_ms / api_ms:.0f}×",
                        f"{size} / {len(rows)}"))
    finally:
        server.close()
        api.terminate()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--snapshots", default="10,50,200,500")
    parser.add_argument("--skip-engines", action="store_true")
    parser.add_argument("--skip-publication", action="store_true")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.snapshots.split(",")]
    if not args.skip_publication:
        rows = publication(counts, 1000, args.rounds)
        print(md_table(["table state", "snapshots", "warehouse replace, ms",
                        "catalog publication, ms", "metadata.json, KB", "expiry, s"], rows))
    if not args.skip_engines:
        print()
        print(md_table(["question (page)", "API, ms", "Trino, ms", "Trino / API",
                        "rows (API / Trino)"], engines(args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
