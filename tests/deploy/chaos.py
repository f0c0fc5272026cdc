"""The chaos step of `make test-deploy` (issue 21): servers killed under load, nothing lost.

Load, from a thread on the host for the whole step: an invoice file of a few rows lands every
LOAD_EVERY s (venues V-CHAOS-*, sums known here), and a batch of orders of the customers
`check_scores` landed goes to Kafka through user-code (a batch that could not be delivered,
Kafka or user-code being down, is sent again: the same order ids); the order-generator
container (started again by the first `stack wait`) streams its own orders meanwhile, for the
test's customers too, and is stopped when the load stops.
Faults, one after the other, with LOAD_BETWEEN s of plain load between them; each a SIGKILL
of the container (`compose kill -s KILL`), then the stack's health-gated start:
- postgres, held down POSTGRES_DOWN s (longer than the steps' retry budget, so that runs
  fail and must be asked again; Dagster's own storage is down too);
- kafka; object-store (the landing and lake bucket: the sensors skip their ticks and the
  load's files wait on the host until it is back); user-code (the code server and every run
  worker in it); dagster-daemon.
Then, within DRAIN s: the venue totals of the V-CHAOS venues equal the sums of every file
landed (each invoice once: counts and `raw_invoices` rows), each file is in the ledger once,
the industry scores equal the spec's rule computed here from every order of the test's
customers on the topic (the test's and the generator's; each of the test's there), and every
run that failed since the first fault was asked again (a daemon retry or a sensor's re-ask)
and its content's newest run succeeded; no run is left in progress from before the faults.
"""

from __future__ import annotations

import secrets
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

LOAD_EVERY = 6  # s between two invoice files (and two order batches)
LOAD_BETWEEN = 30  # s of plain load between two faults
POSTGRES_DOWN = 90
OTHERS_DOWN = 10
DRAIN = 900
FAULTS = ("postgres", "kafka", "object-store", "user-code", "dagster-daemon")


@dataclass
class Deploy:
    """What the step needs of tests/deploy/run.py."""

    stack: Callable[..., str]
    sql: Callable[..., str]
    probe: Callable[..., object]
    drop_invoices: Callable[[str, list], None]
    expected_totals: Callable[..., str]
    scores_shown: Callable[[list[dict]], tuple[bool, str]]
    wait_for: Callable[..., float]
    timings: dict[str, float]


@dataclass
class Load:
    """The files and orders sent so far (the independent computation's input)."""

    files: list[list[tuple[str, str, str]]] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    pending: list[dict] = field(default_factory=list)  # produced, not yet acknowledged
    unlanded: list[tuple[str, list]] = field(default_factory=list)  # store down: again later
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def _orders(batch: int, base: datetime, tag: str) -> list[dict]:
    customers = ("D-CUST-1", "D-CUST-2", "D-CUST-3", "D-CUST-4")
    out = []
    for j, hours_ago in enumerate((1 + batch % 20, 30 + 7 * batch % 500)):
        ts = base - timedelta(hours=hours_ago) + timedelta(minutes=11)
        amount = float(5 + (batch * 7 + j * 3) % 40)
        out.append({"order_id": f"X-{tag}-{batch}-{j}", "customer_id": customers[
            (batch + j) % 4], "amount": amount, "timestamp": ts.strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"), "order_lines": [
            {"product_id": "P0001", "volume": 1, "price": amount}]})
    return out


def _land(d: Deploy, load: Load) -> None:
    """Land the files not landed yet (the object store may be down: they wait)."""
    while load.unlanded:
        name, rows = load.unlanded[0]
        try:
            d.drop_invoices(name, rows)
        except OSError as exc:
            load.failures.append(f"{time.strftime('%H:%M:%S')} land: {str(exc)[-200:]}")
            return
        load.files.append(rows)
        load.unlanded.pop(0)


def _load(d: Deploy, load: Load) -> None:
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    tag, n = uuid.uuid4().hex[:6], 0
    while not load.stop.is_set():
        day = 1 + n % 28
        rows = [(f"V-CHAOS-{n % 5}", f"2026-10-{day:02d} {10 + k}:00:00",
                 f"{1 + (n * 13 + k * 7) % 900}.{(n + k) % 100:02d}") for k in range(3)]
        sync = datetime.now(UTC).strftime("%Y-%m-%d")  # the name carries the sync date
        load.unlanded.append((f"invoices_{sync}_chaos_{n:04d}_{secrets.token_hex(3)}.csv",
                              rows))
        _land(d, load)
        load.pending += _orders(n, base, tag)
        try:
            d.probe("produce", {"records": load.pending})
            load.orders += load.pending
            load.pending = []
        except (AssertionError, subprocess.CalledProcessError) as exc:
            load.failures.append(f"{time.strftime('%H:%M:%S')} produce: {str(exc)[-200:]}")
        n += 1
        load.stop.wait(LOAD_EVERY)


def _fault(d: Deploy, service: str) -> None:
    start = time.monotonic()
    d.stack("compose", "kill", "-s", "KILL", service)
    if service == "postgres":  # held down: no restart by the engine's policy meanwhile
        d.stack("compose", "stop", service)
        time.sleep(POSTGRES_DOWN)
    else:
        time.sleep(OTHERS_DOWN)
    d.stack("wait")  # starts what is stopped, health checks (docker/health.py)
    d.timings[f"chaos: kill -9 {service} -> healthy again"] = took = time.monotonic() - start
    print(f"--- chaos: kill -9 {service} -> healthy again: {took:.0f} s", flush=True)


def _totals(d: Deploy, load: Load) -> tuple[bool, str]:
    got = d.sql("invoices", "SELECT venue_id, created_date, total_amount, invoice_count FROM "
                "invoices.venue_daily_totals WHERE venue_id LIKE 'V-CHAOS-%' ORDER BY 1, 2")
    want = d.expected_totals(*load.files)
    raw = d.sql("invoices", "SELECT count(*), count(DISTINCT invoice_id) FROM "
                "invoices.raw_invoices WHERE venue_id LIKE 'V-CHAOS-%'")
    files = d.sql("invoices", "SELECT count(*), count(DISTINCT file_name) FROM "
                  "invoices.file_ledger WHERE file_name LIKE 'invoices_%_chaos_%'")
    n_rows, n_files = sum(map(len, load.files)), len(load.files)
    ok = got == want and raw == f"{n_rows}|{n_rows}" and files == f"{n_files}|{n_files}"
    return ok, f"totals:\n{got}\nexpected:\n{want}\nraw {raw} (want {n_rows}), files {files}"


FOLLOWED = """
SELECT f.run_id, f.pipeline_name,
       (SELECT value FROM run_tags WHERE run_id = f.run_id AND key = 'platform/ask'),
       EXISTS (SELECT 1 FROM run_tags t WHERE t.value = f.run_id
               AND t.key IN ('dagster/parent_run_id', 'platform/reask_of')),
       EXISTS (SELECT 1 FROM runs s WHERE s.pipeline_name = f.pipeline_name
               AND s.status = 'SUCCESS' AND s.id > f.id)
FROM runs f WHERE f.status = 'FAILURE' AND f.create_timestamp >= :'since'::timestamp
ORDER BY f.id"""
NEWEST = """
SELECT DISTINCT ON (t.value) t.value, r.status
FROM run_tags t JOIN runs r ON r.run_id = t.run_id
WHERE t.key = 'platform/ask' AND t.value IN (
    SELECT t2.value FROM run_tags t2 JOIN runs r2 ON r2.run_id = t2.run_id
    WHERE t2.key = 'platform/ask' AND r2.create_timestamp >= :'since'::timestamp)
ORDER BY t.value, r.id DESC"""
STUCK = """
SELECT run_id, pipeline_name, status FROM runs
WHERE status IN ('QUEUED', 'NOT_STARTED', 'STARTING', 'STARTED', 'CANCELING')
  AND create_timestamp < :'before'::timestamp"""


def _runs(d: Deploy, since: str, before: str) -> tuple[bool, str, int]:
    failed = [line.split("|") for line in d.sql("dagster", FOLLOWED, since=since).splitlines()]
    # a failed run is followed by a daemon retry or a re-ask; a run no sensor asked for (a
    # schedule's, a person's) by a later success of its job
    lost = [f for f in failed if not (f[3] == "t" if f[2] else f[3] == "t" or f[4] == "t")]
    newest = [line.split("|") for line in d.sql("dagster", NEWEST, since=since).splitlines()]
    unfinished = [n for n in newest if n[1] != "SUCCESS"]
    stuck = d.sql("dagster", STUCK, before=before)
    ok = not lost and not unfinished and not stuck
    return ok, (f"failed runs not asked again: {lost}\ncontent whose newest run did not "
                f"succeed: {unfinished}\nin progress since the faults: {stuck}"), len(failed)


def check_chaos(d: Deploy, score_records: list[dict]) -> None:
    since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    load = Load()
    loader = threading.Thread(target=_load, args=(d, load), daemon=True)
    loader.start()
    start = time.monotonic()
    for service in FAULTS:
        time.sleep(LOAD_BETWEEN)
        _fault(d, service)
    time.sleep(LOAD_BETWEEN)
    load.stop.set()
    loader.join(120)
    before = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    _land(d, load)  # the files that waited for the store
    assert not load.unlanded, f"files not landed: {len(load.unlanded)}"
    if load.pending:  # the last batch, once more
        d.probe("produce", {"records": load.pending})
        load.orders += load.pending
    print(f"    chaos load: {len(load.files)} invoice files, {len(load.orders)} orders in "
          f"{time.monotonic() - start:.0f} s; sends retried: {load.failures}", flush=True)
    # `stack wait` started the order-generator again (check_generator had stopped it); it
    # picks customers from the landed batches, the test's among them: stopped now, the
    # scores are checked against every order of those customers on the topic
    d.stack("compose", "stop", "order-generator")
    records = d.probe("topic_orders", {"customers": sorted({
        r["customer_id"] for r in score_records + load.orders})})
    ours = {r["order_id"] for r in score_records + load.orders}
    print(f"    orders of the test's customers on the topic: {len(records)} "
          f"({len(ours)} sent by the test, the rest by the order-generator)", flush=True)
    assert ours <= {r["order_id"] for r in records}, "an order the test sent is not on the topic"
    drained = time.monotonic()
    d.wait_for("chaos: invoice totals", lambda: _totals(d, load), DRAIN)
    d.wait_for("chaos: industry scores", lambda: d.scores_shown(records), DRAIN)
    counted: list[int] = []

    def settled() -> tuple[bool, str]:
        ok, shown, n = _runs(d, since, before)
        counted[:] = [n]
        return ok, shown

    d.wait_for("chaos: failed runs asked again", settled, DRAIN, every=10)
    d.timings["chaos: load stopped -> every answer right"] = took = time.monotonic() - drained
    print(f"--- chaos: load stopped -> every answer right, every failed run asked again: "
          f"{took:.0f} s ({counted[0]} runs failed during the faults)", flush=True)
