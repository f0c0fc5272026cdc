"""Reading one extract with Spark the way DuckDB's CSV reader sees it (for `spark_engine`).

Spark reads with `multiLine` (quoted fields hold line breaks; a file is then one partition,
read in record order), header, quote and escape `"`, every column a string, in PERMISSIVE
mode: a record that does not split into the header's number of fields is KEPT, its raw text
in `_corrupt_record`, and gets DuckDB's reason and record text (`broken`), so rows the reader
cannot split become rejected rows on both engines.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from assets.late_payments.extracts import BadExtractFile

if TYPE_CHECKING:
    from pyspark.sql.connect.dataframe import DataFrame
    from pyspark.sql.connect.session import SparkSession

BAD = "_corrupt_record"
READ_OPTIONS = {
    "header": "true", "multiLine": "true", "quote": '"', "escape": '"', "sep": ",",
    "mode": "PERMISSIVE", "columnNameOfCorruptRecord": BAD, "encoding": "UTF-8",
}  # fmt: skip


def header_of(session: SparkSession, source: str, name: str) -> list[str]:
    """The header's names, in file order, of the file `name` the cluster reads at `source`
    (a path or `s3a://` URI). A file Spark cannot open is a bad file; a cluster that cannot
    be reached is NOT (that error propagates, the file stays where it is)."""
    from pyspark.errors import AnalysisException

    try:
        names = session.read.options(**READ_OPTIONS).csv(source).columns
    except AnalysisException as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BadExtractFile(f"{name}: not a readable CSV ({first})") from exc
    return names


def read(session: SparkSession, source: str, width: int) -> DataFrame:
    """The records at `source` as `_c0` .. `_c{width-1}` (header positions) and
    `_corrupt_record`."""
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType(
        [StructField(f"_c{i}", StringType()) for i in range(width)]
        + [StructField(BAD, StringType())]
    )
    return session.read.schema(schema).options(**READ_OPTIONS).csv(source)


def count_of(text: str, char: str) -> str:
    """SQL: how often `char` (a line break or a double quote) occurs in `text`."""
    literal = {"\n": "'\\n'", '"': "'\"'"}[char]
    return f"(length({text}) - length(replace({text}, {literal}, '')))"


def broken(path: Path, width: int) -> tuple[str, str]:
    """SQL (reason, record) as DuckDB gives them for a record that does not split into
    `width` fields: the fields counted outside quotes, too many reported at the first extra
    one (width + 1); an odd number of quotes is a quote left open, which swallows the rest
    of the file (DuckDB keeps the file's final line break in that record, Spark drops it)."""
    fields = f"size(split(regexp_replace({BAD}, '\"[^\"]*\"', ''), ',', -1))"
    open_quote = f"{count_of(BAD, chr(34))} % 2 = 1"
    reason = (
        f"CASE WHEN {open_quote} THEN 'Value with unterminated quote found.' "
        f"ELSE 'Expected Number of Columns: {width} Found: ' || "
        f"CAST(least({fields}, {width + 1}) AS STRING) END"
    )
    tail = "'\\n'" if _ends_with_newline(path) else "''"
    return reason, f"CASE WHEN {open_quote} THEN concat({BAD}, {tail}) ELSE {BAD} END"


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(0, 2)
        if f.tell() == 0:
            return False
        f.seek(-1, 2)
        return f.read(1) == b"\n"
