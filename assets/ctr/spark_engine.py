"""The CTR steps on Spark (`SPARK_REMOTE`): parse view files into the lake, roll views up.

Parsing mirrors the embedded fast path (`views_parse`): Spark's JSON reader with the same
fixed schema, the same reasons for a batch without events and for unusable events, views
written as Parquet parts in the same lake layout (one part per file and date). Like the
embedded engine, a file the fixed schema cannot read cleanly (a malformed batch or line, a
field of the wrong type, JSON Lines with blank lines) is parsed by the tolerant parser, in
this process: Spark would otherwise drop a whole array file or a whole line where the
tolerant parser keeps every good event, and both engines must give the same views.
`batch_no` (array position, or line number) comes from Spark's row ids, offset per input
split, so numbering needs no single-task sort.

With the lake on a bucket the cluster sees no disk of this machine: the landed file goes to
the cluster through the lake (uploaded under `_spark_staging/`, read as `s3a://`), and the
parts Spark writes there are published into the lake layout through `Location` (docs/scale.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from assets.ctr.lake import VIEWS, parse_embedded, part_rel
from assets.ctr.partitions import OFFSET_MS, START_DATE
from assets.ctr.views_parse import (
    MAX_MS,
    MIN_MS,
    REJECTED_COLUMNS,
    last_partition_end_ms,
    rejected_events,
)
from resources.lib.storage import Location

SCHEMA = (
    "events ARRAY<STRUCT<event_type: STRING, data: STRUCT<event_name: STRING, "
    "timestamp_unixtime_ms: DOUBLE, custom_attributes: STRUCT<codeColor: STRING>>>>, "
    "_corrupt_record STRING"
)
ROW_BITS = 33  # monotonically_increasing_id: split index << 33 | row index in the split
IS_VIEW = "(event_type = 'custom_event' AND event_name = 'product')"
TRIMMED = r"regexp_replace(product, '(?U)^\\s+|\\s+$', '')"


def reason_sql() -> str:
    """The embedded parser's reasons, in its order; the last partition is read per parse
    (it moves with the date), as `views_parse.last_partition_end_ms` does."""
    last, end_ms = last_partition_end_ms()
    return f"""CASE
    WHEN event_type IS NULL THEN 'malformed event: no event_type'
    WHEN {IS_VIEW} AND (product IS NULL OR {TRIMMED} = '')
        THEN 'product event without data.custom_attributes.codeColor'
    WHEN {IS_VIEW} AND ts IS NULL THEN 'product event without data.timestamp_unixtime_ms'
    WHEN {IS_VIEW} AND (isnan(ts) OR ts < {MIN_MS} OR ts >= {MAX_MS})
        THEN 'timestamp outside the partitioned range (from {START_DATE} GMT-03:00)'
    WHEN {IS_VIEW} AND ts >= {end_ms} THEN 'timestamp after the last partition ({last} GMT-03:00)'
END"""


@dataclass
class SparkParsed:
    """What Spark made of one file (same fields as the embedded `ParsedViews`)."""

    dates: list[str]
    view_count: int
    rejected: pl.DataFrame
    batches: int = 0
    events: int = 0
    malformed_batches: int = 0
    other_events: dict[str, int] = field(default_factory=dict)
    parser: str = "spark"


def needs_tolerant(path: Path) -> bool:
    """JSON Lines with a blank line: the embedded engine numbers those batches by physical
    line with its tolerant parser, so this file goes there too."""
    with path.open("rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"["):
            return False
        fh.seek(0)
        previous = b""
        for block in iter(lambda: fh.read(1 << 20), b""):
            if b"\n\n" in (previous[-2:] + block).replace(b"\r\n", b"\n"):
                return True
            previous = block
    return False


class SparkViewsParser:
    """`lake.Parser` on a Spark Connect session."""

    def __init__(self, session) -> None:  # noqa: ANN001 - a pyspark Connect SparkSession
        self.session = session

    def __call__(self, path: Path, lake: Location, platform: str, name: str):  # noqa: ANN204
        if needs_tolerant(path):
            return parse_embedded(path, lake, platform, name)
        staging = staging_rel(platform, name)
        raw, batches = self._batches(path, lake, staging)
        try:
            corrupt, total, malformed = batches.selectExpr(
                "count_if(_corrupt_record IS NOT NULL)", "count(*)",
                "count_if(events IS NULL AND _corrupt_record IS NULL)",
            ).first()
            if corrupt:
                return parse_embedded(path, lake, platform, name)
            return self._parse(batches, lake, platform, name, total, malformed)
        finally:
            raw.unpersist()
            lake.delete_tree(staging)

    def _batches(self, path: Path, lake: Location, staging: str):  # noqa: ANN202
        """(the parsed file, kept for the passes; one row per batch with its `batch_no`)."""
        with path.open("rb") as fh:
            array = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")
        source = lake.spark_input(path, f"{staging}/input/{path.name}")  # deleted by caller
        raw = (
            self.session.read.schema(SCHEMA).option("multiLine", array)
            .option("mode", "PERMISSIVE").json(source)
            .selectExpr("*", "monotonically_increasing_id() AS _id")
            .selectExpr("*", f"shiftright(_id, {ROW_BITS}) AS _split",
                        f"_id & {(1 << ROW_BITS) - 1} AS _row")
            .persist()
        )
        offsets = raw.groupBy("_split").count().selectExpr(
            "_split", "sum(count) OVER (ORDER BY _split) - count AS _offset")
        batches = raw.join(offsets.hint("broadcast"), "_split").selectExpr(
            "*", "_offset + _row + 1 AS batch_no")
        return raw, batches

    def _parse(self, batches, lake: Location, platform: str, name: str, total: int,  # noqa: ANN001
               malformed: int) -> SparkParsed:
        ev = batches.where("size(events) > 0").selectExpr(
            "batch_no", "inline_outer(transform(events, e -> struct(e.event_type AS event_type, "
            "e.data.event_name AS event_name, e.data.timestamp_unixtime_ms AS ts, "
            "e.data.custom_attributes.codeColor AS product)))",
        ).selectExpr("*", f"{reason_sql()} AS reason").persist()
        try:
            good = ev.where("reason IS NULL")
            views = good.where(IS_VIEW).selectExpr(
                f"{TRIMMED} AS product", "ts AS timestamp_unixtime_ms",
                f"CAST(timestamp_millis(CAST(floor(ts + {OFFSET_MS}) AS BIGINT)) "
                "AS TIMESTAMP_NTZ) AS event_time", "batch_no")
            views = views.selectExpr("*", "CAST(event_time AS DATE) AS date")
            dates, count = self._write_parts(views, lake, platform, name)
            return SparkParsed(
                dates=dates, view_count=count, rejected=self._rejected(batches, ev),
                batches=total, events=ev.count(), malformed_batches=malformed,
                other_events=self._others(good),
            )
        finally:
            ev.unpersist()

    @staticmethod
    def _rejected(batches, ev) -> pl.DataFrame:  # noqa: ANN001
        no_events = pl.from_arrow(batches.where("events IS NULL").select("batch_no").toArrow())
        bad = pl.from_arrow(ev.where("reason IS NOT NULL").selectExpr(
            "batch_no", "reason", "product", "ts AS timestamp_unixtime_ms").toArrow())
        frames = [no_events.select(  # type: ignore[union-attr]
            "batch_no", reason=pl.lit("malformed batch: no 'events' list"),
            detail=pl.lit(None, pl.String))]
        if bad.height:  # type: ignore[union-attr]
            frames.append(rejected_events(bad))  # type: ignore[arg-type]
        return pl.concat([f.cast(REJECTED_COLUMNS) for f in frames])  # type: ignore[arg-type]

    @staticmethod
    def _others(good) -> dict[str, int]:  # noqa: ANN001
        rows = good.where(f"NOT {IS_VIEW}").selectExpr(
            "CASE WHEN event_type = 'custom_event' THEN 'custom_event:' || "
            "coalesce(event_name, 'null') ELSE event_type END AS label",
        ).groupBy("label").count().collect()
        return dict(sorted((r["label"], int(r["count"])) for r in rows))

    @staticmethod
    def _write_parts(views, lake: Location, platform: str, name: str) -> tuple[list[str], int]:  # noqa: ANN001
        """One Parquet part per date, written by the cluster under the staging prefix, then
        moved into the lake layout (a rename here, copy + delete on a bucket); (dates,
        views written)."""
        out = f"{staging_rel(platform, name)}/out"
        lake.delete_tree(out)
        views.repartition("date").write.mode("overwrite").partitionBy("date").parquet(
            lake.spark_uri(out))
        parts: dict[str, list[str]] = {}
        for entry in lake.child(out).list():
            folder, _, file = entry.rel.rpartition("/")
            if folder.startswith("date=") and file.endswith(".parquet"):
                parts.setdefault(folder, []).append(entry.rel)
        dates, count = [], 0
        for folder, files in sorted(parts.items()):
            if len(files) != 1:
                raise RuntimeError(f"{lake.describe(out)}/{folder}: {len(files)} parts for "
                                   "one date, expected 1")
            with lake.open(f"{out}/{files[0]}") as part:
                count += pq.ParquetFile(part).metadata.num_rows
            day = folder.removeprefix("date=")
            lake.move(f"{out}/{files[0]}", part_rel(platform, day, name))
            dates.append(day)
        return dates, count


def staging_rel(platform: str, name: str) -> str:
    """Where one file's Spark work goes in the lake (removed after the parse)."""
    return f"{VIEWS}/_spark_staging/{platform}/{name}"


def rollup_views(session, files: list[str]) -> pa.Table:  # noqa: ANN001
    """Views per (product, GMT-03:00 minute) of one slice's lake parts, on the cluster:
    `product`, `minute`, `count`."""
    return (
        session.read.parquet(*files)
        .selectExpr("product",
                    "CAST(date_trunc('MINUTE', event_time) AS TIMESTAMP_NTZ) AS minute")
        .groupBy("product", "minute").count()
        .toArrow()
    )
