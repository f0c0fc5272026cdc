"""Benchmark: the late_payments job on synthetic extracts of 1M and 10M invoices.

    .venv/bin/python -m bench.late_payments [--sizes 1000000 10000000] [--keep DIR]

Generates the four CSVs with DuckDB (`cli.generators.late_payments.write_extracts`, ~5.5 line
items per invoice, 48 invoices per account), then materializes every asset of the job
in-process against a fresh file-backed warehouse and prints the wall time per step and in
total. Targets: 10x the data costs at most 12x the time; 10M invoices within 2 minutes.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import dagster as dg

from assets.late_payments.cdc import extract_path_assets
from cli.generators.late_payments import write_extracts
from resources import PlatformPaths, SparkResource, Warehouse


def run_once(root: Path, invoices: int) -> dict[str, float]:
    paths = PlatformPaths(data_dir=str(root))
    started = time.perf_counter()
    counts = write_extracts(paths.landing("retail"), invoices, seed=1)
    generated = time.perf_counter() - started
    size_mb = sum(p.stat().st_size for p in paths.landing("retail").glob("*.csv")) / 1e6
    warehouse = Warehouse(database=str(paths.warehouse))
    started = time.perf_counter()
    (root / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(root / "home")) as instance:
        resources = {"paths": paths, "warehouse": warehouse, "spark": SparkResource()}
        result = dg.materialize(
            extract_path_assets(), resources=resources, instance=instance
        )
    total = time.perf_counter() - started
    steps = {
        e.step_key.removeprefix("late_payments__"): e.event_specific_data.duration_ms / 1000
        for e in result.all_events
        if e.is_step_success
    }
    return {
        "invoices": counts["invoices"],
        "line_items": counts["invoice_line_items"],
        "csv_mb": size_mb,
        "generate_s": generated,
        "job_s": total,
        **steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--keep", type=Path, default=None, help="work dir (default: tmp)")
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        root = Path(tempfile.mkdtemp(prefix=f"lp_bench_{size}_", dir=args.keep))
        rows.append(run_once(root, size))
        shutil.rmtree(root, ignore_errors=True)
        print(rows[-1], flush=True)
    step_names = [k for k in rows[0] if k.startswith(("stg_", "fct_", "invoice_"))]
    header = ["invoices", "line items", "CSV MB", "generate s", "job s", *step_names]
    print("\n| " + " | ".join(header) + " |\n|" + "---:|" * len(header))
    for r in rows:
        cells = [f"{r['invoices']:,}", f"{r['line_items']:,}", f"{r['csv_mb']:,.0f}"]
        cells += [f"{r['generate_s']:.1f}", f"{r['job_s']:.1f}"]
        cells += [f"{r.get(s, float('nan')):.1f}" for s in step_names]
        print("| " + " | ".join(cells) + " |")
    if len(rows) >= 2:
        data_ratio = rows[-1]["invoices"] / rows[0]["invoices"]
        time_ratio = rows[-1]["job_s"] / rows[0]["job_s"]
        print(
            f"\n{data_ratio:.0f}x the data took {time_ratio:.1f}x the time "
            f"(target <= {1.2 * data_ratio:.0f}x); largest run {rows[-1]['job_s']:.0f} s "
            f"(target <= 120 s)"
        )


if __name__ == "__main__":
    main()
