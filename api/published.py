"""Reading the published answers (`resources.lib.serving`) with Polars: never a database.
The lake is a `Location`: this disk or LAKE_URL's bucket, read the same way.

Each file is read through one open (its bytes, then decoded from memory), so a file
replaced meanwhile is seen whole in its old or its new version. A part file is chosen by
its name (month or day) before anything is read, so a request reads only the parts its
range needs. A missing file is an answer with no rows (nothing published yet).
"""

from __future__ import annotations

import io
from datetime import date

import polars as pl

from assets.ctr.serving import PLATFORMS, TABLES, serving_root, slice_folder
from resources.lib.serving import (
    INDUSTRY_HISTORY,
    INDUSTRY_SCORES,
    INVOICE_TOTALS,
    INVOICE_VENUES,
    LATE_PAYMENT_SHARE,
    answer_file,
    insight_file,
    month_part,
    part_names,
    parts_folder,
)
from resources.lib.storage import Location


def file_bytes(file: Location, rel: str = "") -> bytes | None:
    """A file's bytes through one open (one version of it, whatever replaces it meanwhile);
    None when it is not there."""
    try:
        return file.read_bytes(rel)
    except FileNotFoundError:
        return None


def read(file: Location) -> pl.DataFrame | None:
    """One published file, or None when it is not there."""
    data = file_bytes(file)
    return None if data is None else pl.read_parquet(io.BytesIO(data))


def read_parts(folder: Location, first: str, last: str) -> pl.DataFrame | None:
    """The part files of `folder` whose name is in [first, last]."""
    frames = [f for n in part_names(folder) if first <= n <= last
              if (f := read(folder.child(f"{n}.parquet"))) is not None]
    return pl.concat(frames, how="vertical_relaxed") if frames else None


def ctr_days(lake: Location) -> dict[str, list[str]]:
    """Per platform, the days (file names) of its published CTR rollups."""
    serving = serving_root(lake)
    return {p: sorted({day for t in TABLES for day in part_names(slice_folder(serving, t, p))})
            for p in PLATFORMS}


def venues(lake: Location) -> pl.DataFrame | None:
    return read(answer_file(lake, INVOICE_VENUES))


def venue_totals(lake: Location, start: date, end: date, venue: str | None) -> pl.DataFrame | None:
    """Totals per venue and creation date in [start, end], by date then venue."""
    folder = parts_folder(lake, INVOICE_TOTALS)
    found = read_parts(folder, month_part(start), month_part(end))
    if found is None:
        return None
    found = found.filter(pl.col("created_date").is_between(start, end))
    if venue is not None:
        found = found.filter(pl.col("venue_id") == venue)
    return found.sort("created_date", "venue_id")


def industry_scores(lake: Location) -> pl.DataFrame | None:
    return read(answer_file(lake, INDUSTRY_SCORES))


def industry_history(lake: Location, start: date | None, end: date | None) -> pl.DataFrame | None:
    """Every scoring run whose `as_of` falls on a UTC day in [start, end]; without a range,
    the 30 days up to the latest published day."""
    folder = parts_folder(lake, INDUSTRY_HISTORY)
    if end is None:
        parts = part_names(folder)
        if not parts:
            return None
        end = date.fromisoformat(parts[-1])
    if start is None:  # 30 days, or fewer when they would begin before 0001-01-01
        start = date.fromordinal(max(1, end.toordinal() - 29))
    found = read_parts(folder, start.isoformat(), end.isoformat())
    return None if found is None else found.sort("scored_at", "as_of", "rank")


def late_share(lake: Location, start: date | None, end: date | None,
               granularity: str) -> pl.DataFrame | None:
    """Invoices, judged, late and unpaid per issue day/week/month, and late / judged."""
    found = read(answer_file(lake, LATE_PAYMENT_SHARE))
    if found is None:
        return None
    if start is not None:
        found = found.filter(pl.col("day") >= start)
    if end is not None:
        found = found.filter(pl.col("day") <= end)
    every = {"day": "1d", "week": "1w", "month": "1mo"}[granularity]
    grouped = (found.sort("day").group_by_dynamic("day", every=every)
               .agg(pl.col("invoices", "judged", "late", "unpaid").cast(pl.Int64).sum(),
                    pl.col("as_of").max())
               .rename({"day": "period_start"}))
    ratio = pl.col("late").cast(pl.Float64) / pl.col("judged").cast(pl.Float64)
    share = pl.when(pl.col("judged") > 0).then(ratio.round(4))
    return grouped.with_columns(share.alias("late_share"))


def insight(lake: Location, name: str) -> pl.DataFrame | None:
    return read(insight_file(lake, name))
