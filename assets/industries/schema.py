"""The `industries` warehouse tables, in one place (created once per process, see
`resources.sql`). Timestamps are TIMESTAMPTZ; warehouse sessions run in UTC."""

from __future__ import annotations

from assets.industries.common import SCHEMA as NAME
from resources.sql import Schema

SCHEMA = Schema(NAME, (
    f"CREATE SCHEMA IF NOT EXISTS {NAME}",
    # customer batches -> the current snapshot
    f"""CREATE TABLE IF NOT EXISTS {NAME}.customers (
        customer_id VARCHAR PRIMARY KEY, company_name VARCHAR, specialized_industries VARCHAR,
        industries VARCHAR[], source_file VARCHAR, line_number BIGINT)""",
    f"""CREATE TABLE IF NOT EXISTS {NAME}.customer_industries (
        customer_id VARCHAR, industry VARCHAR, PRIMARY KEY (customer_id, industry))""",
    f"""CREATE TABLE IF NOT EXISTS {NAME}.rejected_customers (
        source_file VARCHAR, line_number BIGINT, customer_id VARCHAR, value VARCHAR,
        reason VARCHAR)""",
    # the order stream: lake batches, deduplicated orders, the per-customer hourly rollup
    f"""CREATE TABLE IF NOT EXISTS {NAME}.order_batches (
        batch_seq BIGINT PRIMARY KEY, file VARCHAR, rows_loaded BIGINT, rows_rejected BIGINT,
        hours VARCHAR[], offsets VARCHAR, registered_at TIMESTAMPTZ)""",
    f"""CREATE TABLE IF NOT EXISTS {NAME}.rejected_orders (
        batch_seq BIGINT, source_file VARCHAR, line_number BIGINT, reason VARCHAR,
        raw VARCHAR)""",
    f"""CREATE TABLE IF NOT EXISTS {NAME}.orders (
        order_id VARCHAR PRIMARY KEY, customer_id VARCHAR, amount DECIMAL(18,2),
        order_ts TIMESTAMPTZ, hour TIMESTAMPTZ, order_lines VARCHAR,
        source_file VARCHAR, line_number BIGINT, batch_seq BIGINT)""",
    f"""CREATE TABLE IF NOT EXISTS {NAME}.customer_hourly (
        customer_id VARCHAR, hour TIMESTAMPTZ, amount DECIMAL(18,2), order_count BIGINT,
        PRIMARY KEY (customer_id, hour))""",
    # the scores and every scoring run
    f"""CREATE TABLE IF NOT EXISTS {NAME}.industry_change_scores (
        industry VARCHAR PRIMARY KEY, last_24h DECIMAL(18,2), baseline DECIMAL(18,4),
        change_abs DECIMAL(18,4), change_pct DOUBLE, rank INTEGER, as_of TIMESTAMPTZ)""",
    f"""CREATE TABLE IF NOT EXISTS {NAME}.industry_change_history (
        industry VARCHAR, last_24h DECIMAL(18,2), baseline DECIMAL(18,4),
        change_abs DECIMAL(18,4), change_pct DOUBLE, rank INTEGER, as_of TIMESTAMPTZ,
        scored_at TIMESTAMPTZ, run_id VARCHAR)""",
    # false when the loaded orders do not cover the whole window (added after the first
    # release: existing warehouses gain the column)
    f"ALTER TABLE {NAME}.industry_change_scores ADD COLUMN IF NOT EXISTS complete BOOLEAN",
    f"ALTER TABLE {NAME}.industry_change_history ADD COLUMN IF NOT EXISTS complete BOOLEAN",
))
