"""Read endpoints beyond `/ctr`: venue totals, industry scores and their history, the
late-payment share, the customer insights. Same rules as `/ctr`: a bad parameter is a 422
naming it; an answer has at most `CTR_API_MAX_ROWS` rows (more needs `limit`/`offset`
paging, with `X-Next-Offset` and `Link: rel="next"`); only published files are read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal

import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from api import published
from api.common import (
    ERRORS,
    MAX_OFFSET,
    IsoDate,
    PlainInt,
    max_rows,
    over_cap,
    page_response,
)
from api.models import (
    CtrDays,
    IndustryHistoryRow,
    IndustryScores,
    InsightRow,
    LateShareRow,
    Venue,
    VenueTotal,
)
from resources.lib.serving import CUSTOMER_INSIGHTS
from resources.lib.storage import Location


class Paging(BaseModel):
    limit: PlainInt | None = Field(
        default=None, gt=0, description="Page size (≤ CTR_API_MAX_ROWS). Without it, an "
        "answer over the maximum is refused with a 422.")
    offset: PlainInt = Field(default=0, ge=0, le=MAX_OFFSET, description="Rows to skip.")


class DateRange(Paging):
    start: IsoDate | None = Field(default=None, description="First day (inclusive).")
    end: IsoDate | None = Field(default=None, description="Last day (inclusive), ≥ start.")

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if start is not None and end is not None and end < start:
            raise ValueError("end must be on or after start")
        return end


class VenueTotalsQuery(DateRange):
    start: IsoDate = Field(description="First creation date (inclusive).")
    end: IsoDate = Field(description="Last creation date (inclusive), ≥ start.")
    venue_id: str | None = Field(default=None, min_length=1, max_length=200,
                                 description="One venue; all venues when absent.")


class ShareQuery(DateRange):
    granularity: Literal["day", "week", "month"] = Field(
        default="month", description="Period of each row (weeks start on Monday).")


def to_json(frame: pl.DataFrame) -> bytes:
    """Rows as a JSON array: decimals as numbers, dates ISO, instants ISO in UTC with Z."""
    cols = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Decimal):
            col = col.cast(pl.Float64)
        elif isinstance(dtype, pl.Datetime):
            col = (col.dt.convert_time_zone("UTC") if dtype.time_zone else col)
            col = col.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ" if dtype.time_zone
                                  else "%Y-%m-%dT%H:%M:%S%.6f")
        cols.append(col.alias(name))
    return frame.select(cols).write_json().encode() if frame.width else b"[]"


def paged(frame: pl.DataFrame | None, q: Paging, request: Request) -> Response:
    """One page of `frame` (all of it when it fits under the row limit)."""
    if (refused := over_cap(q.limit, "query")) is not None:
        return refused
    frame = frame if frame is not None else pl.DataFrame()
    size = q.limit or max_rows()
    return page_response(to_json(frame.slice(q.offset, size)), frame.height > q.offset + size,
                         q.limit, q.offset, "query", request, "the range")


def reads_router(root: Callable[[], Location]) -> APIRouter:
    """The read endpoints over the published files under `root()` (the lake)."""
    router = APIRouter()
    _sales_routes(router, root)
    _analytics_routes(router, root)
    return router


def _sales_routes(router: APIRouter, root: Callable[[], Location]) -> None:
    """What the page needs to choose a CTR range and to show venue totals."""

    @router.get("/ctr/days", response_model=list[CtrDays], tags=["ctr"])
    def get_ctr_days() -> list[CtrDays]:
        """The days (GMT-03:00) with published CTR rollups, per platform."""
        return [CtrDays(platform=p, days=d) for p, d in published.ctr_days(root()).items()]

    @router.get("/invoices/venues", response_model=list[Venue], responses=ERRORS,
                tags=["invoices"])
    def get_venues(request: Request, q: Annotated[Paging, Query()]) -> Response:
        """Every venue with published totals, with its first and last creation date."""
        return paged(published.venues(root()), q, request)

    @router.get("/invoices/venue-totals", response_model=list[VenueTotal], responses=ERRORS,
                tags=["invoices"])
    def get_venue_totals(request: Request, q: Annotated[VenueTotalsQuery, Query()]) -> Response:
        """Invoice totals per venue and creation date in [start, end], with the files the
        date's invoices came from and the file loaded last. By date, then venue."""
        return paged(published.venue_totals(root(), q.start, q.end, q.venue_id), q, request)


def _analytics_routes(router: APIRouter, root: Callable[[], Location]) -> None:
    """Industry scores and their history, the late-payment share, the customer insights."""

    @router.get("/industries/scores", response_model=IndustryScores, responses=ERRORS,
                tags=["industries"])
    def get_scores() -> IndustryScores:
        """The current scores of all ten industries by rank (the top 3 first)."""
        return IndustryScores.of(published.industry_scores(root()))

    @router.get("/industries/history", response_model=list[IndustryHistoryRow],
                responses=ERRORS, tags=["industries"])
    def get_history(request: Request, q: Annotated[DateRange, Query()]) -> Response:
        """Every scoring run's ranking whose `as_of` falls in [start, end] (UTC days);
        without a range, the 30 days up to the latest scoring."""
        return paged(published.industry_history(root(), q.start, q.end), q, request)

    @router.get("/late-payments/share", response_model=list[LateShareRow], responses=ERRORS,
                tags=["late payments"])
    def get_share(request: Request, q: Annotated[ShareQuery, Query()]) -> Response:
        """Invoices by issue period: how many could be judged, how many were paid late
        (over 30 days), `late_share` = late / judged (null when none could be judged)."""
        found = published.late_share(root(), q.start, q.end, q.granularity)
        return paged(found, q, request)

    @router.get("/customers/insights/{name}", response_model=list[InsightRow],
                responses=ERRORS, tags=["customers"])
    def get_insight(request: Request, name: Annotated[Literal[CUSTOMER_INSIGHTS], PathParam(
            description="top_customers, top_products, category_ratings or monthly_sales")],
            q: Annotated[Paging, Query()]) -> Response:
        """One of the four customer insights as the last insights run published it."""
        return paged(published.insight(root(), name), q, request)
