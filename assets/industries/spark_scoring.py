"""Industry change scores on Spark: the embedded scoring (`scoring.py`) over the lake's
`customer_hourly` Delta table, with the customer snapshot (a few MB even at a million
customers) sent from the warehouse. The window rule is the same function (`decide_window`);
the SQL is `SCORE_SQL` in Spark's dialect, divisions in DOUBLE as DuckDB does them, so both
engines round the same values."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from assets.industries.common import INDUSTRIES, SCHEMA
from assets.industries.scoring import Window, decide_window, has_customers
from assets.industries.spark_engine import HOURLY_TABLE, table
from resources.lib.storage import Location

SCORE_SQL = """
WITH ind AS (SELECT industry FROM {all_industries}),
per_customer AS (
    SELECT h.customer_id,
           sum(CASE WHEN h.hour >= w.t - INTERVAL 24 HOURS THEN h.amount END) AS last_amt,
           sum(CASE WHEN h.hour < w.t - INTERVAL 24 HOURS THEN h.amount END) AS base_amt
    FROM {hourly} h CROSS JOIN {params} w
    WHERE h.hour >= w.t - INTERVAL 24 HOURS - INTERVAL 30 DAYS AND h.hour < w.t
    GROUP BY h.customer_id),
agg AS (
    SELECT ind.industry,
           CAST(coalesce(sum(p.last_amt), 0) AS DECIMAL(18,2)) AS last_24h,
           CAST(round(CAST(coalesce(sum(p.base_amt), 0) AS DOUBLE) / 30, 4) AS DECIMAL(18,4))
               AS baseline
    FROM ind
    LEFT JOIN {industries} ci ON ci.industry = ind.industry
    LEFT JOIN per_customer p ON p.customer_id = ci.customer_id
    GROUP BY ind.industry),
scored AS (
    SELECT industry, last_24h, baseline,
           CAST(last_24h - baseline AS DECIMAL(18,4)) AS change_abs,
           CASE WHEN baseline = 0 THEN NULL
                ELSE round(CAST(last_24h - baseline AS DOUBLE) / CAST(baseline AS DOUBLE), 6)
           END AS change_pct
    FROM agg)
SELECT industry, last_24h, baseline, change_abs, change_pct,
       CAST(row_number() OVER (ORDER BY abs(change_pct) DESC NULLS LAST,
                               abs(change_abs) DESC, industry) AS INT) AS rank
FROM scored ORDER BY rank
"""
TOTALS_SQL = """
SELECT coalesce(sum(CASE WHEN h.hour >= w.t - INTERVAL 24 HOURS THEN h.amount * c.n END), 0),
       coalesce(sum(CASE WHEN h.hour < w.t - INTERVAL 24 HOURS THEN h.amount * c.n END), 0)
FROM {hourly} h JOIN {customers} c USING (customer_id) CROSS JOIN {params} w
WHERE h.hour >= w.t - INTERVAL 24 HOURS - INTERVAL 30 DAYS AND h.hour < w.t
"""
UNKNOWN_SQL = """
SELECT count(DISTINCT h.customer_id), coalesce(sum(h.order_count), 0)
FROM {hourly} h LEFT ANTI JOIN {customers} c USING (customer_id)
"""


class SparkScoring:
    """The facts scoring needs, from the cluster's rollup and the warehouse's customers."""

    def __init__(self, session, lake: Location, conn: duckdb.DuckDBPyConnection) -> None:  # noqa: ANN001
        self.session, self.conn = session, conn
        self.hourly = table(session, lake, HOURLY_TABLE)

    def window(self, as_of: str | None = None, now: datetime | None = None) -> Window:
        first = last = None
        if self.hourly is not None:
            low, high = self.hourly.selectExpr("unix_seconds(min(hour))",
                                               "unix_seconds(max(hour))").first()
            if high is not None:
                first, last = (datetime.fromtimestamp(x, UTC) for x in (low, high))
        return decide_window(first, last, has_customers(self.conn), self._rows_between,
                             as_of, now)

    def _rows_between(self, start: datetime, end: datetime) -> int:
        return self.hourly.where(self.hourly.hour >= start).where(self.hourly.hour < end).count()

    def _views(self) -> dict[str, str]:
        """Temp views of this session: the rollup, the customer snapshot, its industries."""
        customers = self.conn.sql(
            f"SELECT customer_id, len(industries) AS n FROM {SCHEMA}.customers"
        ).to_arrow_table()
        industries = self.conn.sql(
            f"SELECT customer_id, industry FROM {SCHEMA}.customer_industries"
        ).to_arrow_table()
        names = {"hourly": "industries_hourly", "customers": "industries_customers",
                 "industries": "industries_customer_industries",
                 "all_industries": "industries_all"}
        self.session.createDataFrame([(name,) for name in INDUSTRIES], "industry STRING") \
            .createOrReplaceTempView(names["all_industries"])
        self.hourly.createOrReplaceTempView(names["hourly"])
        self.session.createDataFrame(customers).createOrReplaceTempView(names["customers"])
        self.session.createDataFrame(industries).createOrReplaceTempView(names["industries"])
        return names

    def _at(self, as_of: datetime) -> str:
        """A one-row view holding T: how a value reaches the SQL (this Connect server does
        not bind `spark.sql(args=...)` parameters)."""
        self.session.createDataFrame([(as_of,)], "t TIMESTAMP").createOrReplaceTempView(
            "industries_at")
        return "industries_at"

    def scores(self, as_of: datetime) -> list[tuple]:
        """The ten rows as the embedded `compute_scores` returns them."""
        names = self._views()
        rows = self.session.sql(SCORE_SQL.format(**names, params=self._at(as_of))).collect()
        return [(*tuple(r), as_of) for r in rows]

    def totals(self, as_of: datetime) -> tuple[float, float]:
        """The sum check's independent recomputation (`scoring.rollup_totals`)."""
        names = self._views()
        last, base = self.session.sql(
            TOTALS_SQL.format(**names, params=self._at(as_of))).first()
        return float(last), float(base)

    def unknown(self) -> tuple[int, int]:
        """Distinct customers of the rollup missing from the snapshot, and their orders."""
        names = self._views()
        customers, orders = self.session.sql(UNKNOWN_SQL.format(**names)).first()
        return int(customers), int(orders)
