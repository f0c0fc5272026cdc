"""The API's inputs and headers (issue 21, items 6 and 11): dates at the ends of the calendar
answer the right rows or a 422 naming the field, never a 500; numbers and dates are ASCII
digits only; every response carries nosniff and a CSP without eval that forbids framing;
the next-page link never echoes the client's Host; /health shows no path."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from resources.lib.serving import INDUSTRY_HISTORY, INVOICE_TOTALS, answer_file, lake_root
from tests.ctr.conftest import write_serving

CTR = {"startTimestamp": "2016-02-01 10:00:00", "endTimestamp": "2016-02-01 11:00:00",
       "aggregation": 10}


def _venue_part(data: Path, part: str, day: date) -> None:
    target = answer_file(lake_root(data), INVOICE_TOTALS, part).local()
    target.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"venue_id": ["v"], "created_date": [day], "total_amount": [1.5],
                  "invoice_count": [1], "updated_at": [datetime(2024, 3, 1)],
                  "files": [["f.csv"]], "last_file": ["f.csv"]}
                 ).write_parquet(target)


def _history_part(data: Path, day: date) -> None:
    target = answer_file(lake_root(data), INDUSTRY_HISTORY, day.isoformat()).local()
    target.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"industry": ["food"], "last_24h": [1.0], "baseline": [1.0],
                  "change_abs": [0.0], "change_pct": [0.0], "rank": [1],
                  "as_of": [datetime(day.year, day.month, day.day, 12)], "complete": [True],
                  "scored_at": [datetime(day.year, day.month, day.day, 12)], "run_id": ["r"]}
                 ).write_parquet(target)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    _venue_part(tmp_path, "0999-12", date(999, 12, 31))
    _venue_part(tmp_path, "2024-03", date(2024, 3, 1))
    _history_part(tmp_path, date(1, 1, 3))
    _history_part(tmp_path, date(2024, 3, 1))
    write_serving(tmp_path, [("iOS", "A", "2016-02-01 10:00", 3),
                             ("iOS", "A", "2016-02-01 10:01", 2)], [])
    return TestClient(create_app(str(tmp_path)), raise_server_exceptions=False)


def test_month_parts_are_named_with_a_four_digit_year() -> None:
    """The publisher and the reader name a month's part the same way, year padded."""
    from resources.lib.serving import month_part

    assert month_part(date(999, 12, 31)) == "0999-12" and month_part(date(1, 1, 1)) == "0001-01"


@pytest.mark.parametrize(("url", "days"), [
    ("/invoices/venue-totals?start=0999-01-01&end=9999-12-31", ["0999-12-31", "2024-03-01"]),
    ("/invoices/venue-totals?start=0001-01-01&end=2024-03-01", ["0999-12-31", "2024-03-01"]),
    ("/invoices/venue-totals?start=1000-01-01&end=9999-12-31", ["2024-03-01"]),
])
def test_venue_totals_answer_any_valid_range(client: TestClient, url: str, days: list) -> None:
    """The month parts are compared as strings: '999-01' sorted after '2024-03' (issue 21)."""
    answer = client.get(url)
    assert answer.status_code == 200, answer.text
    assert [r["created_date"] for r in answer.json()] == days


@pytest.mark.parametrize(("url", "days"), [
    ("/industries/history?end=0001-01-05", ["0001-01-03"]),  # was a 500: ordinal must be >= 1
    ("/industries/history?end=0001-01-01", []),
    ("/industries/history?start=0001-01-01&end=9999-12-31", ["0001-01-03", "2024-03-01"]),
    ("/industries/history?start=9999-12-31", []),
])
def test_industry_history_answers_at_the_ends_of_the_calendar(client, url, days) -> None:
    answer = client.get(url)
    assert answer.status_code == 200, answer.text
    assert [r["as_of"][:10] for r in answer.json()] == days


@pytest.mark.parametrize(("url", "field"), [
    ("/industries/history?end=0000-12-31", "end"),  # year 0: before the first day
    ("/industries/history?start=10000-01-01", "start"),  # after the last
    ("/invoices/venue-totals?start=0999-01-01&end=99999-12-31", "end"),
    ("/late-payments/share?start=0000-01-01", "start"),
])
def test_dates_outside_the_calendar_are_a_422_naming_the_field(client, url, field) -> None:
    answer = client.get(url)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["query", field]


@pytest.mark.parametrize(("field", "value"), [
    ("startTimestamp", "２016-02-01 10:00:00"),  # fullwidth digit 2
    ("startTimestamp", "2016-02-01 1٠:00:00"),  # Arabic-Indic zero
    ("endTimestamp", "2016-02-01 11:00:0\u0661"),
])
def test_timestamps_take_ascii_digits_only(client: TestClient, field: str, value: str) -> None:
    for answer in (client.get("/ctr", params={**CTR, field: value}),
                   client.post("/ctr", json={**CTR, field: value})):
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"][1] == field


@pytest.mark.parametrize("url", [
    "/invoices/venue-totals?start=２024-01-01&end=2024-12-31",
    "/industries/history?end=2024-03-0\u0661",
    "/late-payments/share?start=2024-01-01&end=2024-12-3１",
    "/invoices/venues?limit=１",
])
def test_dates_and_integers_take_ascii_digits_only(client: TestClient, url: str) -> None:
    answer = client.get(url)
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("url", ["/app", "/docs", "/health", "/ctr/days",
                                 "/app/vendor/plotly.min.js", "/nowhere"])
def test_every_response_has_nosniff_and_a_csp_without_eval(client: TestClient, url) -> None:
    headers = client.get(url).headers
    assert headers["x-content-type-options"] == "nosniff"
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
    assert "default-src 'self'" in policy


def test_the_next_page_link_is_relative_whatever_the_host(client: TestClient) -> None:
    answer = client.get("/ctr", params={**CTR, "aggregation": 1, "limit": 1},
                        headers={"Host": "evil.example"})
    link = answer.headers["link"]
    assert link.startswith("</ctr?") and "offset=1" in link and "evil" not in link, link
    assert answer.headers["x-next-offset"] == "1"


def test_health_shows_nothing_of_the_filesystem(client: TestClient, tmp_path: Path) -> None:
    body = client.get("/health").text
    assert str(tmp_path) not in body and "/" not in body.replace('"', ""), body
