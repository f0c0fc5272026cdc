"""The CTR pipeline on the Spark cluster gives the embedded engine's exact results: the same
lake rows, the same contract tables and byte-identical API answers, on the real MobileWeb
day plus messy files (malformed batches, an invalid JSON line, a blank line, events without
product or timestamp, other event types)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from api.query import CtrRequest, query_ctr
from assets.ctr.partitions import PLATFORMS
from assets.ctr.serving import serving_root
from cli.contract import digest_lines
from cli.generators import ctr as generator
from cli.runner import drain_sensor
from resources.lib.serving import lake_from_environment, lake_root
from tests.ctr.conftest import ctr_defs
from tests.ctr.test_pipeline import view

pytestmark = pytest.mark.integration

REQUESTS = [  # (start, end, minutes, platforms, product)
    ("2016-02-01 00:00", "2016-02-02 00:00", 1440, PLATFORMS, None),
    ("2016-01-31 00:00", "2016-02-02 00:00", 10, PLATFORMS, None),
    ("2016-02-01 06:00", "2016-02-01 18:00", 15, ("MobileWeb",), None),
    ("2016-01-31 21:00", "2016-02-01 03:07", 7, ("MobileWeb", "Android"), None),
]


def land(data_dir: Path) -> None:
    """The sample input (real MobileWeb day, messy iOS array, Android JSON Lines with an
    invalid line, purchases) plus two more JSON Lines files: one the fast path reads with
    rejected (one dated after the last partition) and other events, one with a blank line
    (the tolerant parser's case)."""
    generator.generate(data_dir, scale=0.3)
    android = data_dir / "landing" / "product_views" / "Android"
    batches = []
    for i in range(60):
        good = view(f" P{i % 7} ", f"2016-02-01 {i % 24:02d}:{i % 60:02d}:00")
        no_product = view("", "2016-02-01 10:00:00")
        no_ts = view("Q", "2016-02-01 10:00:00")
        no_ts["data"]["timestamp_unixtime_ms"] = None
        future = view("F", "2999-01-01 10:00:00")  # after the last partition: rejected
        batches.append({"events": [good, no_product, no_ts, future, view(
                                   "x", "2016-02-01 11:00:00", "screen_view", "home"),
                                   {"data": {}}, None]}
                       if i % 10 else {"no_events": True})
    (android / "extra.jsonl").write_text("\n".join(json.dumps(b) for b in batches) + "\n")
    (android / "blank.jsonl").write_text("\n".join(json.dumps(b) for b in batches[:5]) + "\n\n"
                                         + json.dumps(batches[5]) + "\n")


def run(data_dir: Path, monkeypatch: pytest.MonkeyPatch, spark: Any) -> None:
    from resources import build_resources

    monkeypatch.setenv("PLATFORM_DATA_DIR", str(data_dir))
    monkeypatch.delenv("PURCHASES_DB_URL", raising=False)
    land(data_dir)
    resources = {**build_resources(), "spark": spark} if spark else build_resources()
    with dg.DagsterInstance.ephemeral() as instance:
        drain_sensor(ctr_defs(resources), "ctr_product_views_sensor", instance)


def lake_rows(data_dir: Path) -> list[tuple]:
    files = sorted(str(p) for p in (data_dir / "lake" / "ctr" / "views").glob("platform=*/*/*"))
    return duckdb.sql(
        "SELECT regexp_extract(filename, 'platform=(\\w+)/date=([\\d-]+)/(.*)$', ['p', 'd', 'f']),"
        " product, timestamp_unixtime_ms, CAST(event_time AS TIMESTAMP), batch_no "
        "FROM read_parquet(?, filename = true) ORDER BY ALL", params=[files]).fetchall()


def test_spark_gives_the_embedded_engine_s_lake_tables_and_api_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spark: Any, real_file: Path
) -> None:
    embedded, on_spark = tmp_path / "embedded", tmp_path / "spark"
    run(embedded, monkeypatch, None)
    run(on_spark, monkeypatch, spark)

    assert lake_rows(embedded) == lake_rows(on_spark)
    assert len(lake_rows(embedded)) > 47633  # the real day and the samples are all there

    def tables(root: Path) -> list[str]:
        lines = digest_lines(str(root / "warehouse.duckdb"))
        return [ln for ln in lines if ln.startswith("ctr.") and "view_file_ledger" not in ln]

    assert tables(embedded) == tables(on_spark)
    ledger = "SELECT * EXCLUDE (parser, ingested_at) FROM ctr.view_file_ledger ORDER BY ALL"
    parsers = "SELECT platform || '/' || source_file, parser FROM ctr.view_file_ledger"
    with duckdb.connect(str(embedded / "warehouse.duckdb"), read_only=True) as a, \
            duckdb.connect(str(on_spark / "warehouse.duckdb"), read_only=True) as b:
        assert a.sql(ledger).fetchall() == b.sql(ledger).fetchall()
        used = dict(b.sql(parsers).fetchall())
    # clean files were parsed by Spark; the messy ones by the tolerant parser, as embedded
    assert used == {"MobileWeb/productEvent_20160201.json": "spark",
                    "Android/extra.jsonl": "spark", "Android/blank.jsonl": "tolerant",
                    "Android/productEvent_20160201.jsonl": "tolerant",  # an invalid line
                    "iOS/productEvent_20160201.json": "tolerant"}  # malformed batches

    for start, end, minutes, platforms, product in REQUESTS:
        request = CtrRequest(datetime.fromisoformat(start), datetime.fromisoformat(end),
                             minutes, platforms, product)
        answers = [query_ctr(serving_root(lake_root(root)), request, limit=1_000_000).body
                   for root in (embedded, on_spark)]
        assert answers[0] == answers[1] and len(answers[0]) > 1000, (start, minutes)


def store_lake_rows(lake) -> list[tuple]:  # noqa: ANN001 - a Location
    """`lake_rows` of a lake on a bucket (the parts read through the storage layer)."""
    views = lake.child("ctr", "views")
    files = sorted(e.rel for e in views.list() if e.rel.endswith(".parquet")
                   and e.rel.startswith("platform=") and "_spark_staging" not in e.rel)
    rows = []
    for rel in files:
        platform, day, name = rel.split("/", 2)
        table = pq.read_table(views.open(rel))
        key = [platform.removeprefix("platform="), day.removeprefix("date="), name]
        rows += [(key, r["product"], r["timestamp_unixtime_ms"],
                  r["event_time"], r["batch_no"]) for r in table.to_pylist()]
    return sorted(rows, key=repr)


def test_spark_with_the_lake_on_the_store_gives_the_embedded_engine_s_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spark_on_store: Any, s3_bucket: str,
    real_file: Path
) -> None:
    """The cluster reaches no disk of this machine: landed files go to it through the lake's
    bucket and its parts are published there (`s3a://`); nothing of the lake on this disk."""
    embedded, on_spark = tmp_path / "embedded", tmp_path / "spark"
    run(embedded, monkeypatch, None)
    monkeypatch.setenv("LAKE_URL", f"s3://{s3_bucket}/lake")
    run(on_spark, monkeypatch, spark_on_store)
    bucket = lake_from_environment(on_spark)
    monkeypatch.delenv("LAKE_URL")

    local = [([k["p"], k["d"], k["f"]], *rest) for k, *rest in lake_rows(embedded)]
    assert store_lake_rows(bucket) == sorted(local, key=repr)
    assert not (on_spark / "lake").exists()
    assert not [e for e in bucket.list() if "_spark_staging" in e.rel]
    with duckdb.connect(str(on_spark / "warehouse.duckdb"), read_only=True) as b:
        assert "spark" in {p for (p,) in b.sql(
            "SELECT parser FROM ctr.view_file_ledger").fetchall()}
    for start, end, minutes, platforms, product in REQUESTS:
        request = CtrRequest(datetime.fromisoformat(start), datetime.fromisoformat(end),
                             minutes, platforms, product)
        answers = [query_ctr(serving_root(lake), request, limit=1_000_000).body
                   for lake in (lake_root(embedded), bucket)]
        assert answers[0] == answers[1] and len(answers[0]) > 1000, (start, minutes)
