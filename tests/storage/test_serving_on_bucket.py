"""The API with LAKE_URL on a bucket of a real S3-compatible store: every read endpoint
answers from the published files in the bucket exactly as from the same files on this disk;
an empty bucket answers no rows (never a 500); a republished file is seen at once (a
bucket's whole-second Last-Modified does not let the answer cache serve the old one)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from resources.lib.serving import (
    INDUSTRY_HISTORY,
    INDUSTRY_SCORES,
    INVOICE_TOTALS,
    INVOICE_VENUES,
    answer_file,
    lake_root,
    publish_table,
)
from resources.lib.storage import Location
from tests.ctr.conftest import write_serving

pytestmark = pytest.mark.integration
READS = ["/ctr/days", "/invoices/venues", "/invoices/venue-totals?start=2024-01-01&end=2024-12-31",
         "/industries/scores", "/industries/history?start=2024-03-01&end=2024-03-02",
         "/ctr?startTimestamp=2016-02-01 10:00:00&endTimestamp=2016-02-01 12:00:00"
         "&aggregation=10"]
SCORE = {"industry": ["food"], "last_24h": [2.0], "baseline": [1.0], "change_abs": [1.0],
         "change_pct": [100.0], "rank": [1], "as_of": [datetime(2024, 3, 1, 12)],
         "complete": [True]}


def _publish_some(lake: Location, data_dir: Path) -> None:
    """A little of every answer, published as the assets publish it."""
    write_serving(data_dir, [("iOS", "A", "2016-02-01 10:00", 3),
                             ("iOS", "B", "2016-02-01 11:01", 2)],
                  [("iOS", "A", "2016-02-01 10:05", 1)])
    totals = pl.DataFrame({"venue_id": ["v"], "created_date": [date(2024, 3, 1)],
                           "total_amount": [1.5], "invoice_count": [1],
                           "updated_at": [datetime(2024, 3, 2)], "files": [["f.csv"]],
                           "last_file": ["f.csv"]})
    publish_table(answer_file(lake, INVOICE_TOTALS, "2024-03"), totals.to_arrow())
    venues = {"venue_id": ["v"], "first_date": [date(2024, 3, 1)], "last_date": [date(2024, 3, 1)]}
    publish_table(answer_file(lake, INVOICE_VENUES), pl.DataFrame(venues).to_arrow())
    publish_table(answer_file(lake, INDUSTRY_SCORES), pl.DataFrame(SCORE).to_arrow())
    history = pl.DataFrame({**SCORE, "scored_at": [datetime(2024, 3, 1, 12)], "run_id": ["r"]})
    publish_table(answer_file(lake, INDUSTRY_HISTORY, "2024-03-01"), history.to_arrow())


def _copy_tree(source: Location, target: Location) -> int:
    for entry in source.list():
        target.write_bytes(entry.rel, source.read_bytes(entry.rel))
    return len(source.list())


@pytest.fixture
def bucket_lake(s3_bucket, s3_server, monkeypatch) -> Location:
    monkeypatch.setenv("LAKE_URL", f"s3://{s3_bucket}/lake")
    return Location(f"s3://{s3_bucket}/lake", s3_server.settings())


def test_every_read_answers_the_same_from_the_bucket(tmp_path, bucket_lake, monkeypatch):
    local = lake_root(tmp_path)
    _publish_some(local, tmp_path)
    assert _copy_tree(local, bucket_lake) == 7  # 3 CTR, 2 invoices, 2 industries
    empty = tmp_path / "empty"  # the bucket app's data dir: nothing of the lake is read here
    on_disk = TestClient(create_app(str(tmp_path)))
    on_bucket = TestClient(create_app(str(empty)))
    with monkeypatch.context() as patch:
        patch.delenv("LAKE_URL")
        want = {url: on_disk.get(url).json() for url in READS}
    for url in READS:
        answer = on_bucket.get(url)
        assert answer.status_code == 200, (url, answer.text)
        assert answer.json() == want[url] and want[url], url
    assert on_bucket.get("/health").json()["serving_files"] == len(
        [e for e in local.child("ctr", "serving").list() if e.rel.count("/") == 2])
    assert not empty.exists()


def test_an_empty_bucket_answers_no_rows(bucket_lake, tmp_path) -> None:
    client = TestClient(create_app(str(tmp_path)), raise_server_exceptions=False)
    for url in READS:
        answer = client.get(url)
        assert answer.status_code in (200, 404), (url, answer.text)
        assert answer.status_code == 200 or url == "/industries/scores"


def test_a_republished_file_is_seen_at_once(bucket_lake, tmp_path, monkeypatch) -> None:
    """Two publications within one second, same size: the second answer is the new one."""
    client = TestClient(create_app(str(tmp_path)))
    url = READS[-1]
    rows = [("iOS", "A", "2016-02-01 10:00", 3)]
    write_serving(tmp_path, rows, [])
    _copy_tree(lake_root(tmp_path), bucket_lake)
    first = client.get(url).json()
    write_serving(tmp_path / "again", [("iOS", "A", "2016-02-01 10:00", 4)], [])
    _copy_tree(lake_root(tmp_path / "again"), bucket_lake)
    second = client.get(url).json()
    assert [r["views"] for r in first] == [3] and [r["views"] for r in second] == [4]
