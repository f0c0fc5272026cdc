"""The test cluster is a real one: a Connect client runs a job on the standalone worker, and
Delta tables it writes are read back by the embedded side (delta-rs), and the reverse."""

from __future__ import annotations

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

pytestmark = pytest.mark.integration


def test_a_job_runs_on_the_worker_and_delta_is_shared_both_ways(spark, tmp_path):
    session = spark.session()
    assert session.range(1000).selectExpr("sum(id) AS s").collect()[0].s == 499500
    executors = session.sql("SELECT 1").sparkSession.conf.get("spark.master")
    assert executors.startswith("spark://127.0.0.1:")  # the standalone master, not local[*]

    by_spark = str(tmp_path / "by_spark")
    session.range(5).selectExpr("id", "id * 2 AS twice").write.format("delta").save(by_spark)
    assert sorted(DeltaTable(by_spark).to_pyarrow_table()["twice"].to_pylist()) == [0, 2, 4, 6, 8]

    by_rust = str(tmp_path / "by_rust")
    write_deltalake(by_rust, pa.table({"id": [1, 2, 3]}))
    session.sql(f"MERGE INTO delta.`{by_rust}` t USING (SELECT 3 AS id UNION ALL SELECT 4) u "
                "ON t.id = u.id WHEN NOT MATCHED THEN INSERT *")
    assert sorted(DeltaTable(by_rust).to_pyarrow_table()["id"].to_pylist()) == [1, 2, 3, 4]
