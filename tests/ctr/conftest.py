"""Fixtures of the ctr tests: a temp data root, resources, a loopback uvicorn server."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest
import uvicorn

from assets.ctr.serving import serving_root
from resources.lib.serving import lake_root

REAL_FILE = (
    Path(__file__).resolve().parents[3]
    / "shared" / "data" / "product-views" / "MobileWeb" / "productEvent_20160201.json"
)


@pytest.fixture
def real_file() -> Path:
    if not REAL_FILE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and the real event file is missing: {REAL_FILE}")
        pytest.skip(f"real event file absent: {REAL_FILE}")
    return REAL_FILE


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Resources built from the environment with PLATFORM_DATA_DIR = tmp_path (embedded)."""
    from resources import build_resources

    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PURCHASES_DB_URL", raising=False)
    return build_resources()


def ctr_defs(resources: dict[str, Any]) -> dg.Definitions:
    """The ctr domain bound to test resources (the real definitions.py binds env at import)."""
    from definitions import domain_defs

    return domain_defs("ctr", resources)


def rollup_rows(rows: list[tuple[str, str, str, int]]) -> dict[tuple[str, str], pa.Table]:
    """[(platform, product, 'YYYY-MM-DD HH:MM', count)] -> one Arrow table per (platform, day)."""
    out: dict[tuple[str, str], list] = {}
    for platform, product, minute, count in rows:
        out.setdefault((platform, minute[:10]), []).append(
            (platform, product, datetime.strptime(minute, "%Y-%m-%d %H:%M"), count)
        )
    return {
        k: pa.table(
            {
                "platform": [r[0] for r in v],
                "product": [r[1] for r in v],
                "minute": pa.array([r[2] for r in v], pa.timestamp("us")),
                "count": pa.array([r[3] for r in v], pa.int64()),
            }
        )
        for k, v in out.items()
    }


def write_serving(data_dir: Path, views: list, purchases: list, tier: bool = True) -> None:
    """Serving files for hand-built rollup rows, written by the rollup assets' own publish
    steps (through an in-memory warehouse). `tier=False` leaves out the 10-minute tier, as
    a slice published before the tier existed."""
    import duckdb

    from assets.ctr.publish import publish_slice, publish_tier
    from assets.ctr.rollups import SCHEMA
    from resources.sql import ensure_schemas

    root = serving_root(lake_root(data_dir))
    conn = duckdb.connect()
    ensure_schemas(conn, None, [SCHEMA])
    slices: set[tuple[str, str]] = set()
    for table, rows in (("views_per_minute", views), ("purchases_per_minute", purchases)):
        for (platform, day), tbl in rollup_rows(rows).items():
            conn.from_arrow(tbl).insert_into(f"ctr.{table}")
            publish_slice(conn, root, table, platform, day)
            slices.add((platform, day))
    if tier:
        for platform, day in sorted(slices):
            publish_tier(conn, root, platform, day)
    conn.close()


@pytest.fixture
def live_server() -> Iterator[Any]:
    """Start uvicorn for an app on a free loopback port in a thread: `start(app) -> url`."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Any) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)
