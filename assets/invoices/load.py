"""Loading a run's invoice files: each committed file published, small files in batches.

Each file is applied atomically with its deltas to the aggregate (`store.py`). Small files
of one sync date whose invoice ids are disjoint go in one transaction together (up to
BATCH_FILES files / BATCH_ROWS rows): 5,000 one-row files cost a few hundred statements,
not 5,000 x 17 (~18 ms a file alone). Disjoint ids make the files' order irrelevant, so the
tables, the ledger and each file's figures are those of loading them one by one; a file
that shares an id with the batch, or a big one, starts a new transaction. What committed
is published as it commits, and before an error leaves the run. docs/invoices.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from assets.invoices.files import BadInvoiceFile, InvoiceFile
from assets.invoices.parse import ParsedFile, parse_invoice_file
from assets.invoices.publish import Publisher
from assets.invoices.store import FileOutcome, InvoiceStore
from assets.shared import describe_ranges
from resources.lib.landing import LandingFolder

Outcomes = list[tuple[InvoiceFile, FileOutcome]]
LOGGED_FILES = 50
SMALL_ROWS = 5_000  # a file of at most this many rows may share a transaction
BATCH_FILES, BATCH_ROWS = 200, 50_000


@dataclass
class _Batch:
    files: list[tuple[InvoiceFile, ParsedFile]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    hashes: set[str] = field(default_factory=set)
    rows: int = 0

    def takes(self, item: InvoiceFile, parsed: ParsedFile, ids: set[str]) -> bool:
        if not self.files:
            return True
        return (item.sync_date == self.files[0][0].sync_date and len(self.files) < BATCH_FILES
                and self.rows + parsed.rows.num_rows <= BATCH_ROWS
                and item.content_hash not in self.hashes and self.ids.isdisjoint(ids))

    def add(self, item: InvoiceFile, parsed: ParsedFile, ids: set[str]) -> None:
        self.files.append((item, parsed))
        self.ids |= ids
        self.hashes.add(item.content_hash)
        self.rows += parsed.rows.num_rows


def load_files(
    context: dg.AssetExecutionContext,
    store: InvoiceStore,
    landing: LandingFolder,
    files: list[InvoiceFile],
    publisher: Publisher,
) -> tuple[Outcomes, list[str]]:
    """Apply the files, small ones batched (see the module): (what each did, the bad files
    moved aside). Each transaction's files are published after its commit."""
    outcomes: Outcomes = []
    bad: list[str] = []
    log = _file_log(context, len(files))

    def commit(batch: _Batch) -> None:
        for item, outcome in _apply(store, batch):
            outcomes.append((item, outcome))
            publisher.committed(outcome.dates_touched)
            log(f"{item.name}: {outcome.rows_loaded} rows loaded, {outcome.rows_rejected}"
                f" rejected, dates touched: {describe_ranges(outcome.dates_touched)}")

    batch = _Batch()
    try:
        for item in files:
            if store.is_loaded(item.content_hash):
                log(f"{item.name}: same content already loaded, nothing to do")
                outcomes.append((item, FileOutcome(0, 0, 0, [], already_loaded=True)))
                continue
            parsed = _parse(context, landing, item, bad)
            if parsed is None:
                continue
            ids = set(parsed.rows.column("invoice_id").to_pylist())
            if not batch.takes(item, parsed, ids):
                commit(batch)
                batch = _Batch()
            batch.add(item, parsed, ids)
            if parsed.rows.num_rows > SMALL_ROWS:
                commit(batch)
                batch = _Batch()
        commit(batch)
    except BaseException:
        _publish_before_failing(context, publisher)
        raise
    return outcomes, bad


def _parse(context: dg.AssetExecutionContext, landing: LandingFolder, item: InvoiceFile,
           bad: list[str]) -> ParsedFile | None:
    """The file's rows; None when it is bad (moved aside, the reason in `bad`)."""
    try:
        with landing.local_copy(item.rel or item.name, item.content_hash) as path:
            return parse_invoice_file(path, item.sync_date)
    except BadInvoiceFile as exc:
        moved = landing.reject(item.path, str(exc))
        context.log.error(f"{exc}; moved to {moved}")
        bad.append(str(exc))
        return None


def _apply(store: InvoiceStore, batch: _Batch) -> list[tuple[InvoiceFile, FileOutcome]]:
    """The batch in one transaction; an error keeps its type (retries) and names the files."""
    if not batch.files:
        return []
    try:
        outcomes = store.apply_files(
            [(parsed, item.name, item.content_hash) for item, parsed in batch.files],
            batch.files[0][0].sync_date)
    except Exception as exc:  # rolled back: nothing of these files is in the tables
        first, last = batch.files[0][0], batch.files[-1][0]
        exc.add_note(f"while loading invoice file {first.name} ({first.path})" if first is last
                     else f"while loading invoice files {first.name} .. {last.name} "
                          f"({len(batch.files)} files, in {first.path.parent})")
        raise
    return [(item, outcome) for (item, _), outcome in zip(batch.files, outcomes, strict=True)]


def _file_log(context: dg.AssetExecutionContext, files: int) -> Callable[[str], None]:
    """A line per file in the run's log, for the first LOGGED_FILES files and then every
    LOGGED_FILES-th one (each line is an event written to run storage: ~8 ms; every file's
    figures are in the materialization's `files` table anyway)."""
    seen = iter(range(1, files + 1))

    def log(line: str) -> None:
        n = next(seen, files)
        if n <= LOGGED_FILES or n % LOGGED_FILES == 0 or n == files:
            context.log.info(f"[{n}/{files}] {line}")
    return log


def _publish_before_failing(context: dg.AssetExecutionContext, publisher: Publisher) -> None:
    try:
        months = publisher.flush()
        context.log.info(f"published the files committed before the error: {months}")
    except Exception as exc:  # a full disk: the re-asked run republishes these months
        context.log.warning(f"could not publish the committed files before failing: {exc}")
