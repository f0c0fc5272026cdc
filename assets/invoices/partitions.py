"""Daily partitions: the raw asset by sync date, the aggregate by creation date."""

import dagster as dg

START_DATE = "2010-01-01"  # rows created earlier are rejected with that reason

sync_date_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, end_offset=1)
creation_date_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, end_offset=1)
