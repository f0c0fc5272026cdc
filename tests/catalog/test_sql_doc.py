"""docs/sql.md runs: every ```sql block marked `-- check: <name>` goes through Trino on the
demo's `commerce` catalog as written, and the page's questions (top 3 industries, CTR,
venue totals, late-payment share, top customers) get the API's answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from resources import PlatformPaths

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "sql.md"
CTR_RANGE = {"startTimestamp": "2016-02-01 00:00:00", "endTimestamp": "2016-02-02 00:00:00",
             "aggregation": 60}  # the range and buckets the doc's `ctr` block asks for


def checked_blocks(text: str) -> dict[str, str]:
    """The ```sql blocks whose first line is `-- check: <name>`, by name (SQL without it)."""
    blocks = {}
    for body in re.findall(r"^```sql\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
        first, _, sql = body.partition("\n")
        if match := re.fullmatch(r"-- check: (\w+)", first.strip()):
            assert match[1] not in blocks, f"two blocks named {match[1]}"
            blocks[match[1]] = sql.strip()
    return blocks


BLOCKS = checked_blocks(DOC.read_text())


@pytest.fixture(scope="module")
def commerce(after_demo: tuple[Path, Path], trino_server) -> Iterator[object]:  # noqa: ANN001
    """Trino's `commerce` catalog on the demo's catalog (once for the module)."""
    from tests.servers.trino import TestCatalogs

    catalogs = TestCatalogs(trino_server)
    yield catalogs.catalog(PlatformPaths(data_dir=str(after_demo[1])).catalog())
    catalogs.close()


@pytest.fixture(scope="module")
def api(after_demo: tuple[Path, Path]) -> TestClient:
    return TestClient(create_app(str(after_demo[1])))


def run(commerce, name: str, **values: object) -> list[tuple]:  # noqa: ANN001
    sql = BLOCKS[name]
    for key, value in values.items():
        sql = sql.replace(f"<{key}>", str(value))
    return commerce.query(sql)


def api_top3(api: TestClient) -> list[tuple[int, str, float]]:
    """(rank, industry, change_abs) of the first three industries `/industries/scores` has."""
    scores = api.get("/industries/scores").json()["industries"][:3]
    return [(s["rank"], s["industry"], s["change_abs"]) for s in scores]


def test_every_checked_block_runs(commerce) -> None:  # noqa: ANN001
    assert {"top3", "ctr", "venue_totals", "late_share", "top3_as_of_snapshot"} <= set(BLOCKS)
    snapshot = commerce.query('SELECT min(snapshot_id) FROM industries.'
                              '"industry_change_scores$snapshots"')[0][0]
    for name in BLOCKS:
        assert run(commerce, name, snapshot_id=snapshot), name
    plan = run(commerce, "explain_pruning")[0][0]
    assert "venue_daily_totals" in plan and "constraint on [created_date]" in plan


def test_top3_is_the_api_s_answer(commerce, api: TestClient) -> None:  # noqa: ANN001
    want = api_top3(api)
    assert len(want) == 3
    got = [(rank, industry, float(change)) for rank, industry, change, *_ in run(commerce, "top3")]
    assert got == want


def test_time_travel_reads_the_run_s_snapshot(commerce, api: TestClient) -> None:  # noqa: ANN001
    runs = run(commerce, "snapshots")
    assert runs and all(run_id for _, _, _, run_id, _ in runs)
    oldest = min(runs, key=lambda r: r[1])[0]
    then = [(r, i, float(c)) for r, i, c in run(commerce, "top3_as_of_snapshot",
                                                      snapshot_id=oldest)]
    now = [(r, i, float(c)) for r, i, c in run(commerce, "top3_as_of_time")]
    assert now == api_top3(api)
    if len(runs) == 1:  # the demo scores once: its one snapshot is today's table
        assert then == now


def test_ctr_is_the_api_s_answer(commerce, api: TestClient) -> None:  # noqa: ANN001
    want = api.get("/ctr", params=CTR_RANGE).json()
    got = [{"timestamp": bucket.isoformat(sep=" "), "platform": platform, "product": product,
            "ctr": ctr, "purchases": purchases, "views": views}
           for bucket, platform, product, purchases, views, ctr in run(commerce, "ctr")]
    assert len(got) == len(want) > 0
    for mine, theirs in zip(got, want, strict=True):
        assert mine == theirs | {"ctr": mine["ctr"]}
        assert (mine["ctr"] is None) == (theirs["ctr"] is None)
        assert mine["ctr"] is None or abs(mine["ctr"] - theirs["ctr"]) <= 1e-4


def test_venue_totals_and_late_share_are_the_api_s(commerce, api: TestClient) -> None:  # noqa: ANN001
    params = {"venue_id": "venue-003", "start": "2024-01-01", "end": "2024-03-31"}
    want = [(r["created_date"], float(r["total_amount"]), r["invoice_count"])
            for r in api.get("/invoices/venue-totals", params=params).json()]
    got = [(d.isoformat(), float(t), n) for d, _, t, n, _ in run(commerce, "venue_totals")]
    assert got == want and want
    share = api.get("/late-payments/share", params={"granularity": "month"}).json()
    want = [(r["period_start"], r["invoices"], r["judged"], r["late"], r["unpaid"])
            for r in share]
    rows = run(commerce, "late_share")
    assert [(p.isoformat(), *counts) for p, *counts, _ in rows] == want and want
    for (*_, mine), theirs in zip(rows, share, strict=True):
        assert mine is None and theirs["late_share"] is None or (
            abs(mine - theirs["late_share"]) <= 1e-4)


def test_top_customers_are_the_api_s(commerce, api: TestClient) -> None:  # noqa: ANN001
    want = [(r["rank"], r["name"], float(r["total_amount_spent"]))
            for r in api.get("/customers/insights/top_customers").json()]
    got = [(rank, name, float(total)) for rank, name, _, total, _ in run(commerce,
                                                                      "top_customers")]
    assert got == want and want
