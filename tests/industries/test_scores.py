"""Exact scores on a hand-built month of orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.industries.conftest import (
    T0,
    build_hours,
    ingest,
    load_customers,
    order_line,
    query,
    score,
    write_customers,
    write_lines,
)

# A: Food; B: Cosmetics+Food; C: Construction; D: Polymer (new: orders only in the last
# 24 h, zero baseline); E: only an unknown industry; Z: an order from an unknown customer.
CUSTOMERS = [
    ("A", "Alpha", "Food"),
    ("B", "Beta", " cosmetics ;FOOD"),
    ("C", "Gamma", "Construction"),
    ("D", "Delta", "polymer"),
    ("E", "Eps", "Textiles"),
]


def month_of_orders() -> list[str]:
    """30 baseline days + the last 24 h before T0; a few orders per day."""
    lines, n = [], 0

    def add(cust: str, amount: float, day: int, minute: int) -> None:
        nonlocal n
        n += 1
        ts = T0 - timedelta(days=day) + timedelta(minutes=minute)
        lines.append(order_line(f"o{n}", cust, amount, ts))

    for day in range(2, 32):  # day k = the 24 h starting at T0 - k days: baseline window
        add("A", 10.0, day, 60)
        add("A", 10.0, day, 600)
        add("B", 5.0, day, 120)
        for m in (30, 90, 150):
            add("C", 7.0, day, m)
    # the last 24 h = [T0 - 1 day, T0)
    add("A", 10.0, 1, 60)
    add("A", 10.0, 1, 1439)  # 23:59 before T0: still inside
    for m in (5, 200, 400, 800):
        add("B", 5.0, 1, m)
    add("C", 7.0, 1, 30)
    add("D", 50.0, 1, 700)
    add("Z", 100.0, 1, 300)
    # outside both windows: at T0 itself and 31 days + 1 minute back
    lines.append(order_line("late-edge", "A", 999.0, T0))
    lines.append(order_line("old", "A", 999.0, T0 - timedelta(days=31, minutes=1)))
    return lines


@pytest.fixture
def scored(res, tmp_path):
    write_customers(tmp_path / "landing/customers/c_001.csv", "specialized_industries",
                    CUSTOMERS)
    write_lines(tmp_path / "landing/orders/history.jsonl", month_of_orders())
    assert ingest(res).success
    build_hours(res, T0 - timedelta(days=32), T0)
    load_customers(res)
    result = score(res, as_of=T0)
    return result


def test_exact_scores(res, scored):
    rows = query(
        res,
        "SELECT industry, last_24h, baseline, change_abs, change_pct, rank, as_of "
        "FROM industries.industry_change_scores ORDER BY rank",
    )
    assert len(rows) == 10
    by = {r[0]: r for r in rows}
    # Cosmetics (B): baseline 5/day, last 20 -> +300 %
    assert by["Cosmetics"][1:5] == (Decimal("20.00"), Decimal("5.0000"), Decimal("15.0000"), 3.0)
    # Food (A + B): baseline 25/day, last 40 -> +60 %
    assert by["Food"][1:5] == (Decimal("40.00"), Decimal("25.0000"), Decimal("15.0000"), 0.6)
    # Construction (C): 21/day -> 7: collapse
    assert by["Construction"][1:4] == (Decimal("7.00"), Decimal("21.0000"), Decimal("-14.0000"))
    assert by["Construction"][4] == pytest.approx(-2 / 3, abs=1e-6)
    # Polymer (D): zero baseline -> change_pct null
    assert by["Polymer"][1:5] == (Decimal("50.00"), Decimal("0.0000"), Decimal("50.0000"), None)
    assert by["Agriculture"][1:5] == (Decimal("0.00"), Decimal("0.0000"), Decimal("0.0000"), None)
    ranking = [r[0] for r in rows]
    assert ranking[:4] == ["Cosmetics", "Construction", "Food", "Polymer"]
    assert {r[6].isoformat() for r in rows} == {T0.isoformat()}


def test_checks_and_metadata(res, scored):
    checks = {e.check_name: e for e in scored.get_asset_check_evaluations()}
    assert checks["scores_sum_to_rollup"].passed
    unknown = checks["orders_from_known_customers"]
    assert not unknown.passed
    assert unknown.metadata["orders_from_unknown_customers"].value == 1
    mats = scored.asset_materializations_for_node("industry_change_scores")
    meta = next(m for m in mats if m.asset_key.path[-1] == "industry_change_scores").metadata
    assert meta["top_1"].value.startswith("Cosmetics +300.0%")
    assert "| 4 | Polymer |" in meta["preview"].value


def test_history_keeps_runs_and_rerun_is_idempotent(res, scored, tmp_path):
    assert query(res, "SELECT count(*) FROM industries.industry_change_history")[0][0] == 10
    score(res, as_of=T0)  # same input, same T: nothing new
    assert query(res, "SELECT count(*) FROM industries.industry_change_history")[0][0] == 10
    # A new customer batch moves C out of Construction: rescored from the rollup alone.
    write_customers(tmp_path / "landing/customers/c_002.csv", "specialised_industries",
                    [("C", "Gamma", "Food")])
    load_customers(res)
    score(res, as_of=T0)
    assert query(res, "SELECT count(*) FROM industries.industry_change_history")[0][0] == 20
    food = query(res, "SELECT last_24h, baseline FROM industries.industry_change_scores "
                      "WHERE industry = 'Food'")[0]
    assert food == (Decimal("47.00"), Decimal("46.0000"))


def test_default_as_of_is_end_of_latest_complete_hour(res, scored):
    score(res)  # the newest order is at T0 exactly: its hour [T0, T0+1h) is long over
    as_of = query(res, "SELECT DISTINCT as_of FROM industries.industry_change_scores")
    assert [r[0].isoformat() for r in as_of] == [(T0 + timedelta(hours=1)).isoformat()]
