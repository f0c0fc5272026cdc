"""Daily partitions: the raw asset by sync date, the aggregate by creation date; the keys.

The history starts at INVOICES_HISTORY_START (default 2010-01-01): rows created earlier are
rejected with that reason, and the partitions (and the UI's partition views) begin there.
"""

import dagster as dg

from assets.invoices.files import DOMAIN
from assets.shared import asset_key, history_start

START_DATE = history_start("INVOICES", "2010-01-01")

sync_date_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, end_offset=1)
creation_date_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, end_offset=1)

RAW_KEY = asset_key(DOMAIN, "raw_invoices")
TOTALS_KEY = asset_key(DOMAIN, "venue_daily_totals")
