"""Issue 21: one bad byte or one huge line in an invoice file rejects that row (file, line,
reason) and the rest of the file loads, on DuckDB and on PostgreSQL; the memory a line may
take is bounded (`LANDING_MAX_LINE_BYTES`); a file dated ahead of the platform's clock
loads."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from assets.invoices.store import open_store
from cli.runner import execute_run_request, tick_sensor
from definitions import domain_defs
from resources import build_resources
from tests.invoices.conftest import uid
from tests.invoices.test_reliability import load

HEADER = b"venue_id,invoice_id,datetime_created,total\n"


def _row(venue: bytes, n: int, total: str = "1.00") -> bytes:
    return b"%s,%s,2024-02-27 09:00:00,%s\n" % (venue, uid(n).encode(), total.encode())


def _land(env, body: bytes) -> Path:
    path = env.landing / "invoices_2024-03-01.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(HEADER + body)
    return path


def _loaded_and_rejected(env) -> tuple[list, list]:
    return (env.rows("SELECT venue_id, total FROM invoices.raw_invoices ORDER BY 1"),
            env.rows("SELECT source_file, line_number, raw_line, reason"
                     " FROM invoices.rejected_invoice_rows ORDER BY 2"))


def test_a_latin1_byte_in_row_5_rejects_that_row_and_the_rest_loads(invoices_env) -> None:
    """Was: the whole file moved aside as 'unreadable header' (the decoder reads 8 kB)."""
    rows = [_row(b"v%d" % n, n, f"{n}.00") for n in range(1, 8)]
    rows[4] = _row(b"Caf\xe9 Sol", 5, "5.00")  # row 5 = line 6; 0xE9 is Latin-1 'é'
    path = _land(invoices_env, b"".join(rows))
    assert load(invoices_env, "2024-03-01").success
    assert path.exists() and not (invoices_env.landing / "_rejected").exists()
    loaded, rejected = _loaded_and_rejected(invoices_env)
    assert [v for v, _ in loaded] == ["v1", "v2", "v3", "v4", "v6", "v7"]
    assert rejected == [(path.name, 6, f"Caf\\xe9 Sol,{uid(5)},2024-02-27 09:00:00,5.00",
                         "venue_id: not UTF-8 text (byte 0xE9 at character 4)")]


def test_a_bad_byte_in_the_header_still_moves_the_file_aside_naming_it(invoices_env) -> None:
    path = invoices_env.landing / "invoices_2024-03-01.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"venue_id,invoice\xff_id,datetime_created,total\n" + _row(b"v1", 1))
    with pytest.raises(dg.Failure, match="unreadable header"):
        load(invoices_env, "2024-03-01")
    reason = (invoices_env.landing / "_rejected" / f"{path.name}.reason.txt").read_text()
    assert reason.startswith(f"{path.name}: unreadable header (field 2: not UTF-8 text "
                             "(byte 0xFF at character 8))")


def test_a_line_over_the_limit_is_a_rejected_row_and_the_rest_loads(
    invoices_env, monkeypatch
) -> None:
    monkeypatch.setenv("LANDING_MAX_LINE_BYTES", "1000")
    huge = b"v2," + b"x" * 5_000_000 + b",2024-02-27 09:00:00,2.00\n"
    path = _land(invoices_env, _row(b"v1", 1) + huge + _row(b"v3", 3))
    assert load(invoices_env, "2024-03-01").success
    loaded, rejected = _loaded_and_rejected(invoices_env)
    assert [v for v, _ in loaded] == ["v1", "v3"]
    (source, line, raw, reason), = rejected
    assert (source, line, raw) == (path.name, 3, "v2," + "x" * 197 + "…")
    assert reason == ("line 3 is 5,000,029 characters long, over the limit of 1,000 "
                      "(LANDING_MAX_LINE_BYTES); not read")


MEASURE = """
import resource, sys
from datetime import date
from pathlib import Path
from assets.invoices.parse import parse_invoice_file
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    parsed = parse_invoice_file(Path(sys.argv[1]), date(2024, 3, 1))
    found = f"{parsed.rows.num_rows} {parsed.rejected[0][0]}"
except ValueError as exc:  # the file moved aside (BadInvoiceFile)
    found = f"bad file: {exc}"
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) // 1024, found)
"""


def test_a_200_mb_line_costs_a_parse_a_few_mb(tmp_path: Path) -> None:
    """Peak memory of parsing a file whose second row is one 200 MB line, with the limit at
    1 MiB: the line is read through, never held (on main: +400 MB and more)."""
    path = tmp_path / "invoices_2024-03-01.csv"
    with path.open("wb") as fh:
        fh.write(HEADER + _row(b"v1", 1) + b"v2,")
        for _ in range(200):
            fh.write(b"x" * 1_000_000)
        fh.write(b",2024-02-27 09:00:00,2.00\n" + _row(b"v3", 3))
    env = {"LANDING_MAX_LINE_BYTES": str(1 << 20), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", MEASURE, str(path)], env=env, check=True,
                         capture_output=True, text=True, cwd=Path(__file__).parents[2]).stdout
    grown_mb, found = out.split(" ", 1)
    assert int(grown_mb) < 30, f"parsing grew the peak RSS by {grown_mb} MB ({found})"
    assert found.strip() == "2 3"  # two rows loaded, line 3 rejected


def test_a_file_dated_a_day_ahead_is_loaded_once_it_stays_unchanged(tmp_path, monkeypatch):
    """Issue 21, item 9: a producer's clock a day ahead. Was: held silently for a day."""
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LANDING_SETTLE_SECONDS", "0.5")
    monkeypatch.delenv("INVOICES_DB_URL", raising=False)
    resources = build_resources()
    defs = domain_defs("invoices", resources)
    path = tmp_path / "data" / "landing" / "invoices" / "invoices_2024-03-01.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(HEADER + _row(b"v1", 1))
    ahead = time.time() + 86_400
    os.utime(path, (ahead, ahead))
    with dg.instance_for_test() as instance:
        requests, cursor = tick_sensor(defs, "invoice_files_sensor", instance, None)
        assert requests == []  # not yet known to be still
        time.sleep(0.6)
        requests, cursor = tick_sensor(defs, "invoice_files_sensor", instance, cursor)
        assert [r.partition_key for r in requests] == ["2024-03-01"]
        assert execute_run_request(defs, requests[0], instance).success
    with open_store(resources["invoices_db"]) as store:
        assert store.execute("SELECT venue_id FROM invoices.raw_invoices").fetchall() == [("v1",)]
