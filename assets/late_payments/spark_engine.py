"""The staging scan on Spark: the SAME `Extract` contract as `load.py`, a second SQL generator.

`load.py` turns an `Extract` into DuckDB SQL; this module turns it into Spark SQL with the
same rules, so both engines stage and reject exactly the same rows:

- the CSV is read by Spark with `multiLine` (quoted fields hold line breaks), every column as
  a string, in PERMISSIVE mode: a record with the wrong number of fields is kept (its raw text
  in `_corrupt_record`) and rejected with DuckDB's reason ("Expected Number of Columns: 7
  Found: 3"; one more than expected for too many, as DuckDB reports its first extra field);
- text columns trimmed of ' \\t\\r\\n', casts by DuckDB's grammar (`spark_casts`), the same
  reject reasons in the same order of severity, `payment_dates` as a DATE list;
- physical line numbers: with `multiLine` a file is one partition read in record order, so
  `monotonically_increasing_id()` is the record order and line = 1 + record number + line
  breaks inside the earlier records (a running sum), as in `load.py`;
- duplicates of the key after the first rejected, naming the line of the first.

The result is two Parquet datasets under the lake (`lake.py` loads them into DuckDB).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from assets.late_payments import spark_casts
from assets.late_payments.extracts import BadExtractFile, Column, Extract

if TYPE_CHECKING:
    from pyspark.sql.connect.dataframe import DataFrame
    from pyspark.sql.connect.session import SparkSession

BAD = "_corrupt_record"
READ_OPTIONS = {
    "header": "true", "multiLine": "true", "quote": '"', "escape": '"', "sep": ",",
    "mode": "PERMISSIVE", "columnNameOfCorruptRecord": BAD, "encoding": "UTF-8",
}  # fmt: skip
_WS = r"' \t\r\n'"  # the characters load.py trims (Spark unescapes \t \r \n in literals)
_TO_SPARK = {"list_max": "array_max"}  # DuckDB functions in contract expressions


def spark_sql(expression: str) -> str:
    """A contract expression (`extra`, `check`) in Spark's spelling of its functions."""
    return re.sub(r"\b(\w+)\(", lambda m: _TO_SPARK.get(m[1], m[1]) + "(", expression)


def header_of(session: SparkSession, path: Path) -> dict[str, str]:
    """Normalised (trimmed, lower-case) header names -> their position, as Spark reads them."""
    try:
        names = session.read.options(**READ_OPTIONS).csv(str(path.resolve())).columns
    except Exception as exc:  # noqa: BLE001 - any reader error makes the file unreadable
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadExtractFile(f"{path.name}: not a readable CSV ({first})") from exc
    return {name.strip().lower(): name for name in names}


def _raw(col: Column, source: str) -> str:
    """Text columns trimmed (NULL when blank); other columns as read (casts ignore blanks)."""
    if col.sql_type == "VARCHAR":
        return f"nullif(trim(BOTH {_WS} FROM {source}), '')"
    return source


def _cast(sql_type: str, value: str) -> str:
    if sql_type == "BIGINT":
        return spark_casts.bigint(value)
    if sql_type == "DATE":
        return spark_casts.date(value)
    if sql_type.startswith("DECIMAL"):
        return spark_casts.decimal(value, sql_type)
    raise ValueError(f"no Spark cast for contract type {sql_type}")


def _typed(col: Column) -> str:
    raw = f"r_{col.name}"
    if col.sql_type == "DATE[]":
        tokens = rf"regexp_extract_all({raw}, r'[^\s;|,\[\]\x27\x22]+', 0)"
        many = f"transform({tokens}, t -> {spark_casts.date('t')})"
        one = spark_casts.date(raw)
        return (
            f"CASE WHEN ({one}) IS NOT NULL THEN array({one}) "
            f"WHEN size({many}) > 0 THEN {many} END"
        )
    if col.sql_type == "VARCHAR":
        return raw
    return _cast(col.sql_type, raw)


def _problems(col: Column) -> list[str]:
    """`WHEN ... THEN reason` clauses for one column, in load.py's order of severity."""
    raw, val = f"r_{col.name}", col.name
    out = []
    blank = f"({raw} IS NULL OR trim(BOTH {_WS} FROM {raw}) = '')"
    if col.required:
        out.append(f"WHEN {val} IS NULL AND {blank} THEN 'missing {col.name}'")
    if col.sql_type == "DATE[]":
        bad = f"exists({val}, d -> d IS NULL)"
        out.append(f"WHEN {bad} THEN '{col.name} is not a date list: ' || {raw}")
    elif col.sql_type != "VARCHAR":
        kind = col.sql_type.split("(")[0].lower()
        out.append(f"WHEN {val} IS NULL AND NOT {blank} THEN '{col.name} is not {kind}: ' || {raw}")
    if col.check:
        cond = spark_sql(col.check.replace("x", val))
        out.append(f"WHEN NOT ({cond}) THEN '{col.name} out of range: ' || {raw}")
    return out


def _count(text: str, char: str) -> str:
    """How often `char` (a line break or a quote) occurs in `text`."""
    literal = {"\n": "'\\n'", '"': "'\"'"}[char]
    return f"(length({text}) - length(replace({text}, {literal}, '')))"


def _broken(width: int, ends_with_newline: bool) -> tuple[str, str]:
    """(reason, record) as DuckDB gives them for a record that does not split into `width`
    fields: the fields counted outside quotes, too many reported at the first extra one
    (width + 1); an odd number of quotes is a quote left open, which swallows the rest of the
    file (DuckDB keeps the file's final line break in that record, Spark drops it)."""
    fields = f"size(split(regexp_replace({BAD}, '\"[^\"]*\"', ''), ',', -1))"
    open_quote = f"{_count(BAD, chr(34))} % 2 = 1"
    reason = (
        f"CASE WHEN {open_quote} THEN 'Value with unterminated quote found.' "
        f"ELSE 'Expected Number of Columns: {width} Found: ' || "
        f"CAST(least({fields}, {width + 1}) AS STRING) END"
    )
    tail = "'\\n'" if ends_with_newline else "''"
    return reason, f"CASE WHEN {open_quote} THEN concat({BAD}, {tail}) ELSE {BAD} END"


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(0, 2)
        if f.tell() == 0:
            return False
        f.seek(-1, 2)
        return f.read(1) == b"\n"


def cooked(session: SparkSession, extract: Extract, path: Path) -> DataFrame:
    """Every record of the file, typed and judged: the contract columns, `line`, `rec`,
    `reason` (NULL = staged) and `record` (the raw values of a rejected row)."""
    header = header_of(session, path)
    missing = [c.name for c in extract.columns if c.name not in header]
    if missing:
        raise BadExtractFile(
            f"{path.name}: missing column(s) {', '.join(missing)} "
            f"(header has: {', '.join(header.values())})"
        )
    from pyspark.sql.types import StringType, StructField, StructType

    position = {name: i for i, name in enumerate(header.values())}
    schema = StructType(
        [StructField(f"_c{i}", StringType()) for i in range(len(header))]
        + [StructField(BAD, StringType())]
    )
    src = {c.name: f"_c{position[header[c.name]]}" for c in extract.columns}
    cols = extract.columns
    concat = "concat_ws('', " + ", ".join(src[c.name] for c in cols) + ")"
    df = session.read.schema(schema).options(**READ_OPTIONS).csv(str(path.resolve()))
    reason, record = _broken(len(header), _ends_with_newline(path))
    df = df.selectExpr(
        "monotonically_increasing_id() AS _mid",
        f"{BAD} IS NOT NULL AS _is_broken",
        *[f"{_raw(c, src[c.name])} AS r_{c.name}" for c in cols],
        f"CASE WHEN {BAD} IS NULL THEN {_count(concat, chr(10))} "
        f"ELSE {_count(BAD, chr(10))} END AS _nl",
        f"{reason} AS _broken",
        f"{record} AS _broken_record",
    )
    return _judge(df, extract)


def _judge(df: DataFrame, extract: Extract) -> DataFrame:
    """Line numbers, typed values, reasons, records; then the duplicates of the key."""
    cols = extract.columns
    names = [c.name for c in cols]
    whens = " ".join(w for c in cols for w in _problems(c))
    record = "concat_ws(',', " + ", ".join(f"coalesce(r_{n}, '')" for n in names) + ")"
    df = df.selectExpr(
        "*",
        "row_number() OVER (ORDER BY _mid) AS rec",
        "1 + row_number() OVER (ORDER BY _mid) "
        "+ sum(_nl) OVER (ORDER BY _mid ROWS UNBOUNDED PRECEDING) - _nl AS line",
        *[f"{_typed(c)} AS {c.name}" for c in cols],
    )
    df = df.selectExpr(
        "rec", "line", *names,
        *[f"{spark_sql(expr)} AS {name}" for name, expr in extract.extra.items()],
        f"CASE WHEN _is_broken THEN _broken ELSE CASE {whens} END END AS reason",
        "_is_broken", "_broken_record", f"{record} AS _record",
    )  # fmt: skip
    df = df.selectExpr(
        "*", "CASE WHEN _is_broken THEN _broken_record WHEN reason IS NOT NULL THEN _record "
        "END AS record",
    ).drop("_broken_record", "_record", "_is_broken")
    return _duplicates(df, extract) if extract.key else df


def _duplicates(df: DataFrame, extract: Extract) -> DataFrame:
    """Later rows of a key already staged are rejected, naming the first one's line; their
    record is the typed values as text (DuckDB's VARCHAR of each value), as in load.py."""
    key = extract.key
    window = f"OVER (PARTITION BY reason IS NULL, {key} ORDER BY rec)"
    typed_record = (
        "concat_ws(',', "
        + ", ".join(f"coalesce(CAST({c.name} AS STRING), '')" for c in extract.columns) + ")"
    )
    duplicate = "reason IS NULL AND _n > 1"
    df = df.selectExpr(
        "*", f"row_number() {window} AS _n", f"first_value(line) {window} AS _first"
    )
    kept = ["rec", "line", *[c.name for c in extract.columns], *extract.extra]
    return df.selectExpr(
        *kept,
        f"CASE WHEN {duplicate} THEN 'duplicate {key} ' || CAST({key} AS STRING) "
        "|| ' (first at line ' || CAST(_first AS STRING) || ')' ELSE reason END AS reason",
        f"CASE WHEN {duplicate} THEN {typed_record} ELSE record END AS record",
    )
