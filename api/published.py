"""Reading the published answers (`resources.lib.serving`) with Polars: never a database.

Each file is read through one open (its bytes, then decoded from memory), so a file
replaced meanwhile is seen whole in its old or its new version. A part file is chosen by
its name (month or day) before anything is read, so a request reads only the parts its
range needs. A missing file is an answer with no rows (nothing published yet).
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import polars as pl

from assets.ctr.serving import PLATFORMS, TABLES, serving_file, serving_root
from resources.lib.serving import (
    INDUSTRY_HISTORY,
    INDUSTRY_SCORES,
    INVOICE_TOTALS,
    INVOICE_VENUES,
    LATE_PAYMENT_SHARE,
    answer_file,
    insight_file,
    month_part,
    parts_folder,
)


def file_bytes(path: str | Path) -> bytes | None:
    """A file's bytes through one open (one version of it, whatever replaces it meanwhile);
    None when it is not there."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def read(path: Path) -> pl.DataFrame | None:
    """One published file, or None when it is not there."""
    data = file_bytes(path)
    return None if data is None else pl.read_parquet(io.BytesIO(data))


def part_names(folder: Path) -> list[str]:
    """The parts of a folder of published Parquet files, by name (a sortable month or day),
    without the hidden names of files being written."""
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.parquet") if not p.name.startswith("."))


def read_parts(folder: Path, first: str, last: str) -> pl.DataFrame | None:
    """The part files of `folder` whose name is in [first, last]."""
    frames = [f for n in part_names(folder) if first <= n <= last
              if (f := read(folder / f"{n}.parquet")) is not None]
    return pl.concat(frames, how="vertical_relaxed") if frames else None


def ctr_days(data_dir: Path) -> dict[str, list[str]]:
    """Per platform, the days (file names) of its published CTR rollups."""
    serving = serving_root(data_dir)
    return {p: sorted({day for t in TABLES
                       for day in part_names(serving_file(serving, t, p, "x").parent)})
            for p in PLATFORMS}


def venues(data_dir: Path) -> pl.DataFrame | None:
    return read(answer_file(data_dir, INVOICE_VENUES))


def venue_totals(data_dir: Path, start: date, end: date, venue: str | None) -> pl.DataFrame | None:
    """Totals per venue and creation date in [start, end], by date then venue."""
    folder = parts_folder(data_dir, INVOICE_TOTALS)
    found = read_parts(folder, month_part(start), month_part(end))
    if found is None:
        return None
    found = found.filter(pl.col("created_date").is_between(start, end))
    if venue is not None:
        found = found.filter(pl.col("venue_id") == venue)
    return found.sort("created_date", "venue_id")


def industry_scores(data_dir: Path) -> pl.DataFrame | None:
    return read(answer_file(data_dir, INDUSTRY_SCORES))


def industry_history(data_dir: Path, start: date | None, end: date | None) -> pl.DataFrame | None:
    """Every scoring run whose `as_of` falls on a UTC day in [start, end]; without a range,
    the 30 days up to the latest published day."""
    folder = parts_folder(data_dir, INDUSTRY_HISTORY)
    if end is None:
        parts = part_names(folder)
        if not parts:
            return None
        end = date.fromisoformat(parts[-1])
    if start is None:  # 30 days, or fewer when they would begin before 0001-01-01
        start = date.fromordinal(max(1, end.toordinal() - 29))
    found = read_parts(folder, start.isoformat(), end.isoformat())
    return None if found is None else found.sort("scored_at", "as_of", "rank")


def late_share(data_dir: Path, start: date | None, end: date | None,
               granularity: str) -> pl.DataFrame | None:
    """Invoices, judged, late and unpaid per issue day/week/month, and late / judged."""
    found = read(answer_file(data_dir, LATE_PAYMENT_SHARE))
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


def insight(data_dir: Path, name: str) -> pl.DataFrame | None:
    return read(insight_file(data_dir, name))
