"""Reliability of the CTR API: publishing never makes it fail, bad parameters are 422s,
OPTIONS tells every method (issue 15, findings 4 and 10 b/c)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow.parquet as pq
import pytest

from api.main import create_app
from assets.ctr.publish import publish_slice, publish_tier
from assets.ctr.rollups import SCHEMA
from assets.ctr.serving import TABLES, TIER, serving_file, serving_root
from resources.lib.serving import lake_root
from resources.sql import ensure_schemas

DAY = "2016-02-01"
QUERIES = [  # the three read paths: tier rows as stored, tier grouped, per-minute grouped
    {"startTimestamp": f"{DAY} 00:00:00", "endTimestamp": f"{DAY} 02:00:00", "aggregation": 10},
    {"startTimestamp": f"{DAY} 00:00:00", "endTimestamp": f"{DAY} 02:00:00", "aggregation": 60},
    {"startTimestamp": f"{DAY} 00:00:00", "endTimestamp": f"{DAY} 02:00:00", "aggregation": 7},
]


def _slice(conn: duckdb.DuckDBPyConnection, root: Path, rows: int) -> None:
    """Replace the (iOS, DAY) views slice with `rows` rows and publish it as the views
    rollup step does (both per-minute files and the tier)."""
    conn.execute("DELETE FROM ctr.views_per_minute")
    if rows:
        conn.execute(
            """INSERT INTO ctr.views_per_minute SELECT 'iOS', 'P' || (i % 7),
               TIMESTAMP '2016-02-01 00:00:00' + to_minutes(i), 1 FROM range(?) t(i)""",
            [rows],
        )
    for table in TABLES:
        publish_slice(conn, root, table, "iOS", DAY)
    publish_tier(conn, root, "iOS", DAY)


def test_empty_republish_keeps_a_file_with_no_rows(tmp_path: Path) -> None:
    """A slice republished with 0 rows stays a (empty) file: readers never lose it; a
    table that never had rows for the slice (purchases here) gets no file."""
    root = serving_root(lake_root(tmp_path))
    conn = duckdb.connect()
    ensure_schemas(conn, None, [SCHEMA])
    _slice(conn, root, 100)
    _slice(conn, root, 0)
    assert not serving_file(root, "purchases_per_minute", "iOS", DAY).exists()
    for table in ("views_per_minute", TIER):
        path = serving_file(root, table, "iOS", DAY)
        assert path.exists() and pq.ParquetFile(path.open()).metadata.num_rows == 0, table


def test_requests_during_republishing_never_fail(
    tmp_path: Path, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 4: while a slice is republished over and over, alternately with 0 rows and
    with 100, every request answers 200 with one of the two states, never a 5xx."""
    monkeypatch.setenv("CTR_API_CACHE_MB", "0")
    root = serving_root(lake_root(tmp_path))
    conn = duckdb.connect()
    ensure_schemas(conn, None, [SCHEMA])
    url = live_server(create_app(data_dir=str(tmp_path)))
    with httpx.Client(base_url=url, timeout=30) as client:
        _slice(conn, root, 100)
        full = [client.get("/ctr", params=q).content for q in QUERIES]
        _slice(conn, root, 0)
        empty = [client.get("/ctr", params=q).content for q in QUERIES]
        assert all(b != b"[]" for b in full) and empty == [b"[]"] * 3

        stop = threading.Event()

        def republish() -> int:
            n = 0
            while not stop.is_set():
                _slice(conn, root, 100 if n % 2 else 0)
                n += 1
            return n

        def ask(i: int) -> tuple[int, int, bytes]:
            r = client.get("/ctr", params=QUERIES[i % 3])
            return i % 3, r.status_code, r.content

        with ThreadPoolExecutor(4) as pool:
            publisher = pool.submit(republish)
            try:
                answers = list(pool.map(ask, range(600)))
            finally:
                stop.set()
            assert publisher.result() > 10
    failed = [(status, body[:200]) for _, status, body in answers if status != 200]
    assert failed == []
    assert all(body in (full[q], empty[q]) for q, _, body in answers)


@pytest.fixture
def client(tmp_path: Path, live_server: Any) -> httpx.Client:
    url = live_server(create_app(data_dir=str(tmp_path)))
    with httpx.Client(base_url=url, timeout=10) as c:
        yield c


BASE = {"startTimestamp": f"{DAY} 00:00:00", "endTimestamp": f"{DAY} 06:00:00",
        "aggregation": 60}


@pytest.mark.parametrize("field", ["aggregation", "limit", "offset"])
@pytest.mark.parametrize("value", [True, False, "１０", " 10", "+10", "1_0", 10.0])
def test_integers_are_strict_in_the_body(client: httpx.Client, field: str, value: Any) -> None:
    """Finding 10b: a bool, full-width digits, padded or signed or underscored strings, a
    float where the JSON body needs an integer: 422 naming the field."""
    r = client.post("/ctr", json={**BASE, field: value})
    assert r.status_code == 422, r.text
    assert ["body", field] in [d["loc"] for d in r.json()["detail"]]


@pytest.mark.parametrize("field", ["aggregation", "limit", "offset"])
@pytest.mark.parametrize("value", ["true", "１０", " 10", "+10", "1_0", "10.0"])
def test_integers_are_plain_digits_in_the_query(
    client: httpx.Client, field: str, value: str
) -> None:
    """Finding 10b in a query string: only ASCII digits make an integer."""
    r = client.get("/ctr", params={**BASE, field: value})
    assert r.status_code == 422, r.text
    assert ["query", field] in [d["loc"] for d in r.json()["detail"]]


def test_plain_integers_still_work(client: httpx.Client) -> None:
    assert client.get("/ctr", params={**BASE, "limit": "5", "offset": "0"}).status_code == 200
    assert client.post("/ctr", json={**BASE, "limit": 5, "offset": 0}).status_code == 200


def test_options_and_405_list_every_method(client: httpx.Client) -> None:
    """Finding 10c: OPTIONS /ctr (and a 405 on /ctr) name GET, POST and OPTIONS (FastAPI
    routes answer no HEAD: a HEAD is a 405 that says so)."""
    r = client.options("/ctr")
    assert r.status_code == 204
    allowed = {m.strip() for m in r.headers["allow"].split(",")}
    assert allowed == {"GET", "POST", "OPTIONS"}
    r = client.put("/ctr", json=BASE)
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} == allowed
    assert client.head("/ctr").headers["allow"] == r.headers["allow"]
    health = client.options("/health").headers["allow"]
    assert {m.strip() for m in health.split(",")} == {"GET", "OPTIONS"}
