"""The page (`/app`) on the demo's data, in headless Chromium: the values it shows are the
ones computed here independently from the demo's warehouse (opened read-only), and nothing
it needs comes from another host. The API docs render offline too."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips the tests (fails them under CI=true)
    expect = None

from tests.browser.conftest import csp_violations


def warehouse(platform: Any, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(Path(platform.data) / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def money(x: float) -> str:
    return f"{x:,.2f}"


@pytest.fixture
def app(page: Any, platform: Any) -> Any:
    page.goto(f"{platform.api_url}/app")
    page.wait_for_selector("body[data-loaded=true]")
    return page


def test_the_top_3_industries_and_their_changes(app: Any, platform: Any) -> None:
    top = warehouse(platform, "SELECT industry, change_abs FROM industries.industry_change_scores"
                    " ORDER BY rank LIMIT 3")
    cards = app.locator("#top3 li")
    expect(cards).to_have_count(3)
    for i, (industry, change) in enumerate(top):
        expect(cards.nth(i).locator(".industry")).to_have_text(industry)
        sign = "+" if change > 0 else ""
        expect(cards.nth(i).locator(".change")).to_have_text(sign + money(float(change)))
    assert app.locator("#industries-chart .main-svg").count() > 0  # a chart was drawn
    assert app.blocked_urls == []


def test_the_ranking_history_is_drawn_against_as_of_on_a_readable_axis(app: Any) -> None:
    """Issue 26: one scoring run drew an x axis in fractions of a millisecond. The axis is
    `as_of`, and it spans at least an hour whether the history holds one moment or many."""
    axis = app.evaluate("""() => {
        const chart = document.getElementById("ranking-chart");
        const [lo, hi] = chart._fullLayout.xaxis.range.map((v) => new Date(v).getTime());
        return { title: chart._fullLayout.xaxis.title.text, span: hi - lo,
                 points: chart.data.reduce((n, t) => n + t.x.length, 0) };
    }""")
    assert axis["title"] == "as of (UTC)"
    assert app.locator("#ranking-chart .xtitle").text_content() == "as of (UTC)"  # drawn
    assert axis["points"] > 0
    assert axis["span"] >= 3600 * 1000, axis


def test_every_chart_draws_its_axis_titles(app: Any) -> None:
    """plotly.js 3+ ignores a title given as a bare string: each axis title the page sets
    is drawn (on main none was)."""
    drawn = app.evaluate("""() => [...document.querySelectorAll(".js-plotly-plot")]
        .filter((chart) => chart.layout)
        .map((chart) => [chart.id, ["xaxis", "yaxis"].filter((a) => chart.layout[a]?.title)
            .map((a) => chart.querySelector(`.${a[0]}title`)?.textContent || null)])""")
    assert drawn, "no chart on the page"
    for chart, titles in drawn:
        assert None not in titles, f"{chart}: an axis title set but not drawn ({titles})"


def test_a_ctr_for_a_known_product_and_day(app: Any, platform: Any) -> None:
    """One product, one platform, one day as one bucket: the row shows the warehouse's
    views, purchases and CTR for that day (GMT-03:00, as the rollups are)."""
    product, day, views, purchases = warehouse(platform, """
        WITH v AS (SELECT product, minute::DATE AS day, sum(count) AS views
                   FROM ctr.views_per_minute WHERE platform = 'iOS' GROUP BY ALL),
             p AS (SELECT product, minute::DATE AS day, sum(count) AS purchases
                   FROM ctr.purchases_per_minute WHERE platform = 'iOS' GROUP BY ALL)
        SELECT product, day::VARCHAR, views, purchases FROM v JOIN p USING (product, day)
        ORDER BY purchases DESC, views DESC, product LIMIT 1""")[0]
    form = app.locator("#ctr-form")
    form.locator("input[name=start]").fill(f"{day}T00:00")
    next_day = warehouse(platform, "SELECT (?::DATE + 1)::VARCHAR", [day])[0][0]
    form.locator("input[name=end]").fill(f"{next_day}T00:00")
    form.locator("input[name=aggregation]").fill("1440")
    for other in ("Android", "MobileWeb"):
        form.locator(f"input[value={other}]").uncheck()
    form.locator("input[name=product]").fill(product)
    form.locator("button").click()
    rows = app.locator("#ctr-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td")).to_have_text(
        [f"{day} 00:00:00", "iOS", product, str(views), str(purchases),
         f"{round(purchases / views, 4):.4f}" + (" > 1" if purchases > views else "")])


def test_ctr_above_1_is_marked_and_explained(app: Any, platform: Any) -> None:
    """On the default view (the latest day, hourly buckets, every platform) the rows whose
    purchases exceed their views are marked, as many as the warehouse has."""
    over = warehouse(platform, """
        WITH last AS (SELECT max(minute)::DATE AS day FROM ctr.views_per_minute),
        v AS (SELECT platform, product, date_trunc('hour', minute) AS h, sum(count) AS n
              FROM ctr.views_per_minute, last WHERE minute::DATE = last.day GROUP BY ALL),
        p AS (SELECT platform, product, date_trunc('hour', minute) AS h, sum(count) AS n
              FROM ctr.purchases_per_minute, last WHERE minute::DATE = last.day GROUP BY ALL)
        SELECT count(*) FROM v JOIN p USING (platform, product, h) WHERE p.n > v.n""")[0][0]
    assert over > 0  # the demo's data has some; otherwise this test proves nothing
    expect(app.locator("#ctr-table tr.over-one")).to_have_count(over)
    expect(app.locator("#ctr-table tr.over-one td.ctr").first).to_contain_text("> 1")
    expect(app.locator("#ctr-status")).to_contain_text(f"{over} with CTR > 1")
    expect(app.locator("#ctr .note")).to_contain_text("CTR above 1")


def test_a_venue_s_total_for_a_date_and_the_file_that_last_changed_it(
    app: Any, platform: Any
) -> None:
    venue, day, total, count = warehouse(platform, """
        SELECT venue_id, created_date::VARCHAR, total_amount, invoice_count
        FROM invoices.venue_daily_totals ORDER BY invoice_count DESC, created_date DESC
        LIMIT 1""")[0]
    last_file = warehouse(platform, """
        SELECT arg_max(source_file, loaded_at) FROM invoices.raw_invoices
        WHERE venue_id = ? AND created_date = ?""", [venue, day])[0][0]
    form = app.locator("#venue-form")
    form.locator("select").select_option(venue)
    form.locator("input[name=start]").fill(day)
    form.locator("input[name=end]").fill(day)
    form.locator("button").click()
    rows = app.locator("#venue-table tbody tr")
    expect(rows).to_have_count(1)
    cells = rows.first.locator("td")
    expect(cells.nth(0)).to_have_text(day)
    expect(cells.nth(1)).to_have_text(money(float(total)))
    expect(cells.nth(2)).to_have_text(str(count))
    expect(cells.nth(3)).to_have_text(last_file)


def test_late_payments_and_customer_insights(app: Any, platform: Any) -> None:
    late, judged = warehouse(platform, "SELECT sum(is_late), count(is_late)"
                             " FROM late_payments.invoice_features")[0]
    expect(app.locator("#late-status")).to_contain_text(
        f"Overall {100 * late / judged:.1f} % late ({late} of {judged} judged invoices)")
    name = warehouse(platform, "SELECT name FROM customers.top_customers ORDER BY rank")[0][0]
    expect(app.locator("#top-customers tbody tr").first.locator("td").nth(1)).to_have_text(name)
    for chart in ("late-chart", "products-chart", "ratings-chart", "sales-chart"):
        assert app.locator(f"#{chart} .main-svg").count() > 0, chart
    assert csp_violations(app) == []  # the charts drew under a policy without eval
    if os.environ.get("PAGE_SCREENSHOT"):  # `PAGE_SCREENSHOT=docs/img/page.png`: the README's
        app.screenshot(path=os.environ["PAGE_SCREENSHOT"], full_page=True)


@pytest.mark.parametrize(("path", "shown"), [
    ("/docs", '.swagger-ui .opblock-summary-path[data-path="/industries/scores"]'),
    ("/redoc", 'h2 >> text="Get Scores"'),
])
def test_the_api_docs_render_offline(page: Any, platform: Any, path: str, shown: str) -> None:
    """Rendered from local files; nothing leaves the machine (ReDoc's bundle asks a CDN for
    its logo: the API's Content-Security-Policy stops that in the browser, not sent)."""
    page.goto(f"{platform.api_url}{path}")
    expect(page.locator(shown).first).to_be_visible()
    expect(page.get_by_text("Commerce platform API").first).to_be_visible()
    assert page.blocked_urls == []
    scripts = [v for v in csp_violations(page) if v.startswith("script-src")]
    assert scripts == []  # no eval, no outside script: only ReDoc's CDN logo is refused
