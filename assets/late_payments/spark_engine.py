"""The staging scan on Spark: the SAME `Extract` contract as `load.py`, a second SQL generator.

`load.py` turns an `Extract` into DuckDB SQL; this module turns it into Spark SQL with the
same rules, so both engines stage and reject exactly the same rows:

- the CSV is read by Spark as DuckDB's reader sees it (`spark_csv`): every column a string,
  a record with the wrong number of fields kept and rejected with DuckDB's reason;
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

from assets.late_payments import spark_casts, spark_csv
from assets.late_payments.extracts import Column, Dialect, Extract, match_header, problems

if TYPE_CHECKING:
    from pyspark.sql.connect.dataframe import DataFrame
    from pyspark.sql.connect.session import SparkSession

_WS = r"' \t\r\n'"  # the characters load.py trims (Spark unescapes \t \r \n in literals)
_TO_SPARK = {"list_max": "array_max"}  # DuckDB functions in contract expressions


def spark_sql(expression: str) -> str:
    """A contract expression (`extra`, `check`) in Spark's spelling of its functions."""
    return re.sub(r"\b(\w+)\(", lambda m: _TO_SPARK.get(m[1], m[1]) + "(", expression)


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
        # load.py's token pattern; its \s is RE2's [\t\n\f\r ] (Java's \s adds \v)
        tokens = rf"regexp_extract_all({raw}, r'[^\t\n\f\r ;|,\[\]\x27\x22]+', 0)"
        many = f"transform({tokens}, t -> {spark_casts.date('t')})"
        one = spark_casts.date(raw)
        return (  # the usual one ISO date first: a cheap check instead of the grammar
            f"CASE WHEN {spark_casts.is_iso_date(raw)} THEN array(try_cast({raw} AS DATE)) "
            f"WHEN ({one}) IS NOT NULL THEN array({one}) "
            f"WHEN size({many}) > 0 THEN {many} END"
        )
    if col.sql_type == "VARCHAR":
        return raw
    return _cast(col.sql_type, raw)


SPARK = Dialect(
    blank=lambda raw: f"({raw} IS NULL OR trim(BOTH {_WS} FROM {raw}) = '')",
    any_element=lambda items, pred: f"exists({items}, x -> {pred})",
    expression=spark_sql,
)


def cooked(session: SparkSession, extract: Extract, path: Path, source: str) -> DataFrame:
    """Every record of the file, typed and judged: the contract columns, `line`, `rec`,
    `reason` (NULL = staged) and `record` (the raw values of a rejected row). The cluster
    reads it at `source` (`Location.spark_input`); `path` is this disk's copy."""
    names = spark_csv.header_of(session, source, path.name)
    header = match_header(extract, path.name, names)  # the embedded engine's header rule
    position = {name: i for i, name in enumerate(names)}
    src = {c.name: f"_c{position[header[c.name]]}" for c in extract.columns}
    cols = extract.columns
    bad, newlines = spark_csv.BAD, spark_csv.count_of
    contract = "concat_ws('', " + ", ".join(src[c.name] for c in cols) + ")"
    every = "concat_ws('', " + ", ".join(f"_c{i}" for i in range(len(names))) + ")"
    reason, record = spark_csv.broken(path, len(names))
    df = spark_csv.read(session, source, len(names)).selectExpr(
        "monotonically_increasing_id() AS _mid",
        f"{bad} IS NOT NULL AS _is_broken",
        *[f"{_raw(c, src[c.name])} AS r_{c.name}" for c in cols],
        f"coalesce({newlines(bad, chr(10))}, {newlines(contract, chr(10))}) AS _nl",
        f"coalesce({newlines(bad, chr(10))}, {newlines(every, chr(10))}) AS _nl_all",
        f"{reason} AS _broken",
        f"{record} AS _broken_record",
    )
    return _judge(df, extract)


def _judge(df: DataFrame, extract: Extract) -> DataFrame:
    """Line numbers, typed values, reasons, records; then the duplicates of the key."""
    cols = extract.columns
    names = [c.name for c in cols]
    whens = " ".join(w for c in cols for w in problems(c, SPARK))
    record = "concat_ws(',', " + ", ".join(f"coalesce(r_{n}, '')" for n in names) + ")"
    before = "OVER (ORDER BY _mid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
    df = df.selectExpr(
        "*",
        "row_number() OVER (ORDER BY _mid) AS rec",
        # load.py: a parsed record's line counts the breaks in the contract's columns of the
        # records before it; a record DuckDB cannot split is placed from its byte offset
        "1 + row_number() OVER (ORDER BY _mid) + coalesce(CASE WHEN _is_broken "
        f"THEN sum(_nl_all) {before} ELSE sum(_nl) {before} END, 0) AS line",
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
