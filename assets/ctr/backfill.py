"""Runs that cover several (date, platform) partitions: a single-run backfill.

The partitioned ctr assets do their work one partition at a time (each in its own
transaction, exactly as a sensor run would); `per_partition` runs that for every partition
of the run and, when there is more than one, folds the results into the one
`MaterializeResult` Dagster records for all of them: counts summed, one row per partition
in a table, each check passed only when it passed for every partition.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from assets.ctr.partitions import partition_slices
from assets.shared import md_table

POLICY = dg.BackfillPolicy.single_run()


def per_partition(
    context: dg.AssetExecutionContext, one: Callable[[str, str], dg.MaterializeResult]
) -> dg.MaterializeResult:
    """`one(date, platform)` for each partition of the run, folded into one result."""
    slices = partition_slices(context)
    results = [one(day, platform) for day, platform in slices]
    if len(results) == 1:
        return results[0]
    context.log.info(f"{len(results)} partitions in one run: {slices[0]} … {slices[-1]}")
    metadata: dict[str, int] = {}
    for result in results:
        for key, value in (result.metadata or {}).items():
            if isinstance(value, int) and not isinstance(value, bool):
                metadata[key] = metadata.get(key, 0) + value
    checks = {}
    for name in {c.check_name for r in results for c in r.check_results or []}:
        mine = [
            (s, c) for s, r in zip(slices, results, strict=True)
            for c in r.check_results or [] if c.check_name == name
        ]
        failed = [f"{day}|{platform}" for (day, platform), c in mine if not c.passed]
        checks[name] = dg.AssetCheckResult(
            check_name=name,
            passed=not failed,
            severity=mine[0][1].severity,
            metadata={"partitions": len(mine), "failed_partitions": failed[:20]},
        )
    table = md_table(
        ["date", "platform", "rows", *sorted(checks)],
        [
            (day, platform, (r.metadata or {}).get("dagster/row_count", ""),
             *("✔" if all(c.passed for c in r.check_results or [] if c.check_name == n)
               else "✘" for n in sorted(checks)))
            for (day, platform), r in zip(slices, results, strict=True)
        ],
    )
    return dg.MaterializeResult(
        metadata={**metadata, "partitions": dg.MetadataValue.md(table)},
        check_results=list(checks.values()),
    )
