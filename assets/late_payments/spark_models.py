"""Running the late_payments models on Spark: each result is written as Parquet under
`<lake>/late_payments/<table>/` (overwritten whole; Spark is given `Location.spark_uri`);
`lake.py` then loads it into DuckDB.

The Spark SQL itself sits beside the DuckDB SQL it translates (`fact.SPARK_FACT_SQL`,
`features.SPARK_FEATURES_SQL`); the staging scan is generated from the extract contract by
`spark_engine.py`. Inputs are the staging Parquet of the same run, referenced in the SQL as
`{name}` (pyspark substitutes the frames; no value is ever formatted into the SQL).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from assets.late_payments.extracts import Extract
from assets.late_payments.lake import staging_rels
from assets.late_payments.spark_engine import cooked
from resources.lib.storage import Location

if TYPE_CHECKING:
    from pyspark.sql.connect.dataframe import DataFrame
    from pyspark.sql.connect.session import SparkSession


def write(df: DataFrame, target: str) -> None:
    """Replace the Parquet dataset at `target` (a folder of part files; a Spark URI)."""
    df.write.mode("overwrite").parquet(target)


def stage(session: SparkSession, extract: Extract, path: Path, lake: Location) -> None:
    """Stage one extract on the cluster: its rows to `stg_<name>/`, its rejected rows to
    `rejected_rows/<name>/` under `lake` (`line`, `reason`, `record`). A lake on a bucket
    gets the file under `_spark_staging/` for the cluster to read, deleted after. Raises
    `BadExtractFile` for a file that cannot be read."""
    stg, rejects = (lake.spark_uri(rel) for rel in staging_rels(extract))
    upload = f"_spark_staging/{extract.name}"  # one per extract: they stage side by side
    source = lake.spark_input(path, f"{upload}/{path.name}")
    try:
        _stage(cooked(session, extract, path, source), extract, stg, rejects)
    finally:
        if not lake.is_local:
            lake.delete_tree(upload)


def _stage(df: DataFrame, extract: Extract, stg: str, rejects: str) -> None:
    df = df.persist()  # both writes from one parse of the CSV
    try:
        staged = df.where("reason IS NULL")
        if extract.key:  # the duplicates window shuffled by key: back to file order
            staged = staged.repartition(1).sortWithinPartitions("rec")
        write(staged.select(*[c.name for c in extract.columns], *extract.extra), stg)
        write(df.where("reason IS NOT NULL").select("line", "reason", "record"), rejects)
    finally:
        df.unpersist()


def run(
    session: SparkSession, sql: str, lake: Location, target: str, as_of: date | None = None
) -> None:
    """Run one model's Spark SQL over the lake's Parquet tables it names (`{stg_skus}`,
    `{fct_invoice_lines}`, ...) and write its result to `target` (relative to `lake`).
    `as_of`, when given, is a literal in the one-row frame `{params}` (a bound value, not
    SQL text)."""
    from string import Formatter

    names = {field for _, field, _, _ in Formatter().parse(sql) if field}
    for name in sorted(names - {"params"}):
        if not any(e.rel.endswith(".parquet") for e in lake.child(name).list(recursive=False)):
            raise FileNotFoundError(
                f"{lake.describe(name)} holds no Parquet: materialize the staging assets (and "
                "the fact) with Spark configured first"
            )
    frames = {name: session.read.parquet(lake.spark_uri(name)) for name in names - {"params"}}
    if "params" in names:
        from pyspark.sql.connect import functions as F

        frames["params"] = session.range(1).select(F.lit(as_of).alias("as_of"))
    write(session.sql(sql, **frames), lake.spark_uri(target))
