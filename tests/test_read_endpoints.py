"""The read endpoints beyond /ctr: they answer what the warehouse holds after the demo
(reading only the published files), validate like /ctr (a 422 naming the field), page
beyond the row limit, are in the OpenAPI document, and the API docs need no CDN."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from api.main import create_app


@pytest.fixture(scope="module")
def demo_api(after_demo: tuple[Path, Path]) -> TestClient:
    return TestClient(create_app(str(after_demo[1])))


def warehouse(data: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_industry_scores_and_history_are_the_warehouse_s(demo_api, after_demo) -> None:
    body = demo_api.get("/industries/scores").json()
    expected = warehouse(after_demo[1], "SELECT industry, rank, round(change_abs, 4)"
                         " FROM industries.industry_change_scores ORDER BY rank")
    assert len(expected) == 10
    assert [(s["industry"], s["rank"], round(s["change_abs"], 4))
            for s in body["industries"]] == [(i, r, float(c)) for i, r, c in expected]
    history = demo_api.get("/industries/history").json()
    runs = warehouse(after_demo[1], "SELECT count(*) FROM industries.industry_change_history")
    assert len(history) == runs[0][0] > 0


def test_late_payment_share_is_recomputed_from_the_features(demo_api, after_demo) -> None:
    rows = demo_api.get("/late-payments/share", params={"granularity": "month"}).json()
    expected = warehouse(after_demo[1], """
        SELECT date_trunc('month', i.date_issued)::DATE::VARCHAR, count(*), count(f.is_late),
               sum(f.is_late)
        FROM late_payments.invoice_features f
        JOIN late_payments.stg_invoices i ON i.invoice_id = f.inv_id GROUP BY 1 ORDER BY 1""")
    assert [(r["period_start"], r["invoices"], r["judged"], r["late"]) for r in rows] == [
        (m, n, j, int(late)) for m, n, j, late in expected]
    assert all(r["late_share"] == round(r["late"] / r["judged"], 4) for r in rows if r["judged"])


@pytest.mark.parametrize("name", ["top_customers", "top_products", "category_ratings",
                                  "monthly_sales"])
def test_each_insight_is_the_warehouse_table(demo_api, after_demo, name) -> None:
    rows = demo_api.get(f"/customers/insights/{name}").json()
    expected = warehouse(after_demo[1], f"SELECT count(*) FROM customers.{name}")[0][0]
    assert len(rows) == expected > 0


@pytest.mark.parametrize(("url", "where", "message"), [
    ("/invoices/venue-totals?start=2024-01-01", ["query", "end"], "Field required"),
    ("/invoices/venue-totals?start=2024-13-01&end=2024-12-31", ["query", "start"], "date"),
    ("/invoices/venue-totals?start=20240101&end=2024-12-31", ["query", "start"], "pattern"),
    ("/invoices/venue-totals?start=2024-02-01&end=2024-01-01", ["query", "end"], "after start"),
    ("/industries/history?limit=0", ["query", "limit"], "greater than 0"),
    ("/industries/history?limit=true", ["query", "limit"], "integer"),
    ("/industries/history?offset=-1", ["query", "offset"], "greater than or equal"),
    ("/late-payments/share?granularity=year", ["query", "granularity"], "'month'"),
    ("/customers/insights/top_sellers", ["path", "name"], "top_customers"),
    ("/invoices/venues?limit=100001", ["query", "limit"], "CTR_API_MAX_ROWS"),
])
def test_a_bad_parameter_is_a_422_naming_it(tmp_path, url, where, message) -> None:
    answer = TestClient(create_app(str(tmp_path))).get(url)
    assert answer.status_code == 422
    detail = answer.json()["detail"][0]
    assert detail["loc"] == where and message in detail["msg"]


def test_over_the_row_limit_needs_paging(demo_api, monkeypatch) -> None:
    monkeypatch.setenv("CTR_API_MAX_ROWS", "3")
    refused = demo_api.get("/industries/history")
    assert refused.status_code == 422 and refused.json()["detail"][0]["type"] == "too_many_rows"
    first = demo_api.get("/industries/history", params={"limit": 3})
    assert len(first.json()) == 3 and first.headers["X-Next-Offset"] == "3"
    assert 'offset=3' in first.headers["Link"] and 'rel="next"' in first.headers["Link"]


def test_nothing_published_is_an_empty_answer(tmp_path) -> None:
    client = TestClient(create_app(str(tmp_path)))
    assert client.get("/industries/scores").json() == {
        "as_of": None, "complete": None, "industries": []}
    assert client.get("/invoices/venues").json() == []
    assert client.get("/late-payments/share").json() == []


def test_every_read_endpoint_is_in_the_openapi_document(tmp_path) -> None:
    paths = TestClient(create_app(str(tmp_path))).get("/openapi.json").json()["paths"]
    assert {"/ctr", "/ctr/days", "/invoices/venues", "/invoices/venue-totals",
            "/industries/scores", "/industries/history", "/late-payments/share",
            "/customers/insights/{name}"} <= set(paths)


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/app"])
def test_docs_and_page_load_nothing_from_another_host(tmp_path, page) -> None:
    client = TestClient(create_app(str(tmp_path)))
    html = client.get(page).text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), html
    for asset in re.findall(r"""(?:src|href)=["']?(/[^"' >]+)""", html):
        assert client.get(asset).status_code == 200, asset
