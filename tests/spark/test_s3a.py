"""The cluster reads and writes a lake on the object store through `s3a://` (hadoop-aws and
the AWS SDK bundle of `cli/spark_jars.xml`), and the embedded side (pyarrow, delta-rs)
reads what it wrote, and the reverse; the store's secret is in no log of the cluster."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from resources.lib.storage import Location
from resources.spark import SparkResource, s3a_conf

pytestmark = pytest.mark.integration


def test_the_cluster_writes_parquet_on_the_bucket_and_pyarrow_reads_it(
    spark_on_store, spark_cluster, s3_server, s3_bucket
):
    lake = Location(f"s3://{s3_bucket}/lake", s3_server.settings())
    session = spark_on_store.session()
    uri = lake.spark_uri("probe/numbers")
    assert uri == f"s3a://{s3_bucket}/lake/probe/numbers"
    session.range(1000).selectExpr("id", "id % 7 AS bucket").write.mode("overwrite").parquet(uri)

    back = session.read.parquet(uri).selectExpr("count(*) AS n", "sum(id) AS s").first()
    assert (back.n, back.s) == (1000, 499500)
    table = lake.dataset("probe/numbers").to_table()
    assert table.num_rows == 1000 and sorted(table["id"].to_pylist()) == list(range(1000))
    assert any(e.rel.startswith("probe/numbers/part-") for e in lake.list())

    by_arrow = io.BytesIO()
    pq.write_table(pa.table({"k": ["a", "b", "c"], "v": [1, 2, 3]}), by_arrow)
    lake.write_bytes("probe/by_arrow/part-0.parquet", by_arrow.getvalue())
    rows = session.read.parquet(lake.spark_uri("probe/by_arrow")).orderBy("k").collect()
    assert [(r.k, r.v) for r in rows] == [("a", 1), ("b", 2), ("c", 3)]
    logs = [p for p in spark_cluster.base.rglob("*") if p.is_file() and p.suffix in {
        ".log", ""} and p.stat().st_size < 50 << 20]
    assert logs and not any(s3_server.secret_key in p.read_text(errors="replace")
                            for p in logs)


def test_a_delta_table_on_the_bucket_is_shared_with_delta_rs(spark_on_store, s3_server,
                                                               s3_bucket):
    lake = Location(f"s3://{s3_bucket}/lake", s3_server.settings())
    session = spark_on_store.session()
    session.range(5).selectExpr("id", "id * 2 AS twice").write.format("delta").save(
        lake.spark_uri("probe/delta"))
    table = DeltaTable(lake.uri("probe/delta"), storage_options=lake.storage_options())
    assert sorted(table.to_pyarrow_table()["twice"].to_pylist()) == [0, 2, 4, 6, 8]


def test_the_s3a_settings_follow_the_store_and_the_secret_stays_out_of_descriptions(
    s3_server,
):
    conf = s3a_conf(s3_server.settings())
    assert conf["fs.s3a.endpoint"] == s3_server.endpoint_url
    assert conf["fs.s3a.path.style.access"] == "true"
    assert conf["fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["fs.s3a.secret.key"] == s3_server.secret_key
    resource = SparkResource(remote="sc://127.0.0.1:1", **{
        name.lower(): value for name, value in s3_server.env().items()})
    assert resource.on_store and not SparkResource(remote="sc://127.0.0.1:1").on_store
    assert s3_server.secret_key not in resource.describe()
