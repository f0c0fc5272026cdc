"""How an answer row looks on the wire, in one place.

The API writes the rows it computes with `frame_json`; the 10-minute serving tier stores
each of its rows already rendered by `row_json`, joined into an answer by `json_array`. The
two give the same bytes (tests/ctr/test_api.py asserts it), so an answer read from the tier
is byte for byte the answer the API would have computed.
"""

from __future__ import annotations

import io
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


def frame_json(answer: pl.DataFrame) -> bytes:
    """Answer rows as one JSON array (Polars' writer, straight into bytes)."""
    if answer.is_empty():
        return b"[]"
    buf = io.BytesIO()
    answer.write_json(buf)
    return buf.getvalue()


def row_json(answer: pl.DataFrame) -> pl.Series:
    """Each answer row as its JSON object (keys in COLUMNS order)."""
    return answer.select(pl.struct(COLUMNS).struct.json_encode().alias("row_json")).to_series()


def json_array(rows: pl.Series) -> bytes:
    """Rendered rows as one JSON array."""
    if rows.is_empty():
        return b"[]"
    return f"[{rows.str.join(',').item()}]".encode()
