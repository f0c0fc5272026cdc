"""Invoices tests run twice: on the embedded warehouse and on the real PostgreSQL fixture."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from assets.invoices.store import InvoiceStore, open_store
from definitions import domain_defs
from resources import build_resources


@dataclass
class InvoicesEnv:
    backend: str
    data_dir: Path
    resources: dict
    defs: dg.Definitions

    @property
    def landing(self) -> Path:
        return self.data_dir / "landing" / "invoices"

    def store(self):
        return open_store(self.resources["invoices_db"])

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.store() as store:
            return [tuple(r) for r in store.execute(sql, params).fetchall()]


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.integration)])
def invoices_env(request, tmp_path, monkeypatch) -> InvoicesEnv:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(data_dir))
    monkeypatch.delenv("INVOICES_DB_URL", raising=False)
    if request.param == "postgres":
        monkeypatch.setenv("INVOICES_DB_URL", request.getfixturevalue("pg_url"))
    resources = build_resources()
    defs = domain_defs("invoices", resources)
    return InvoicesEnv(request.param, data_dir, resources, defs)


def materialization(result: dg.ExecuteInProcessResult, node: str, key: dg.AssetKey):
    """The last materialization of `key` the run's step `node` recorded."""
    return [m for m in result.asset_materializations_for_node(node) if m.asset_key == key][-1]


def latest_metadata(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> dict:
    """The metadata of a partition's latest materialization (what the UI shows for it)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def uid(n: int) -> str:
    """A stable UUID per small integer, so tests can name invoices."""
    return str(uuid.UUID(int=n, version=4))


def full_recompute(store: InvoiceStore) -> dict[tuple[str, date], tuple]:
    rows = store.execute(
        "SELECT venue_id, created_date, SUM(total), COUNT(*) FROM invoices.raw_invoices"
        " GROUP BY venue_id, created_date"
    ).fetchall()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def aggregate(store: InvoiceStore) -> dict[tuple[str, date], tuple]:
    rows = store.execute(
        "SELECT venue_id, created_date, total_amount, invoice_count"
        " FROM invoices.venue_daily_totals"
    ).fetchall()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}
