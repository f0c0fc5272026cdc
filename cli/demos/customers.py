"""`make demo` step of the customers domain: run the job once, print what it produced."""

from __future__ import annotations

import dagster as dg

from assets.customers.documents import CUSTOMERS_COLLECTION, latest_insight
from cli.runner import execute_run_request
from resources.bindings import resource_of
from sensors.customers import JOB_NAME

TITLE = "5. Customer insights"

def run(defs: dg.Definitions, instance: dg.DagsterInstance) -> str:
    """Materialize the customers job in-process; return the answer lines."""
    result = execute_run_request(defs, dg.RunRequest(job_name=JOB_NAME), instance)
    load = next(
        m for m in result.asset_materializations_for_node("customers_docstore_load")
        if m.asset_key.path[-1] == "docstore_customer_aggregates"
    )
    meta = {k: v.value for k, v in load.metadata.items()}
    docstore = resource_of((defs.resources or {})["docstore"])
    with docstore.get_database() as db:
        total = db[CUSTOMERS_COLLECTION].count_documents({})
        top = latest_insight(db, "top_customers")
        months = latest_insight(db, "monthly_sales")
    lines = [
        f"customers: {total} customer documents in {meta['target']} "
        f"(this run: {meta['inserted']} inserted, {meta['updated']} updated, "
        f"{meta['unchanged']} unchanged, {meta['deleted']} deleted)",
        "customers: top 5 customers by amount spent:",
    ]
    for row in (top or {}).get("rows", []):
        lines.append(
            f"  {row['rank']}. #{row['customer_id']} {row['name']} ({row['country']}): "
            f"{row['total_amount_spent']:.2f} over {row['total_orders']} orders"
        )
    if months and months["rows"]:
        best = max(months["rows"], key=lambda r: r["total_sales"])
        lines.append(f"customers: best month {best['month']:%Y-%m} with "
                     f"{best['total_sales']:.2f} in {best['order_count']} orders")
    return "\n".join(lines)
