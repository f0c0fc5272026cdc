"""Response shapes of the read endpoints, as documented in the OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
from pydantic import BaseModel, Field


class CtrDays(BaseModel):
    platform: str
    days: list[str] = Field(description="YYYY-MM-DD days with published rollups.")


class Venue(BaseModel):
    venue_id: str
    first_date: date = Field(description="First creation date with published totals.")
    last_date: date = Field(description="Last creation date with published totals.")


class VenueTotal(BaseModel):
    venue_id: str
    created_date: date
    total_amount: float = Field(description="Sum of the invoices' totals (refunds net off).")
    invoice_count: int
    updated_at: datetime = Field(description="When this venue's date last changed (UTC).")
    files: list[str] | None = Field(description="Files the date's invoices came from.")
    last_file: str | None = Field(description="The file loaded last among them.")


class IndustryScore(BaseModel):
    industry: str
    last_24h: float = Field(description="Order amount in the 24 h before as_of.")
    baseline: float = Field(description="Average daily amount over the 30 days before that.")
    change_abs: float = Field(description="last_24h - baseline.")
    change_pct: float | None = Field(description="change_abs / baseline; null if no baseline.")
    rank: int = Field(description="1 = largest change; the top 3 are the answer.")


class IndustryScores(BaseModel):
    as_of: datetime | None = Field(description="End of the 24 h window (UTC); null if none.")
    complete: bool | None = Field(
        description="False when the loaded orders do not cover the whole 31-day window.")
    industries: list[IndustryScore]

    @classmethod
    def of(cls, frame: pl.DataFrame | None) -> IndustryScores:
        if frame is None or frame.is_empty():
            return cls(as_of=None, complete=None, industries=[])
        rows = frame.with_columns(pl.col(pl.Decimal).cast(pl.Float64)).to_dicts()
        return cls(as_of=rows[0]["as_of"], complete=rows[0]["complete"],
                   industries=[IndustryScore(**r) for r in rows])


class IndustryHistoryRow(IndustryScore):
    as_of: datetime
    complete: bool | None
    scored_at: datetime = Field(description="When the scoring run wrote it (UTC).")
    run_id: str = Field(description="The Dagster run that scored.")


class LateShareRow(BaseModel):
    period_start: date = Field(description="First issue day of the period.")
    invoices: int
    judged: int = Field(description="Paid, or unpaid for more than 30 days as of `as_of`.")
    late: int = Field(description="Judged invoices paid (or still unpaid) after 30 days.")
    unpaid: int
    as_of: date = Field(description="The day unpaid invoices were judged at.")
    late_share: float | None = Field(description="late / judged, 4 decimals.")


class TopCustomer(BaseModel):
    rank: int
    customer_id: int
    name: str | None
    email: str | None
    country: str | None
    total_amount_spent: float
    total_orders: int


class TopProduct(BaseModel):
    rank: int
    product_id: int
    product_name: str | None
    category_name: str | None
    order_count: int
    units_sold: int


class CategoryRating(BaseModel):
    category_id: int
    category_name: str | None
    average_rating: float | None
    review_count: int


class MonthlySales(BaseModel):
    month: date
    order_count: int
    total_sales: float
    average_order_value: float | None
    customer_count: int


# a row of one of the four insights (which one: the path's `name`)
InsightRow = TopCustomer | TopProduct | CategoryRating | MonthlySales
