"""CTR semantics on a hand-built case, over a real uvicorn server on a loopback port."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from api.main import create_app
from tests.ctr.conftest import write_serving

VIEWS = [
    ("iOS", "A", "2016-02-01 10:00", 3),
    ("iOS", "A", "2016-02-01 10:05", 2),
    ("iOS", "A", "2016-02-01 10:10", 5),
    ("iOS", "A", "2016-02-01 10:15", 7),  # at the end: excluded when end = 10:15
    ("Android", "B", "2016-02-01 10:00", 4),
    ("iOS", "A", "2016-02-01 09:59", 100),  # before the start: excluded
    ("MobileWeb", "A", "2016-02-02 00:00", 6),  # the next day (another file)
]
PURCHASES = [
    ("iOS", "A", "2016-02-01 10:01", 1),
    ("iOS", "A", "2016-02-01 10:12", 2),
    ("MobileWeb", "C", "2016-02-01 10:03", 1),  # purchases, no views: ctr null
]


@pytest.fixture(params=["with_tier", "minute_only"])
def api(request: pytest.FixtureRequest, tmp_path: Path, live_server: Any) -> httpx.Client:
    """The API over the full serving layout, and over per-minute files alone (slices
    published before the 10-minute tier existed): every test must pass on both."""
    write_serving(tmp_path, VIEWS, PURCHASES, tier=request.param == "with_tier")
    url = live_server(create_app(data_dir=str(tmp_path)))
    with httpx.Client(base_url=url, timeout=10) as client:
        yield client


def q(start: str, end: str, agg: int, **extra: Any) -> dict[str, Any]:
    return {"startTimestamp": start, "endTimestamp": end, "aggregation": agg, **extra}


def test_hand_built_ctr_and_bucket_edges(api: httpx.Client) -> None:
    r = api.get("/ctr", params=q("2016-02-01 10:00:00", "2016-02-01 10:15:00", 10))
    assert r.status_code == 200, r.text
    assert r.json() == [
        {"timestamp": "2016-02-01 10:00:00", "platform": "Android", "product": "B",
         "ctr": 0.0, "purchases": 0, "views": 4},
        {"timestamp": "2016-02-01 10:00:00", "platform": "MobileWeb", "product": "C",
         "ctr": None, "purchases": 1, "views": 0},
        {"timestamp": "2016-02-01 10:00:00", "platform": "iOS", "product": "A",
         "ctr": 0.2, "purchases": 1, "views": 5},
        # last bucket [10:10, 10:15) is truncated at the end: the 10:15 views are out
        {"timestamp": "2016-02-01 10:10:00", "platform": "iOS", "product": "A",
         "ctr": 0.4, "purchases": 2, "views": 5},
    ]


def test_ten_minute_grid_query(api: httpx.Client) -> None:
    """Buckets on the 10-minute grid (the tier's own rows when it exists)."""
    r = api.get("/ctr", params=q("2016-02-01 10:00:00", "2016-02-01 10:20:00", 10))
    assert r.json() == [
        {"timestamp": "2016-02-01 10:00:00", "platform": "Android", "product": "B",
         "ctr": 0.0, "purchases": 0, "views": 4},
        {"timestamp": "2016-02-01 10:00:00", "platform": "MobileWeb", "product": "C",
         "ctr": None, "purchases": 1, "views": 0},
        {"timestamp": "2016-02-01 10:00:00", "platform": "iOS", "product": "A",
         "ctr": 0.2, "purchases": 1, "views": 5},
        {"timestamp": "2016-02-01 10:10:00", "platform": "iOS", "product": "A",
         "ctr": 0.1667, "purchases": 2, "views": 12},
    ]
    day = api.get("/ctr", params=q("2016-02-01 00:00:00", "2016-02-03 00:00:00", 20,
                                   platform="mobileweb"))
    assert day.json() == [
        {"timestamp": "2016-02-01 10:00:00", "platform": "MobileWeb", "product": "C",
         "ctr": None, "purchases": 1, "views": 0},
        {"timestamp": "2016-02-02 00:00:00", "platform": "MobileWeb", "product": "A",
         "ctr": 0.0, "purchases": 0, "views": 6},
    ]


def test_truncated_last_bucket_and_offset_start(api: httpx.Client) -> None:
    rows = api.get(
        "/ctr", params=q("2016-02-01 10:05:00", "2016-02-01 10:12:00", 6, platform="ios")
    ).json()
    # buckets [10:05, 10:11) and [10:11, 10:12): minute 10:12 is outside (end exclusive)
    assert rows == [
        {"timestamp": "2016-02-01 10:05:00", "platform": "iOS", "product": "A",
         "ctr": 0.0, "purchases": 0, "views": 7},
    ]
    rows = api.get(
        "/ctr", params=q("2016-02-01 10:05:00", "2016-02-01 10:13:00", 6, platform="IOS")
    ).json()
    assert [(r["timestamp"], r["purchases"], r["views"]) for r in rows] == [
        ("2016-02-01 10:05:00", 0, 7),
        ("2016-02-01 10:11:00", 2, 0),
    ]
    assert rows[1]["ctr"] is None


def test_ctr_rounding_and_filters(api: httpx.Client) -> None:
    rows = api.get(
        "/ctr", params=q("2016-02-01 10:00:00", "2016-02-01 10:15:00", 15, product="A")
    ).json()
    assert rows == [
        {"timestamp": "2016-02-01 10:00:00", "platform": "iOS", "product": "A",
         "ctr": 0.3, "purchases": 3, "views": 10},
    ]
    rows = api.get(
        "/ctr", params=q("2016-02-01 10:00:00", "2016-02-01 10:14:00", 14, product="A")
    ).json()
    assert rows[0]["ctr"] == round(3 / 10, 4)
    rows = api.get(
        "/ctr", params=q("2016-02-01 10:00:00", "2016-02-01 10:12:00", 12, product="A")
    ).json()
    assert rows[0]["ctr"] == 0.1 and rows[0]["views"] == 10  # 10:12 purchase excluded
    only = api.get(
        "/ctr", params=q("2016-02-01 09:00:00", "2016-02-03 00:00:00", 60, platform="mobileWEB")
    ).json()
    assert {r["platform"] for r in only} == {"MobileWeb"}
    assert [(r["product"], r["views"], r["purchases"]) for r in only] == [
        ("C", 0, 1),
        ("A", 6, 0),  # the next day's file is read for a range that crosses midnight
    ]
    assert api.get(
        "/ctr", params=q("2016-02-01 10:00:00", "2016-02-01 10:15:00", 5, product="nope")
    ).json() == []


def test_post_equals_get(api: httpx.Client) -> None:
    body = q("2016-02-01 09:00:00", "2016-02-02 12:00:00", 7, platform="Ios")
    got = api.get("/ctr", params=body)
    posted = api.post("/ctr", json=body)
    assert posted.status_code == 200
    assert posted.json() == got.json() and len(got.json()) > 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"endTimestamp": "2016-02-01 10:00:00", "aggregation": 5}, "startTimestamp"),
        (q("2016-02-01T10:00:00", "2016-02-01 11:00:00", 5), "startTimestamp"),
        (q("2016-02-30 10:00:00", "2016-02-01 11:00:00", 5), "startTimestamp"),
        (q("2016-02-01 10:00:00", "2016-02-01 10:00:00", 5), "endTimestamp"),
        (q("2016-02-01 10:00:00", "2016-02-01 09:00:00", 5), "endTimestamp"),
        (q("2016-02-01 10:00:00", "2016-02-01 11:00:00", 0), "aggregation"),
        (q("2016-02-01 10:00:00", "2016-02-01 11:00:00", "ten"), "aggregation"),
        (q("2016-02-01 10:00:00", "2016-02-01 11:00:00", 5, platform="Desktop"), "platform"),
        (q("2016-02-01 10:00:00", "2016-02-01 11:00:00", 5, limit=0), "limit"),
    ],
)
def test_bad_parameters_get_422_naming_the_field(
    api: httpx.Client, params: dict, field: str
) -> None:
    for response in (api.get("/ctr", params=params), api.post("/ctr", json=params)):
        assert response.status_code == 422, response.text
        assert field in {str(x) for d in response.json()["detail"] for x in d["loc"]}


def test_row_limit_refuses_or_pages(api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTR_API_MAX_ROWS", "2")
    params = q("2016-02-01 10:00:00", "2016-02-01 10:15:00", 10)
    r = api.get("/ctr", params=params)
    assert r.status_code == 422 and "more than 2 rows" in r.text
    assert r.json()["detail"][0]["loc"] == ["query", "limit"]
    assert api.get("/ctr", params={**params, "limit": 3}).status_code == 422
    first = api.get("/ctr", params={**params, "limit": 2})
    assert first.status_code == 200 and len(first.json()) == 2
    assert first.headers["X-Next-Offset"] == "2" and 'rel="next"' in first.headers["Link"]
    second = api.get("/ctr", params={**params, "limit": 2, "offset": 2})
    assert "X-Next-Offset" not in second.headers
    monkeypatch.setenv("CTR_API_MAX_ROWS", "100")
    assert first.json() + second.json() == api.get("/ctr", params=params).json()
    paged = api.post("/ctr", json={**params, "limit": 1, "offset": 3})
    assert len(paged.json()) == 1 and "X-Next-Offset" not in paged.headers


def test_health_and_openapi(api: httpx.Client, request: pytest.FixtureRequest) -> None:
    health = api.get("/health").json()
    # 3 views + 2 purchases files, and one tier file per (platform, day) with either
    tier_files = 4 if request.node.callspec.params["api"] == "with_tier" else 0
    assert health["status"] == "ok" and health["serving_files"] == 5 + tier_files
    doc = api.get("/openapi.json").json()
    assert {"get", "post"} <= set(doc["paths"]["/ctr"])
    names = {p["name"] for p in doc["paths"]["/ctr"]["get"]["parameters"]}
    assert {"startTimestamp", "endTimestamp", "aggregation", "product", "platform"} <= names


def test_empty_serving_dir_answers_empty(tmp_path: Path, live_server: Any) -> None:
    url = live_server(create_app(data_dir=str(tmp_path / "nothing")))
    r = httpx.get(f"{url}/ctr", params=q("2016-02-01 10:00:00", "2016-02-01 10:15:00", 10))
    assert r.status_code == 200 and r.json() == []


def test_api_answers_while_a_writer_holds_the_warehouse(
    tmp_path: Path, live_server: Any
) -> None:
    """Another process holds DuckDB's write lock on warehouse.duckdb (as a Dagster run
    does): the warehouse cannot even be opened read-only, yet the API answers."""
    import subprocess
    import sys

    import duckdb

    write_serving(tmp_path, VIEWS, PURCHASES)
    warehouse = tmp_path / "warehouse.duckdb"
    writer = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time\n"
         f"c = duckdb.connect({str(warehouse)!r})\n"
         "c.execute('CREATE TABLE t AS SELECT 1 AS x'); c.execute('BEGIN')\n"
         "c.execute('INSERT INTO t VALUES (2)')\n"
         "print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "locked"
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(warehouse), read_only=True)
        url = live_server(create_app(data_dir=str(tmp_path)))
        r = httpx.get(f"{url}/ctr", params=q("2016-02-01 10:00:00", "2016-02-01 10:15:00", 10))
        assert r.status_code == 200 and len(r.json()) == 4
    finally:
        writer.kill()
        writer.wait(timeout=10)
