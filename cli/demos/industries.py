"""`make demo` step for industries: ingest customers and orders (scored in the same runs),
print the top 3."""

import dagster as dg

from assets.industries.common import SCHEMA
from cli.runner import drain_sensor
from resources.bindings import resource_of

TITLE = "3. Industry change: top 3 industries"

SENSORS = (
    "industries_customers_sensor",
    "industries_order_stream_sensor",
    "industries_order_hours_sensor",
)


def run(defs: dg.Definitions, instance: dg.DagsterInstance) -> str:
    """Drive the domain's sensors to quiet and return the top 3 as text."""
    runs = {name: drain_sensor(defs, name, instance)[0] for name in SENSORS}
    warehouse = resource_of((defs.resources or {})["warehouse"])
    with warehouse.get_connection() as conn:
        rows = conn.execute(
            f"SELECT rank, industry, last_24h, baseline, change_abs, change_pct, as_of "
            f"FROM {SCHEMA}.industry_change_scores ORDER BY rank LIMIT 3"
        ).fetchall()
    counts = ", ".join(f"{name.removeprefix('industries_')}={n}" for name, n in runs.items())
    lines = [f"Industry change scores as of {rows[0][6]:%Y-%m-%d %H:%M} UTC (runs: {counts})"]
    for rank, industry, last, base, change_abs, pct, _ in rows:
        pct_text = "n/a (zero baseline)" if pct is None else f"{pct * 100:+.1f}%"
        lines.append(
            f"  {rank}. {industry:<16} last 24h {float(last):>12,.2f}  "
            f"30-day daily avg {float(base):>12,.2f}  change {float(change_abs):>+12,.2f} "
            f"({pct_text})"
        )
    return "\n".join(lines)
