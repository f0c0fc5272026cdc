"""How an answer row looks on the wire, in one place.

The API renders the rows it computes with `row_json` and joins them with `json_array`; the
10-minute serving tier stores each of its rows already rendered by the same `row_json`, so an
answer read from the tier is byte for byte the answer the API would have computed
(tests/ctr/test_tier.py compares the two).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

COLUMNS = ["timestamp", "platform", "product", "ctr", "purchases", "views"]


def answer_rows(grouped: pl.DataFrame, start: datetime, aggregation: int) -> pl.DataFrame:
    """(k, platform, product, views, purchases) rows, bucket k = [start + k·aggregation,
    …), to the answer's COLUMNS: ctr = purchases / views rounded to 4 decimals, null when
    views = 0; timestamps 'YYYY-MM-DD HH:MM:SS'. Keeps the row order."""
    views, buys = pl.col("views").cast(pl.Int64), pl.col("purchases").cast(pl.Int64)
    # format each bucket start once (a day at 10 minutes has 144), not once per row
    stamps = {
        k: (start + timedelta(minutes=k * aggregation)).isoformat(sep=" ")
        for k in grouped.get_column("k").unique().to_list()
    }
    return grouped.select(
        timestamp=pl.col("k").replace_strict(stamps, return_dtype=pl.String),
        platform="platform",
        product="product",
        ctr=pl.when(views > 0).then((buys / views).round(4)),
        purchases=buys,
        views=views,
    )


def row_json(answer: pl.DataFrame) -> pl.Series:
    """Each answer row as its JSON object (keys in COLUMNS order)."""
    return answer.select(pl.struct(COLUMNS).struct.json_encode().alias("row_json")).to_series()


def json_array(rows: pl.Series) -> bytes:
    """Rendered rows as one JSON array. The brackets go onto the first and last row and
    the join is cast to Binary, so the body is copied once into Python bytes (through a
    Python str it would be copied twice more, ~16 ms for a 16 MB answer)."""
    n = rows.len()
    if n == 0:
        return b"[]"
    if n == 1:
        parts = [pl.Series([f"[{rows[0]}]"])]
    else:
        parts = [pl.Series([f"[{rows[0]}"]), rows.slice(1, n - 2), pl.Series([f"{rows[-1]}]"])]
    return pl.concat(parts, rechunk=False).str.join(",").cast(pl.Binary).item()
