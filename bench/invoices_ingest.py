"""Invoice CSV → raw table, end to end, beside DuckDB doing the same work (issue 25).

Both sides apply the same file to the same raw table of 1M invoices (a fresh copy of the
warehouse before every run, untimed) and commit: the platform parses with
`parse_invoice_file` and applies with `InvoiceStore.apply_file`; the bare engine reads the
file with DuckDB's `read_csv`, judges the rows with the same rules in SQL (reasons, last
line wins) and hands the result to the same `apply_file` (stage, upsert, deltas, ledger,
rejects, commit). Rounds interleave the two sides. README "Ingest beside the engines".

    .venv/bin/python -m bench.invoices_ingest [--quick]
"""

from __future__ import annotations

import random
import shutil
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from assets.invoices.parse import STAGE_SCHEMA, ParsedFile, parse_invoice_file
from assets.invoices.parse_rows import EARLIEST_CREATED
from assets.invoices.store import InvoiceStore, open_store
from bench.invoices import SYNC, fill
from bench.side_by_side import IngestRow, interleaved, print_rows, rate
from cli.generators.invoices import write_invoice_file
from resources import InvoicesDb

RAW_ROWS = 1_000_000
VENUES = 200
_READ = """
CREATE OR REPLACE TEMP TABLE bare_lines AS
SELECT row_number() OVER () + 1 AS line, venue_id || ',' || invoice_id || ',' ||
       datetime_created || ',' || total AS raw, trim(venue_id) AS v, trim(invoice_id) AS i,
       trim(datetime_created) AS c, trim(total) AS t
FROM read_csv(?, header = true, auto_detect = false, quote = '"', columns = {
    'venue_id': 'VARCHAR', 'invoice_id': 'VARCHAR', 'datetime_created': 'VARCHAR',
    'total': 'VARCHAR'})
"""
_JUDGE = """
CREATE OR REPLACE TEMP TABLE bare_judged AS
SELECT line, raw, v, lower(try_cast(i AS UUID)::VARCHAR) AS invoice_id,
       try_cast(c AS TIMESTAMP) AS created_at, try_cast(t AS DECIMAL(38, 10)) AS amount,
       CASE WHEN v = '' THEN 'venue_id: empty'
            WHEN try_cast(i AS UUID) IS NULL THEN 'invoice_id: not a UUID (' || i || ')'
            WHEN try_cast(c AS TIMESTAMP) IS NULL
              OR regexp_matches(c, '(Z|[+-][0-9]{2}:?[0-9]{2})$')
              THEN 'datetime_created: not a timestamp (' || c || ')'
            WHEN amount IS NULL THEN 'total: not a decimal (' || t || ')'
            WHEN abs(amount) > 9999999999999999.99 THEN 'total: out of range (' || t || ')'
            WHEN amount <> round(amount, 2) THEN 'total: more than 2 decimals (' || t || ')'
            WHEN created_at::DATE > ? THEN 'datetime_created: after the sync date'
            WHEN created_at::DATE < ? THEN 'datetime_created: before the history start'
       END AS reason
FROM bare_lines
"""
_LAST = """
SELECT *, lead(line) OVER (PARTITION BY invoice_id ORDER BY line) AS next_line
FROM bare_judged WHERE reason IS NULL
"""


def bare_parse(store: InvoiceStore, path: Path) -> ParsedFile:
    """The invoice rules in DuckDB SQL: the bare engine's side of the comparison."""
    store.execute(_READ, (str(path),))
    store.execute(_JUDGE, (SYNC, EARLIEST_CREATED))
    rows = store.conn.sql(
        f"SELECT invoice_id, v AS venue_id, created_at, created_at::DATE AS created_date,"
        f" amount::DECIMAL(18, 2) AS total, line AS line_number FROM ({_LAST})"
        f" WHERE next_line IS NULL ORDER BY line").to_arrow_table()
    rejected = store.execute(
        f"SELECT line, raw, reason FROM bare_judged WHERE reason IS NOT NULL UNION ALL"
        f" SELECT line, raw, 'invoice_id ' || invoice_id || ' repeated; superseded by line '"
        f" || next_line FROM ({_LAST}) WHERE next_line IS NOT NULL ORDER BY 1").fetchall()
    return ParsedFile(rows=rows.cast(STAGE_SCHEMA), rejected=rejected)


def write_file(folder: Path, rows: int, seed: int = 11) -> Path:
    """`rows` rows over 60 creation dates: mostly new invoices, 0.1% bad values, 0.1%
    repeated invoice ids (as a sync writes them)."""
    rng = random.Random(seed)
    days = [datetime(2024, 1, 1) + timedelta(days=rng.randrange(365)) for _ in range(60)]
    body = []
    for n in range(rows):
        at = rng.choice(days) + timedelta(seconds=rng.randrange(86400))
        body.append([f"venue-{rng.randrange(VENUES)}", str(uuid.UUID(int=rng.getrandbits(128))),
                     at.isoformat(sep=" "), f"{rng.uniform(-20, 500):.2f}"])
        if n % 1000 == 7:
            body[-1][3] = "12.345"
        if n % 1000 == 9:
            body[-1][1] = body[-2][1]
    return write_invoice_file(folder / f"invoices_{SYNC}.csv", body)


def measure(tmp: Path, file_rows: int, rounds: int) -> IngestRow:
    """Median seconds of each side over `rounds`, each run on a fresh copy of the raw table."""
    seed = tmp / "seed.duckdb"
    if not seed.exists():
        with open_store(InvoicesDb(warehouse_path=str(seed))) as store:
            fill(store, RAW_ROWS, VENUES)
    path = write_file(tmp, file_rows)
    state: dict = {}

    def fresh() -> None:
        if "ctx" in state:
            state.pop("ctx").__exit__(None, None, None)
        shutil.copy(seed, tmp / "run.duckdb")
        state["ctx"] = open_store(InvoicesDb(warehouse_path=str(tmp / "run.duckdb")))
        state["store"] = state["ctx"].__enter__()
        state["n"] = state.get("n", 0) + 1

    def platform() -> None:
        parsed = parse_invoice_file(path, SYNC)
        state["store"].apply_file(parsed, path.name, f"p{state['n']}", SYNC)

    def bare() -> None:
        store = state["store"]
        store.apply_file(bare_parse(store, path), path.name, f"b{state['n']}", SYNC)

    seconds = interleaved({"platform": platform, "bare": bare}, rounds, setup=fresh)
    state.pop("ctx").__exit__(None, None, None)
    mb = path.stat().st_size / 1e6
    return IngestRow(
        f"invoice CSV → raw table (parse + apply + commit), {file_rows:,} rows ({mb:.0f} MB),"
        f" raw table {RAW_ROWS:,}",
        f"{rate(file_rows, seconds['platform'], 'rows')} ({seconds['platform']:.2f} s)",
        f"DuckDB read_csv + the rules in SQL + the same apply: "
        f"{rate(file_rows, seconds['bare'], 'rows')} ({seconds['bare']:.2f} s)",
        seconds["platform"] / seconds["bare"], 1.3)


def ingest_rows(quick: bool = False) -> list[IngestRow]:
    """The invoice rows of the README's ingest table (`python -m bench.ingest`)."""
    sizes = [20_000, 100_000] if quick else [100_000, 1_000_000]
    with tempfile.TemporaryDirectory() as tmp:
        return [measure(Path(tmp), n, 3) for n in sizes]


def main() -> None:
    print_rows(__doc__, ingest_rows, "smaller files, for a smoke run")


if __name__ == "__main__":
    main()
