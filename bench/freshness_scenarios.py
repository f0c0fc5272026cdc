"""The scenarios `bench/freshness.py` drops into the running platform, and their right answers.

A scenario builds a complete data root of its domain (landing files and sources, from the
`cli.generators` at a stated scale); its right answer is what the same pipeline gives on a
copy of that root, drained to quiet in a process of its own (`python -m
bench.freshness_scenarios ROOT DOMAIN`, an in-memory Dagster instance): the compared
warehouse tables' digests (`cli.contract`) or, for CTR, the API's answer.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cli.generators import ctr, industries, invoices, late_payments

SCALE = {"invoices": 1.0, "ctr": 1.0, "industries": 2000 / 1500, "late_payments": 1.0}
HISTORY_DAYS = 30
LATE_ORDER_FILE = f"orders_{industries.END - timedelta(seconds=1):%Y-%m-%d}.jsonl"
CTR_DAY = {"startTimestamp": "2016-02-01 00:00:00", "endTimestamp": "2016-02-02 00:00:00",
           "aggregation": 1440, "platform": "MobileWeb", "limit": 100_000}


@dataclass(frozen=True)
class Scenario:
    name: str
    domain: str
    input: str
    target: int  # seconds
    build: Callable[[Path], None]  # writes the scenario's whole data root of its domain
    land: Callable[[Path, Path], None]  # lands its new input from a built root into a data root
    tables: tuple[str, ...] = ()  # the compared warehouse tables; none: the CTR API answer


def landing_files(root: Path) -> list[Path]:
    """Every landing file of a data root, relative to it, in name order."""
    return sorted(p.relative_to(root) for p in (root / "landing").rglob("*") if p.is_file())


def land_all(built: Path, data: Path) -> None:
    """Land every landing file as a sync tool does: a hidden temporary name, then a rename."""
    for rel in landing_files(built):
        target = data / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f".{target.name}.part")
        shutil.copyfile(built / rel, part)
        os.replace(part, target)


def build_invoices(root: Path) -> None:
    invoices.generate(root, scale=SCALE["invoices"])
    folder = root / "landing" / "invoices"
    shutil.copyfile(folder / "invoices_2024-03-03.csv", folder / "invoices_2024-03-11.csv")


def build_ctr(root: Path) -> None:
    """The real MobileWeb day and the purchases source (the other platforms' files removed)."""
    ctr.generate(root, scale=SCALE["ctr"])
    for platform in ("iOS", "Android"):
        shutil.rmtree(root / "landing" / "product_views" / platform)


def build_month(root: Path) -> None:
    industries.generate(root, scale=SCALE["industries"], days=HISTORY_DAYS)


def late_order() -> str:
    """One order placed 20 h before the history ends, arriving now (its own JSON line)."""
    placed = industries.END - timedelta(hours=20)
    order = industries.make_order(random.Random(7), "OLATE0001", industries.customer_id(1), placed)
    return json.dumps(order) + "\n"


def build_late(root: Path) -> None:
    build_month(root)
    land_late(root, root)


def land_late(built: Path, data: Path) -> None:
    """The stream producer appends the late order to today's order file, in place."""
    with (data / "landing" / "orders" / LATE_ORDER_FILE).open("a") as fh:
        fh.write(late_order())


def build_late_payments(root: Path) -> None:
    late_payments.generate(root, scale=SCALE["late_payments"])


SCENARIOS = [
    Scenario("invoices", "invoices", "10 daily files + a resent copy (late invoices, "
             "corrections, refunds, bad rows)", 30, build_invoices, land_all,
             ("invoices.raw_invoices", "invoices.venue_daily_totals")),
    Scenario("ctr", "ctr", "the real MobileWeb day (24 MB), purchases in the source DB", 45,
             build_ctr, land_all),
    Scenario("industries month", "industries", f"2 customer batches + {HISTORY_DAYS} days x "
             "~2,000 orders/day", 60, build_month, land_all,
             ("industries.industry_change_scores",)),
    Scenario("industries late order", "industries", "1 late order appended to today's file",
             45, build_late, land_late, ("industries.industry_change_scores",)),
    Scenario("late payments", "late_payments", "one set of the four extracts (~2,000 "
             "invoices)", 30, build_late_payments, land_all,
             ("late_payments.invoice_features",)),
]


def answer_of(root: Path, tables: tuple[str, ...]) -> list:
    """The right answer read from a data root: table digests, or the CTR day's rows."""
    if tables:
        from cli.contract import digest_lines

        return [ln for ln in digest_lines(str(root / "warehouse.duckdb"))
                if ln.split("\t")[0] in tables]
    from api.query import CtrRequest, query_ctr
    from assets.ctr.serving import serving_root
    from resources.lib.serving import lake_root

    request = CtrRequest(start=datetime(2016, 2, 1), end=datetime(2016, 2, 2), aggregation=1440,
                         platforms=(CTR_DAY["platform"],))
    answer = query_ctr(serving_root(lake_root(root)), request, limit=CTR_DAY["limit"])
    return json.loads(answer.body)


def drain(root: Path, domain: str) -> None:
    """Run the domain's pipeline on `root` to quiet, as `make demo` does (this process)."""
    os.environ.update(PLATFORM_DATA_DIR=str(root), LANDING_SETTLE_SECONDS="0",
                      PLATFORM_RUN_LOG_LEVEL="ERROR")
    import dagster as dg

    from definitions import defs

    with dg.DagsterInstance.ephemeral() as instance:
        importlib.import_module(f"cli.demos.{domain}").run(defs, instance)


if __name__ == "__main__":
    root, name = Path(sys.argv[1]), sys.argv[2]
    scenario = next(s for s in SCENARIOS if s.name == name)
    drain(root, scenario.domain)
    print(json.dumps(answer_of(root, scenario.tables)))
