"""Fairness between domains, measured: `python -m bench.freshness_backlog [--files N]`.

Issue 21, item 5: 5,000 one-row invoice files land at once (a sync tool catching up), and
a CTR file (the real MobileWeb day) lands 5 s later, on one running platform
(`bench.freshness.start_platform`, as `make run` starts it). Two clocks, polled together
every 0.5 s: the invoices' from their last file landing until the published venue totals
hold every invoice with the right amount (an independent sum over the files written here);
the CTR file's from its landing until the API answers the right day (the same pipeline
drained on a copy, `bench.freshness.expected_answer`). Targets: 120 s and 45 s. Also
counted: each domain's runs. Prints a Markdown table (README, docs/reliability.md).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import dagster as dg

from assets.invoices.publish import published_totals
from assets.shared import md_table
from bench.freshness import (
    domain_runs,
    expected_answer,
    idle,
    platform_answer,
    start_platform,
    wait_for,
)
from bench.freshness_scenarios import SCENARIOS, land_all
from cli.generators.invoices import write_invoice_file
from resources.lib.serving import lake_root

INVOICE_TARGET, CTR_TARGET = 120, 45
DATES = ("2024-04-01", "2024-04-02", "2024-04-03", "2024-04-04", "2024-04-05")


def build_invoice_files(root: Path, files: int) -> tuple[int, Decimal]:
    """`files` one-row files over DATES in `root/landing/invoices`; (invoices, amount)."""
    folder = root / "landing" / "invoices"
    amount = Decimal(0)
    for i in range(files):
        day = DATES[i * len(DATES) // files]
        cents = Decimal(100 + i % 9_000) / 100
        amount += cents
        write_invoice_file(folder / f"invoices_{day}_{i:05d}.csv", [[
            f"v{i % 40}", f"00000000-0000-4000-8000-{i:012d}", f"{day} 10:{i % 60:02d}:00",
            str(cents)]])
    return files, amount


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5_000)
    args = parser.parse_args()
    ctr = next(s for s in SCENARIOS if s.name == "ctr")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        invoices_built, ctr_built = tmp_path / "built" / "invoices", tmp_path / "built" / "ctr"
        expected_invoices = build_invoice_files(invoices_built, args.files)
        ctr.build(ctr_built)
        expected_ctr = expected_answer(ctr, ctr_built, tmp_path)
        print("right answers computed", flush=True)
        platform = start_platform(tmp_path)
        try:
            rows = measure(platform, invoices_built, expected_invoices, ctr_built, expected_ctr,
                           args.files)
        finally:
            for proc in platform.procs:
                proc.terminate()
            for proc in platform.procs:
                proc.wait(timeout=60)
    print(md_table(["what", "input", "seconds to the right answer", "target", "runs"], rows))


def measure(platform, invoices_built: Path, expected_invoices: tuple[int, Decimal],
            ctr_built: Path, expected_ctr: list, files: int) -> list[tuple]:
    """Land both, poll both answers together; the table's rows."""
    ctr = next(s for s in SCENARIOS if s.name == "ctr")
    shutil.copytree(ctr_built / "sources", platform.data / "sources", dirs_exist_ok=True)
    instance, wall = platform.instance(), time.time()
    land_all(invoices_built, platform.data)
    invoices_landed = time.monotonic()
    time.sleep(5)
    land_all(ctr_built, platform.data)
    ctr_landed = time.monotonic()
    done: dict[str, float] = {}

    def check() -> bool:
        now = time.monotonic()
        if "ctr" not in done and platform_answer(platform, ctr) == expected_ctr:
            done["ctr"] = now - ctr_landed
        lake = lake_root(platform.data)
        if "invoices" not in done and published_totals(lake) == expected_invoices:
            done["invoices"] = now - invoices_landed
        return len(done) == 2

    wait_for(check, 8 * INVOICE_TARGET, "both right answers")
    wait_for(lambda: idle(instance), 600, "the platform to be idle")
    show_runs(instance, wall - 1)
    return [
        ("invoices backlog", f"{files:,} one-row files of 5 dates", f"{done['invoices']:.1f}",
         f"<= {INVOICE_TARGET}", domain_runs(instance, "invoices", wall - 1)),
        ("CTR file meanwhile", "the real MobileWeb day, 5 s after the backlog",
         f"{done['ctr']:.1f}", f"<= {CTR_TARGET}", domain_runs(instance, "ctr", wall - 1)),
    ]


def show_runs(instance, since: float) -> None:
    """Each run since `since`: created/started/ended (s after `since`), status, what for."""
    from bench.freshness import _utc

    records = instance.get_run_records(dg.RunsFilter(created_after=_utc(since)))
    for r in sorted(records, key=lambda r: r.create_timestamp.timestamp()):
        run = r.dagster_run
        what = run.job_name if not run.job_name.startswith("__") else "/".join(
            k.to_user_string() for k in run.asset_selection or ())
        times = [f"{t - since:6.1f}" if t else "     -" for t in
                 (r.create_timestamp.timestamp(), r.start_time, r.end_time)]
        print(" ".join(times), f"{run.status.value:8}", what[:60],
              run.tags.get("platform/reask_of", ""), flush=True)


if __name__ == "__main__":
    main()
