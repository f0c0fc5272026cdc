"""The candidate storage libraries on the same objects of a real SeaweedFS:
`python -m bench.storage_libs [--rounds N]`.

pyarrow.fs (the one `resources/lib/storage.py` uses, docs/storage.md says why), fsspec+s3fs
and obstore, each through its own S3 client, against one `weed server -s3` on loopback
(`tests.servers.s3.S3Server`, the tests' store). A library that is not installed is skipped
with a note: s3fs and obstore are not dependencies of the platform, so install them into a
throwaway environment for a run (`pip install --target /tmp/libs s3fs obstore`, then
`PYTHONPATH=/tmp/libs python -m bench.storage_libs`).

Operations, each on the same objects for every library: LIST of a prefix of 1,000 and of
10,000 objects (every page), GET and PUT of 1, 10 and 100 MB (whole object, one call), HEAD
of 1,000 objects one after the other. Rounds are interleaved (round 1: every library, every
operation; then round 2 ...), so a slow moment of the shared machine falls on all of them;
the table shows the median of the rounds and the S3 requests one call made (the gateway's
metrics). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pyarrow.fs as pafs

from tests.servers.s3 import S3Server

LISTS = (1_000, 10_000)
SIZES_MB = (1, 10, 100)
HEADS = 1_000
SMALL = b"x" * 100  # the listed and HEADed objects


class PyArrow:
    name = "pyarrow.fs"

    def __init__(self, server: S3Server, bucket: str) -> None:
        self.fs = pafs.S3FileSystem(
            access_key=server.access_key, secret_key=server.secret_key, region="us-east-1",
            scheme="http", endpoint_override=server.endpoint_url.split("://", 1)[1])
        self.bucket = bucket

    def list(self, prefix: str) -> int:
        sel = pafs.FileSelector(f"{self.bucket}/{prefix}", recursive=True)
        return sum(1 for i in self.fs.get_file_info(sel) if i.type == pafs.FileType.File)

    def get(self, key: str) -> int:
        with self.fs.open_input_stream(f"{self.bucket}/{key}") as f:
            return len(f.read())

    def put(self, key: str, data: bytes) -> None:
        with self.fs.open_output_stream(f"{self.bucket}/{key}") as f:
            f.write(data)

    def head(self, key: str) -> int:
        return self.fs.get_file_info(f"{self.bucket}/{key}").size


class S3fs:
    name = "fsspec+s3fs"

    def __init__(self, server: S3Server, bucket: str) -> None:
        import s3fs

        self.fs = s3fs.S3FileSystem(
            key=server.access_key, secret=server.secret_key, endpoint_url=server.endpoint_url,
            client_kwargs={"region_name": "us-east-1"}, use_listings_cache=False,
            skip_instance_cache=True)
        self.bucket = bucket

    def list(self, prefix: str) -> int:
        return len(self.fs.find(f"{self.bucket}/{prefix}"))

    def get(self, key: str) -> int:
        return len(self.fs.cat_file(f"{self.bucket}/{key}"))

    def put(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(f"{self.bucket}/{key}", data)

    def head(self, key: str) -> int:
        return self.fs.info(f"{self.bucket}/{key}")["size"]


class Obstore:
    name = "obstore"

    def __init__(self, server: S3Server, bucket: str) -> None:
        import obstore
        from obstore.store import S3Store

        self.obs = obstore
        self.store = S3Store(
            bucket, endpoint=server.endpoint_url, access_key_id=server.access_key,
            secret_access_key=server.secret_key, region="us-east-1",
            client_options={"allow_http": True})

    def list(self, prefix: str) -> int:
        return len(self.obs.list(self.store, prefix + "/").collect())

    def get(self, key: str) -> int:
        return len(self.obs.get(self.store, key).bytes())

    def put(self, key: str, data: bytes) -> None:
        self.obs.put(self.store, key, data)

    def head(self, key: str) -> int:
        return self.obs.head(self.store, key)["size"]


def libraries(server: S3Server, bucket: str) -> tuple[list, list[str]]:
    """The installed libraries' clients, and a note for each one skipped."""
    found, notes = [], []
    for cls, module in ((PyArrow, "pyarrow"), (S3fs, "s3fs"), (Obstore, "obstore")):
        try:
            found.append(cls(server, bucket))
        except ImportError:
            notes.append(f"{cls.name}: skipped, `{module}` is not installed")
    return found, notes


def seed(lib: PyArrow) -> None:
    """The objects every library reads: the two listed prefixes and the GET objects."""
    keys = [f"list{n}/obj-{i:05d}" for n in LISTS for i in range(n)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: lib.put(k, SMALL), keys))
    for mb in SIZES_MB:
        lib.put(f"get/{mb}mb", os.urandom(mb << 20))


def operations(payloads: dict[int, bytes]) -> dict[str, Callable]:
    """name -> fn(lib) (one timed call)."""
    ops: dict[str, Callable] = {}
    for n in LISTS:
        ops[f"LIST {n:,} objects"] = lambda lib, n=n: _expect(lib.list(f"list{n}"), n)
    for mb in SIZES_MB:
        ops[f"GET {mb} MB"] = lambda lib, mb=mb: _expect(lib.get(f"get/{mb}mb"), mb << 20)
    for mb in SIZES_MB:
        ops[f"PUT {mb} MB"] = lambda lib, mb=mb: lib.put(f"put/{lib.name}/{mb}mb", payloads[mb])
    keys = [f"list{LISTS[0]}/obj-{i:05d}" for i in range(HEADS)]
    ops[f"HEAD {HEADS:,} objects, one by one"] = lambda lib: [lib.head(k) for k in keys]
    return ops


def _expect(got: int, want: int) -> None:
    assert got == want, f"{got} != {want}"


def measure(server: S3Server, libs: list, ops: dict[str, Callable], rounds: int):
    """{(op, lib): [seconds per round]}, {(op, lib): S3 requests of one call}."""
    times: dict[tuple[str, str], list[float]] = {}
    calls: dict[tuple[str, str], float] = {}
    for r in range(rounds):
        for op, fn in ops.items():
            for lib in libs if r % 2 == 0 else libs[::-1]:
                before = server.requests() if r == 0 else None
                start = time.perf_counter()
                fn(lib)
                times.setdefault((op, lib.name), []).append(time.perf_counter() - start)
                if before is not None:
                    after = server.requests()
                    calls[(op, lib.name)] = sum(after.values()) - sum(before.values())
    return times, calls


def table(libs: list, ops: dict, times: dict, calls: dict) -> str:
    rows = []
    for op in ops:
        best = min(statistics.median(times[(op, lib.name)]) for lib in libs)
        cells = []
        for lib in libs:
            med = statistics.median(times[(op, lib.name)])
            mark = " **fastest**" if med == best and len(libs) > 1 else ""
            cells.append(f"{med * 1000:,.0f} ms ({calls[(op, lib.name)]:.0f} req){mark}")
        rows.append((op, *cells))
    headers = ["operation (median of rounds)", *(lib.name for lib in libs)]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    server = S3Server().started()
    try:
        bucket = server.bucket("bench")
        libs, notes = libraries(server, bucket)
        started = time.perf_counter()
        seed(libs[0])
        seeded = time.perf_counter() - started
        payloads = {mb: os.urandom(mb << 20) for mb in SIZES_MB}
        ops = operations(payloads)
        times, calls = measure(server, libs, ops, args.rounds)
        print(table(libs, ops, times, calls))
        for note in notes:
            print(f"- {note}")
        versions = {lib.name: _version(lib) for lib in libs}
        print(json.dumps({"rounds": args.rounds, "seed_seconds": round(seeded, 1),
                          "versions": versions, "seaweedfs": _weed_version(server)}))
    finally:
        server.stop()


def _weed_version(server: S3Server) -> str:
    import subprocess

    out = subprocess.run([str(server.binary), "version"], capture_output=True, text=True)
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else "?"


def _version(lib: object) -> str:
    import importlib.metadata as md

    return md.version({"pyarrow.fs": "pyarrow", "fsspec+s3fs": "s3fs",
                       "obstore": "obstore"}[lib.name])


if __name__ == "__main__":
    main()
