"""Per-partition truth: a run over a range of partitions records each partition with its own
figures, never the range's figures as if they were the partition's.

Dagster gives an asset one output per run and copies its metadata onto every partition of a
range. So a ranged run yields that output with run-level figures only, clearly labelled
(the range, how many partitions, a table of each one's own figures). For a range of at most
OWN_EVENTS_MAX partitions it then records one `AssetMaterialization` per partition with that
partition's own figures, so the latest materialization of each partition, the one the UI
shows, is its own; a longer range (a month of hours) keeps only the labelled run-level
figures, because every materialization event costs ~13 ms on Dagster's default SQLite
storage and doubling them would double a history load (bench/freshness.py). A run of one
partition returns that partition's figures. When a range fails part-way, the partitions
committed before the failure are recorded before the error is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import dagster as dg

from assets.shared.markdown import md, md_table

Figures = Mapping[str, Any]
OWN_EVENTS_MAX = 31  # a month of days; see the module docstring
TABLE_ROWS = 40  # the run-level table is copied onto every partition's event: keep it small


def record_partitions(
    context: dg.AssetExecutionContext,
    figures: Mapping[str, Figures],
    asset_key: dg.AssetKey | None = None,
    description: str | None = None,
) -> None:
    """One materialization per partition key of `figures` (of this asset unless `asset_key`),
    each with its own metadata."""
    for partition, metadata in figures.items():
        context.log_event(
            dg.AssetMaterialization(
                asset_key=asset_key or context.asset_key,
                partition=partition,
                metadata=dict(metadata),
                description=description,
            )
        )


def _scalar(value: Any) -> Any:
    return value.value if isinstance(value, dg.MetadataValue) else value


def run_level(figures: Mapping[str, Figures]) -> dict[str, Any]:
    """The output metadata of a ranged run: labelled as the run's, never a partition's."""
    keys = list(figures)
    columns = sorted({name for f in figures.values() for name, v in f.items()
                      if isinstance(_scalar(v), int | float | str) and name != "preview"})
    shown = [k for k in keys if any(_scalar(v) for v in figures[k].values())][:TABLE_ROWS]
    rows = [(key, *(_scalar(figures[key].get(c, "")) for c in columns)) for key in shown]
    where = ("in its latest materialization and in the table below"
             if len(keys) <= OWN_EVENTS_MAX else
             f"in the table below (partitions with data, first {TABLE_ROWS})")
    return {
        "run_range": f"{keys[0]} .. {keys[-1]}: {len(keys)} partitions in one run; these are "
        f"the run's figures, each partition's own are {where}",
        "run_partitions": md(md_table(["partition", *columns], rows)),
    }


def partition_results(
    context: dg.AssetExecutionContext,
    figures: Mapping[str, Figures],
    checks: Iterable[dg.AssetCheckResult] = (),
    run_figures: Figures | None = None,
) -> Iterator[dg.MaterializeResult]:
    """The results of a run over `figures`' partitions (see the module docstring);
    `run_figures` are the run's own (kept as they are for one partition, else prefixed
    `run_`)."""
    extra = dict(run_figures or {})
    if len(figures) == 1:
        metadata = {**dict(*figures.values()), **extra}
        yield dg.MaterializeResult(metadata=metadata, check_results=list(checks))
        return
    metadata = {**run_level(figures), **{f"run_{k}": v for k, v in extra.items()}}
    yield dg.MaterializeResult(metadata=metadata, check_results=list(checks))
    if len(figures) <= OWN_EVENTS_MAX:
        record_partitions(context, figures)


def each_partition(
    context: dg.AssetExecutionContext,
    keys: Sequence[str],
    one: Callable[[str], dg.MaterializeResult],
    run_figures: Callable[[], Figures] | None = None,
) -> Iterator[dg.MaterializeResult]:
    """`one(key)` for every partition of the run, each committing its own work; then the
    results, the checks folded over the partitions, and `run_figures()` (the run's own,
    computed once the partitions are done)."""
    done: dict[str, dg.MaterializeResult] = {}
    try:
        for key in keys:
            done[key] = one(key)
    except Exception:
        record_partitions(context, {k: r.metadata or {} for k, r in done.items()},
                          description="committed before a later partition failed the run")
        raise
    if len(keys) > 1:
        context.log.info(f"{len(keys)} partitions in one run: {keys[0]} … {keys[-1]}")
    checks: dict[str, list[tuple[str, dg.AssetCheckResult]]] = {}
    for key, result in done.items():
        for check in result.check_results or []:
            checks.setdefault(check.check_name, []).append((key, check))
    folded = [fold_check(name, results) for name, results in checks.items()]
    yield from partition_results(context, {k: r.metadata or {} for k, r in done.items()},
                                 folded, run_figures() if run_figures else None)


def fold_check(name: str, results: list[tuple[str, dg.AssetCheckResult]]) -> dg.AssetCheckResult:
    """One check result for a run: passed when it passed for every partition; the metadata
    names the partitions it failed for (a single partition keeps its own result)."""
    if len(results) == 1:
        return results[0][1]
    failed = [key for key, check in results if not check.passed]
    return dg.AssetCheckResult(
        check_name=name,
        passed=not failed,
        severity=results[0][1].severity,
        metadata={"partitions": len(results), "failed_partitions": failed[:20]},
    )
