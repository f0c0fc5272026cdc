// The page: every number comes from the platform's public HTTP API (same origin), every
// chart from plotly.js served by the API itself (no CDN). One function per section.
"use strict";

const MAX_CTR_ROWS = 200000; // rows fetched for one CTR chart (pages of 20000)
const TABLE_ROWS = 300; // rows shown in a table (the chart shows all)
const PLOT = { displaylogo: false, responsive: true };

async function api(path, params) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const resp = await fetch(url);
  const body = await resp.json();
  if (!resp.ok) {
    const detail = Array.isArray(body.detail)
      ? body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ")
      : body.detail;
    throw new Error(`${path}: ${resp.status} ${detail}`);
  }
  return { body, next: resp.headers.get("X-Next-Offset") };
}

async function allPages(path, params, cap) {
  const rows = [];
  let offset = 0;
  for (;;) {
    const { body, next } = await api(path, { ...params, limit: 20000, offset });
    rows.push(...body);
    if (next === null || rows.length >= cap) return { rows, truncated: next !== null };
    offset = Number(next);
  }
}

function status(id, text, isError) {
  const el = document.getElementById(id);
  el.textContent = text;
  el.classList.toggle("error", Boolean(isError));
}

function fill(tableId, rows, cells) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren(...rows.map((r) => {
    const tr = document.createElement("tr");
    for (const [text, cls] of cells(r, tr)) {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    return tr;
  }));
}

const money = (x) => (x === null || x === undefined ? "—"
  : Number(x).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const pct = (x) => (x === null || x === undefined ? "—" : `${(100 * x).toFixed(1)} %`);
const signed = (x) => (x > 0 ? "+" : "") + money(x);
const apiTime = (v) => v.replace("T", " ") + (v.length === 16 ? ":00" : "");
const inputTime = (v) => v.slice(0, 16).replace(" ", "T");

// --- Product CTR ------------------------------------------------------------------------

async function ctrDefaults() {
  const { body } = await api("/ctr/days");
  const days = body.flatMap((p) => p.days).sort();
  const form = document.getElementById("ctr-form");
  if (!days.length) return false;
  const last = days[days.length - 1];
  const next = new Date(`${last}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  form.start.value = `${last}T00:00`;
  form.end.value = `${next.toISOString().slice(0, 10)}T00:00`;
  return true;
}

function ctrTraces(rows) {
  // per platform and bucket: the sum over the shown products (or the one product)
  const sums = new Map();
  for (const r of rows) {
    const key = `${r.platform}|${r.timestamp}`;
    const s = sums.get(key) || { platform: r.platform, t: r.timestamp, v: 0, p: 0 };
    s.v += r.views; s.p += r.purchases; sums.set(key, s);
  }
  const byPlatform = new Map();
  for (const s of [...sums.values()].sort((a, b) => a.t.localeCompare(b.t))) {
    if (!byPlatform.has(s.platform)) byPlatform.set(s.platform, []);
    byPlatform.get(s.platform).push(s);
  }
  const traces = [];
  const over = { x: [], y: [], text: [] };
  for (const [platform, pts] of byPlatform) {
    const ys = pts.map((s) => (s.v ? s.p / s.v : null));
    traces.push({ name: platform, mode: "lines+markers", x: pts.map((s) => s.t), y: ys,
      text: pts.map((s) => `${s.p} purchases / ${s.v} views`), connectgaps: false });
    pts.forEach((s, i) => { if (ys[i] > 1) { over.x.push(s.t); over.y.push(ys[i]); over.text.push(`${platform}: ${s.p}/${s.v}`); } });
  }
  traces.push({ name: "CTR > 1 (more purchases than views)", mode: "markers", x: over.x, y: over.y,
    text: over.text, marker: { color: "#c0392b", symbol: "diamond", size: 11 } });
  return traces;
}

async function showCtr(event) {
  if (event) event.preventDefault();
  const form = document.getElementById("ctr-form");
  const platforms = [...form.querySelectorAll("input[name=platform]:checked")].map((i) => i.value);
  const params = { startTimestamp: apiTime(form.start.value), endTimestamp: apiTime(form.end.value),
    aggregation: form.aggregation.value, product: form.product.value.trim() };
  status("ctr-status", "loading…");
  try {
    const parts = await Promise.all(platforms.map((platform) =>
      allPages("/ctr", { ...params, platform }, MAX_CTR_ROWS)));
    const rows = parts.flatMap((p) => p.rows);
    const truncated = parts.some((p) => p.truncated);
    const over = rows.filter((r) => r.ctr !== null && r.ctr > 1).length;
    const what = params.product ? `product ${params.product}` : "all products summed per platform";
    Plotly.react("ctr-chart", ctrTraces(rows), { title: { text: `CTR per ${params.aggregation}-minute bucket (${what})` },
      yaxis: { title: { text: "purchases / views" }, rangemode: "tozero" }, xaxis: { title: { text: "bucket start (GMT-03:00)" } },
      margin: { t: 40 } }, PLOT);
    const shown = [...rows].sort((a, b) => (b.ctr ?? -1) - (a.ctr ?? -1) || b.views - a.views).slice(0, TABLE_ROWS);
    fill("ctr-table", shown, (r, tr) => {
      if (r.ctr !== null && r.ctr > 1) tr.className = "over-one";
      return [[r.timestamp], [r.platform], [r.product], [r.views, "num"], [r.purchases, "num"],
        [r.ctr === null ? "—" : r.ctr.toFixed(4) + (r.ctr > 1 ? " > 1" : ""), "num ctr"]];
    });
    document.getElementById("ctr-products").replaceChildren(...[...new Set(rows.map((r) => r.product))]
      .slice(0, 500).map((p) => Object.assign(document.createElement("option"), { value: p })));
    status("ctr-status", `${rows.length} rows (bucket × platform × product)${truncated ? ", first " + MAX_CTR_ROWS + " only" : ""}; `
      + `${over} with CTR > 1; table: the ${Math.min(TABLE_ROWS, rows.length)} highest CTRs.`);
  } catch (err) { status("ctr-status", err.message, true); }
}

// --- Industries -------------------------------------------------------------------------

async function showIndustries() {
  try {
    const { body } = await api("/industries/scores");
    if (!body.industries.length) { status("industries-status", "No scores published yet."); return; }
    const top = body.industries.slice(0, 3);
    document.getElementById("top3").replaceChildren(...top.map((s) => {
      const li = document.createElement("li");
      li.dataset.industry = s.industry;
      li.innerHTML = `<div class="rank">#${s.rank}</div><div class="industry"></div>`
        + `<div class="change"></div><div class="detail"></div>`;
      li.querySelector(".industry").textContent = s.industry;
      li.querySelector(".change").textContent = signed(s.change_abs);
      li.querySelector(".detail").textContent = `last 24 h ${money(s.last_24h)} vs 30-day average `
        + `${money(s.baseline)} per day (${pct(s.change_pct)})`;
      return li;
    }));
    status("industries-status", `As of ${body.as_of} (UTC)${body.complete === false
      ? " — partial: the loaded orders do not cover the whole 31-day window" : ""}.`);
    const all = [...body.industries].reverse();
    Plotly.react("industries-chart", [{ type: "bar", orientation: "h", y: all.map((s) => s.industry),
      x: all.map((s) => s.change_abs), marker: { color: all.map((s) => (s.rank <= 3 ? "#2e86de" : "#b8c4d6")) },
      text: all.map((s) => pct(s.change_pct)), hovertemplate: "%{y}: %{x:,.2f}<extra></extra>" }],
    { title: { text: "Change: last 24 h minus the 30-day daily average" }, margin: { l: 140, t: 40 } }, PLOT);
    const hist = (await allPages("/industries/history", {}, 50000)).rows;
    Plotly.react("ranking-chart", rankingTraces(hist), { yaxis: { autorange: "reversed", title: { text: "rank" }, dtick: 1 },
      xaxis: rankingAxis(hist), margin: { t: 20 } }, PLOT);
  } catch (err) { status("industries-status", err.message, true); }
}

// The ranking history against `as_of` (the moment each ranking describes), the latest scoring
// of each moment winning; one moment alone gets a day around it, not a sub-millisecond axis.
function rankingTraces(hist) {
  const latest = new Map();
  for (const r of hist) {
    const key = `${r.industry}|${r.as_of}`;
    if (!latest.has(key) || r.scored_at >= latest.get(key).scored_at) latest.set(key, r);
  }
  const byIndustry = new Map();
  for (const r of [...latest.values()].sort((a, b) => a.as_of.localeCompare(b.as_of))) {
    if (!byIndustry.has(r.industry)) byIndustry.set(r.industry, { x: [], y: [] });
    byIndustry.get(r.industry).x.push(r.as_of); byIndustry.get(r.industry).y.push(r.rank);
  }
  return [...byIndustry].map(([name, v]) => ({ name, x: v.x, y: v.y, mode: "lines+markers" }));
}

function rankingAxis(hist) {
  const axis = { title: { text: "as of (UTC)" }, type: "date" };
  const moments = [...new Set(hist.map((r) => r.as_of))];
  if (moments.length === 1) {
    const zoned = /([zZ]|[+-]\d\d:?\d\d)$/.test(moments[0]);
    const at = Date.parse(zoned ? moments[0] : `${moments[0]}Z`);
    axis.range = [at - 12 * 3600e3, at + 12 * 3600e3];
  }
  return axis;
}

// --- Venue totals -----------------------------------------------------------------------

async function venueDefaults() {
  const { body } = await api("/invoices/venues");
  const select = document.getElementById("venue-select");
  select.replaceChildren(...body.map((v) => Object.assign(document.createElement("option"),
    { value: v.venue_id, textContent: v.venue_id })));
  select.onchange = () => {
    const v = body.find((x) => x.venue_id === select.value);
    const form = document.getElementById("venue-form");
    form.start.value = v.first_date; form.end.value = v.last_date;
  };
  if (body.length) select.onchange();
  return body.length > 0;
}

async function showVenue(event) {
  if (event) event.preventDefault();
  const form = document.getElementById("venue-form");
  try {
    const { rows } = await allPages("/invoices/venue-totals",
      { venue_id: form.venue_id.value, start: form.start.value, end: form.end.value }, 100000);
    Plotly.react("venue-chart", [{ type: "bar", x: rows.map((r) => r.created_date), y: rows.map((r) => r.total_amount),
      text: rows.map((r) => `${r.invoice_count} invoices; last file ${r.last_file || "—"}`),
      hovertemplate: "%{x}: %{y:,.2f}<br>%{text}<extra></extra>" }],
    { title: { text: `${form.venue_id.value}: invoice total per creation date` }, margin: { t: 40 } }, PLOT);
    fill("venue-table", rows.slice(-TABLE_ROWS).reverse(), (r) => [[r.created_date], [money(r.total_amount), "num"],
      [r.invoice_count, "num"], [r.last_file || "—"], [(r.files || []).join(", ")]]);
    status("venue-status", `${rows.length} dates with invoices; table: the latest ${Math.min(rows.length, TABLE_ROWS)}.`);
  } catch (err) { status("venue-status", err.message, true); }
}

// --- Late payments ----------------------------------------------------------------------

async function showLate(event) {
  if (event) event.preventDefault();
  const form = document.getElementById("late-form");
  try {
    const { rows } = await allPages("/late-payments/share", { granularity: form.granularity.value }, 100000);
    if (!rows.length) { status("late-status", "No late-payment features published yet."); return; }
    const x = rows.map((r) => r.period_start);
    Plotly.react("late-chart", [
      { type: "bar", name: "invoices issued", x, y: rows.map((r) => r.invoices), yaxis: "y2", marker: { color: "#d5dbe5" } },
      { name: "late share", mode: "lines+markers", x, y: rows.map((r) => r.late_share),
        text: rows.map((r) => `${r.late} late of ${r.judged} judged`), hovertemplate: "%{x}: %{y:.1%}<br>%{text}<extra></extra>" },
    ], { yaxis: { title: { text: "late share" }, tickformat: ".0%", rangemode: "tozero" },
      yaxis2: { title: { text: "invoices" }, overlaying: "y", side: "right", showgrid: false },
      legend: { orientation: "h" }, margin: { t: 20 } }, PLOT);
    const late = rows.reduce((a, r) => a + r.late, 0); const judged = rows.reduce((a, r) => a + r.judged, 0);
    status("late-status", `Overall ${pct(judged ? late / judged : null)} late (${late} of ${judged} judged invoices), as of ${rows[0].as_of}.`);
  } catch (err) { status("late-status", err.message, true); }
}

// --- Customer insights ------------------------------------------------------------------

async function showCustomers() {
  try {
    const get = async (name) => (await api(`/customers/insights/${name}`)).body;
    const [customers, products, ratings, sales] = await Promise.all(
      ["top_customers", "top_products", "category_ratings", "monthly_sales"].map(get));
    if (!customers.length && !sales.length) { status("customers-status", "No insights published yet."); return; }
    fill("top-customers", customers, (r) => [[r.rank], [r.name], [r.country || "—"],
      [money(r.total_amount_spent), "num"], [r.total_orders, "num"]]);
    Plotly.react("products-chart", [{ type: "bar", orientation: "h", y: products.map((r) => r.product_name).reverse(),
      x: products.map((r) => r.order_count).reverse(), text: products.map((r) => `${r.units_sold} units`).reverse() }],
    { xaxis: { title: { text: "orders" } }, margin: { l: 140, t: 10 } }, PLOT);
    Plotly.react("ratings-chart", [{ type: "bar", x: ratings.map((r) => r.category_name), y: ratings.map((r) => r.average_rating),
      text: ratings.map((r) => `${r.review_count} reviews`) }], { yaxis: { range: [0, 5], title: { text: "average rating" } }, margin: { t: 10 } }, PLOT);
    Plotly.react("sales-chart", [{ mode: "lines+markers", x: sales.map((r) => r.month), y: sales.map((r) => r.total_sales),
      text: sales.map((r) => `${r.order_count} orders`) }], { yaxis: { title: { text: "sales" } }, margin: { t: 10 } }, PLOT);
    status("customers-status", `${customers.length} top customers, ${products.length} top products, `
      + `${ratings.length} categories, ${sales.length} months.`);
  } catch (err) { status("customers-status", err.message, true); }
}

async function main() {
  document.getElementById("ctr-form").addEventListener("submit", showCtr);
  document.getElementById("venue-form").addEventListener("submit", showVenue);
  document.getElementById("late-form").addEventListener("submit", showLate);
  const jobs = [showIndustries(), showLate(), showCustomers()];
  jobs.push(ctrDefaults().then((ok) => (ok ? showCtr() : status("ctr-status", "No CTR data published yet.")))
    .catch((err) => status("ctr-status", err.message, true)));
  jobs.push(venueDefaults().then((ok) => (ok ? showVenue() : status("venue-status", "No venue totals published yet.")))
    .catch((err) => status("venue-status", err.message, true)));
  await Promise.allSettled(jobs);
  document.body.dataset.loaded = "true"; // tests wait for this
}

main();
