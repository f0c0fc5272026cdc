"""The records of a landed CSV file, one at a time: what is wrong with one record (a line
that is not UTF-8, a line over `LANDING_MAX_LINE_BYTES`, a field the `csv` module refuses)
is that record's problem, named with its line, and never the file's.

Python's `open(..., encoding="utf-8")` decodes 8 kB at a time, so one bad byte on line 5
raised while the header was being read ("unreadable header"), and `for line in fh` held a
2 GB line whole. Here the file is decoded with `errors="surrogateescape"` (a bad byte
becomes a marker that `resources.lines.utf8_problem` finds on its own line) and read
through `bounded_lines`. Used by the invoice files and the industries customer batches.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, TextIO

from resources.lines import TooLong, bounded_lines, escaped, max_line_bytes, utf8_problem


class CsvRow(NamedTuple):
    """One record: the physical line it ends on, its fields (none when unreadable), why it
    cannot be used (None when it can) and then its last line as storable text (`\\xNN` for
    a bad byte; "" for a good record)."""

    line: int
    fields: list[str]
    problem: str | None
    text: str


@contextmanager
def open_csv(path: Path) -> Iterator[TextIO]:
    """`path` as text for `csv_rows`: UTF-8 with an optional BOM, bad bytes kept as markers,
    line ends untranslated (the `csv` module's own rule)."""
    with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        yield fh


def csv_rows(handle: TextIO, limit: int | None = None) -> Iterator[CsvRow]:
    """Every record of `handle` (from `open_csv`), the header included, in file order; a
    bad byte's problem names its column by the header's name."""
    limit = limit or max_line_bytes()
    problems: dict[int, str] = {}
    last = [""]  # the line read last, shown for a record that has a problem

    def feed() -> Iterator[str]:
        for n, line in enumerate(bounded_lines(handle, limit), 1):
            if isinstance(line, TooLong):  # the csv module sees an empty line
                problems[n] = line.reason(limit)
                last[0] = f"{line.head}…"
                yield "\n"
                continue
            if not line.isascii() and (problem := utf8_problem(line)) is not None:
                problems[n] = f"line {n}: {problem}"
            last[0] = line
            yield line

    reader, done, names = csv.reader(feed()), 0, None
    while True:
        try:
            fields, problem = next(reader), None
        except StopIteration:
            return
        except csv.Error as exc:
            fields, problem = [], f"line {reader.line_num}: not readable as CSV ({exc})"
        if problems:
            found = [problems.pop(n) for n in range(done + 1, reader.line_num + 1)
                     if n in problems]
            if found:
                problem = _field_problem(fields, names) or found[0]
        text = escaped(last[0].rstrip("\r\n"))[:100_000] if problem else ""
        done = reader.line_num
        names = [escaped(f.strip()) for f in fields] if names is None else names
        yield CsvRow(done, fields, problem, text)


def _field_problem(fields: list[str], names: list[str] | None) -> str | None:
    """'<column>: not UTF-8 text (...)' for the first field holding a byte that is not UTF-8
    (the column named by the header, the first record), or None."""
    for i, value in enumerate(fields):
        if (problem := utf8_problem(value)) is not None:
            name = names[i] if names and i < len(names) else f"field {i + 1}"
            return f"{name}: {problem}"
    return None
