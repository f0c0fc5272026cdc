"""A model of the point-of-sale database for the CDC tests: random changes (hypothesis), the
Debezium events they produce, and the batch pipeline's features on the same state (the oracle:
the state written as the four CSV extracts, staged and featured by the extract path's code)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from assets.late_payments.changes import KEYS
from assets.late_payments.common import TABLES
from assets.late_payments.extracts import EXTRACTS
from assets.late_payments.fact import FACT_SQL
from assets.late_payments.features import FEATURES, FEATURES_SQL
from assets.late_payments.load import load_extract
from resources import Warehouse

DAY0 = date(2021, 1, 1)


def key_of(table: str, row: dict[str, Any]) -> tuple:
    return tuple(row[k] for k in KEYS[table])


@dataclass
class SourceModel:
    """The four tables as the database holds them (typed values), and the change log."""

    tables: dict[str, dict[tuple, dict[str, Any]]] = field(
        default_factory=lambda: {name: {} for name in EXTRACTS})

    def upsert(self, table: str, row: dict[str, Any]) -> tuple[str, dict | None, dict]:
        key = key_of(table, row)
        before = self.tables[table].get(key)
        self.tables[table][key] = row
        return ("u" if before else "c", before, row)

    def delete(self, table: str, key: tuple) -> tuple[str, dict, None] | None:
        before = self.tables[table].pop(key, None)
        return ("d", before, None) if before else None

    def dump(self, folder: Path) -> None:
        """The state as the four extract files (what `cli.retail_db dump` writes)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, extract in EXTRACTS.items():
            cols = [c.name for c in extract.columns]
            with (folder / extract.file_name).open("w", newline="") as fh:
                out = csv.writer(fh)
                out.writerow(cols)
                for row in self.tables[name].values():
                    out.writerow(["" if row.get(c) is None else str(row[c]) for c in cols])


def debezium_json(value: Any) -> Any:
    """A typed value as Debezium's JsonConverter writes it (dates as days, decimals as text)."""
    if isinstance(value, date):
        return (value - date(1970, 1, 1)).days
    if isinstance(value, Decimal):
        return str(value)
    return value


def envelope(op: str, before: dict | None, after: dict | None, table: str) -> bytes:
    def conv(row: dict | None) -> dict | None:
        return None if row is None else {k: debezium_json(v) for k, v in row.items()}

    return json.dumps({"before": conv(before), "after": conv(after), "op": op,
                       "source": {"table": table}, "ts_ms": 0}).encode()


def oracle_features(tmp: Path, model: SourceModel, as_of: date) -> list[tuple]:
    """The batch pipeline's `invoice_features` on the model's state, ordered by inv_id."""
    model.dump(tmp / "extracts")
    return batch_features(tmp / "extracts", tmp, as_of)


def batch_features(extracts: Path, tmp: Path, as_of: date) -> list[tuple]:
    """The extract path's staging, fact and features on the four files in `extracts`."""
    warehouse = Warehouse(database=str(tmp / "oracle.duckdb"))
    with warehouse.get_connection(TABLES) as conn:
        for extract in EXTRACTS.values():
            load_extract(conn, extract, extracts / extract.file_name)
        conn.execute(FACT_SQL)
        conn.execute(FEATURES_SQL, {"as_of": as_of})
        return conn.execute(f"SELECT * FROM {FEATURES} ORDER BY inv_id").fetchall()


def _day(lo: int = -400, hi: int = 400) -> st.SearchStrategy[date]:
    return st.integers(lo, hi).map(lambda d: DAY0 + timedelta(days=d))


# mostly near the as-of dates the tests use (DAY0 + 200 onwards): the 30-day line is crossed
_DATES = st.one_of(_day(150, 260), _day(), st.just(date(1990, 1, 1)))  # 1990: out of range
_PRICE = st.one_of(st.decimals(0, 100, places=4), st.just(Decimal("-1.0000")))
_PAYMENT = st.one_of(st.none(), _day().map(date.isoformat), st.just("soon"),
                     st.tuples(_day(), _day()).map(lambda t: f"{t[0]};{t[1]}"))
ACCOUNT_IDS, ITEM_IDS, INVOICE_IDS = st.integers(1, 5), st.sampled_from("ABCDE"), st.integers(1, 14)
ROWS = {
    "accounts": st.fixed_dictionaries({
        "account_id": ACCOUNT_IDS, "company_name": st.sampled_from(["Acme", "Beta, Ltd", None]),
        "company_address": st.just("1 Road\nTown"), "contact_person": st.just("Ann"),
        "contact_phone": st.just("555"), "gender": st.sampled_from(["F", "M", None]),
        "joining_date": st.one_of(_DATES, st.none())}),
    "skus": st.fixed_dictionaries({
        "item_id": ITEM_IDS, "item_name": st.just("Pear"), "item_description": st.just("green"),
        "item_cost_price": _PRICE, "item_retail_price": st.one_of(_PRICE, st.none())}),
    "invoices": st.fixed_dictionaries({
        "invoice_id": INVOICE_IDS, "account_id": st.one_of(st.integers(1, 6), st.none()),
        "date_issued": _DATES, "payment_dates": _PAYMENT}),
    "invoice_line_items": st.fixed_dictionaries({
        "invoice_id": st.integers(1, 15), "item_id": ITEM_IDS,
        "quantity": st.one_of(st.integers(-1, 6), st.none())}),
}
CHANGE = st.sampled_from(sorted(EXTRACTS)).flatmap(
    lambda t: st.tuples(st.just(t), st.sampled_from(["upsert", "upsert", "delete"]), ROWS[t]))
