"""Publishing the late-payment share per issue date for the API and the page
(`resources.lib.serving`), from the committed `invoice_features` and `stg_invoices`.

Per day an invoice was issued: invoices, how many can be judged (paid, or unpaid for longer
than the 30 days allowed as of the run's `as_of`), how many of those were late, and how many
are still unpaid. The share is late / judged: an invoice that cannot be judged yet counts
neither way. The features table is rebuilt whole per run, so the file is too.
"""

from __future__ import annotations

from datetime import date

import duckdb

from assets.late_payments.extracts import SCHEMA
from resources.lib.serving import LATE_PAYMENT_SHARE, answer_file, publish_table
from resources.lib.storage import Location

SHARE_SQL = f"""
SELECT i.date_issued AS day, count(*) AS invoices, count(f.is_late) AS judged,
       CAST(coalesce(sum(f.is_late), 0) AS BIGINT) AS late,
       count(*) FILTER (i.paid_on IS NULL) AS unpaid,
       $as_of AS as_of
FROM {SCHEMA}.invoice_features f JOIN {SCHEMA}.stg_invoices i ON i.invoice_id = f.inv_id
WHERE i.date_issued IS NOT NULL
GROUP BY 1 ORDER BY 1
"""


def publish_share(conn: duckdb.DuckDBPyConnection, lake: Location, as_of: date) -> int:
    """Replace the published share per issue day; how many days it holds. Reads what is
    committed, on a cursor of its own (the caller's connection may hold an open result)."""
    with conn.cursor() as cur:
        table = cur.sql(SHARE_SQL, params={"as_of": as_of}).to_arrow_table()
    publish_table(answer_file(lake, LATE_PAYMENT_SHARE), table)
    return table.num_rows
