"""Daily partitions: the raw asset by sync date, the aggregate by creation date; the keys.

The history starts at INVOICES_HISTORY_START (default 2010-01-01): rows created earlier are
rejected with that reason, and the partitions (and the UI's partition views) begin there.
They end TOMORROW (UTC), not today: sync and creation dates are the venue's local dates,
which run up to a day ahead of UTC (UTC+14), so a file named for tomorrow is a real file and
gets its run at once. A file dated later, or before the start, has no partition: the sensor
moves it aside with the reason.
"""

import dagster as dg

from assets.invoices.files import DOMAIN
from assets.shared import asset_key, history_start

START_DATE = history_start("INVOICES", "2010-01-01")
DAYS_AHEAD_OF_UTC = 1  # the last partition: tomorrow (UTC), the latest local date on Earth

sync_date_partitions = dg.DailyPartitionsDefinition(
    start_date=START_DATE, end_offset=1 + DAYS_AHEAD_OF_UTC
)
creation_date_partitions = dg.DailyPartitionsDefinition(
    start_date=START_DATE, end_offset=1 + DAYS_AHEAD_OF_UTC
)

RAW_KEY = asset_key(DOMAIN, "raw_invoices")
TOTALS_KEY = asset_key(DOMAIN, "venue_daily_totals")
