"""What the invoice sensor's tick costs with LANDING_URL on a bucket: `python -m
bench.sensors_store`.

The same evaluation as `bench/sensors.py` (the real sensor, `build_sensor_context`), over a
bucket of a SeaweedFS store on loopback (`tests.servers.s3.S3Server`) already holding 1,000
or 10,000 landed objects, all seen. Per tick: milliseconds and the S3 requests the store
served (LIST, GET, HEAD, from its metrics). Targets (issue 22): an idle tick over 10,000
objects issues one listing of the prefix (~10 LIST calls of 1,000 keys) and no GET; new
objects cost one GET each, in proportion to their bytes. Prints a Markdown table.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from assets.shared import md_table
from bench.sensors import ROW, tick
from resources import PlatformPaths
from resources.lib.storage import Location
from sensors.invoices import invoice_files_sensor

KINDS = ("LIST", "GET", "HEAD")  # the store's request types (its metrics)


def body(size: int) -> bytes:
    text = "venue_id,invoice_id,datetime_created,total\n"
    text += "".join(ROW.format(i) for i in range(max(1, size // len(ROW.format(0)))))
    return text.encode()[:size] if size < len(text) else text.encode()


def counted(server, sensor, paths: PlatformPaths, cursor: str | None):
    """(ms, cursor, run requests, {LIST, GET, HEAD}) of one tick."""
    before = server.requests()
    seconds, cursor, requests, _, _ = tick(sensor, paths, cursor)
    after = server.requests()
    delta = {k: int(after.get(k, 0) - before.get(k, 0)) for k in KINDS}
    return seconds * 1000, cursor, requests, delta


def landed(server, files: int, root: Path) -> tuple[PlatformPaths, Location]:
    url = f"s3://{server.bucket('sensors')}/landing"
    env = server.env()
    paths = PlatformPaths(data_dir=str(root), landing_settle_seconds=5, landing_url=url,
                          aws_endpoint_url=env["AWS_ENDPOINT_URL"],
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                          aws_region=env["AWS_REGION"])
    folder = paths.landing_location("invoices")
    content = body(20_000)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: folder.write_bytes(f"invoices_{n:06d}_2024-01-02.csv",
                                                   content), range(files)))
    return paths, folder


def bench(server, rows: list, files: int, root: Path) -> None:
    paths, folder = landed(server, files, root)
    time.sleep(2.1)  # the racy rule: Last-Modified has whole seconds
    first_ms, cursor, _, first = counted(server, invoice_files_sensor, paths, None)
    n = f"{files:,}"
    ticks = [counted(server, invoice_files_sensor, paths, cursor) for _ in range(5)]
    ms = statistics.median(t[0] for t in ticks)
    calls = ticks[-1][3]
    rows.append((n, "idle (median of 5)", calls["LIST"], calls["GET"], calls["HEAD"],
                 f"{ms:,.0f}"))
    rows.append((n, "first tick: the whole history is new", first["LIST"], first["GET"],
                 first["HEAD"], f"{first_ms:,.0f}"))
    if files < 10_000:
        return
    for size_mb in (1, 10, 100):
        folder.write_bytes(f"new_{size_mb}mb_2024-01-03.csv", body(size_mb * 1_000_000))
        time.sleep(2.1)
        ms, cursor, requests, calls = counted(server, invoice_files_sensor, paths, cursor)
        assert requests, "the new object was not found"
        rows.append((n, f"1 new object x {size_mb} MB", calls["LIST"], calls["GET"],
                     calls["HEAD"], f"{ms:,.0f} ({ms / size_mb:.1f} per MB)"))


def main() -> None:
    from tests.servers.s3 import S3Server

    rows: list[tuple] = []
    with S3Server() as server, tempfile.TemporaryDirectory() as tmp:
        for files in (1_000, 10_000):
            bench(server, rows, files, Path(tmp) / str(files))
    print(md_table(["landed objects", "tick", "LIST", "GET", "HEAD", "ms"], rows))


if __name__ == "__main__":
    main()
