"""One set-based DuckDB scan per extract: trim, type, reject (with physical line numbers), stage.

The CSV is read once with every column as text (`all_varchar`), so a value that does not
parse becomes a rejected ROW with a reason instead of failing the whole file. Rows the reader
cannot split at all (wrong number of fields) are captured by DuckDB's `store_rejects`.
A file that cannot be read or lacks a column of the contract is a bad FILE (`BadExtractFile`).

Line numbers are PHYSICAL lines (what an editor shows): quoted fields may hold line breaks
(the real accounts.csv has 200 records on 401 lines), so the line of record k is
1 (header) + k + the line breaks inside the records before it, a streaming running sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from assets.late_payments.extracts import (
    SCHEMA,
    BadExtractFile,
    Column,
    Dialect,
    Extract,
    match_header,
    problems,
)
from resources.lines import max_line_bytes
from resources.sql import transaction

_WS = "E' \\t\\r\\n'"
_CSV_OPTS = "all_varchar=true, header=true, delim=',', quote='\"', escape='\"'"


def _csv_opts() -> str:
    """The reader's options; its longest line is the platform's (`LANDING_MAX_LINE_BYTES`,
    checked before DuckDB reads the file: `staging`), not DuckDB's 2 MB default."""
    return f"{_CSV_OPTS}, max_line_size={max_line_bytes()}"


@dataclass(frozen=True)
class LoadStats:
    file: str
    loaded: int
    rejected: int


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def raw_text(col: Column, source: str) -> str:
    """The text value: trimmed for text columns; casts to numbers/dates ignore blanks anyway."""
    if col.sql_type == "VARCHAR":
        return (
            f"CASE WHEN regexp_matches({source}, '^\\s|\\s$') "
            f"THEN nullif(trim({source}, {_WS}), '') ELSE nullif({source}, '') END"
        )
    return source


def typed_value(col: Column) -> str:
    raw = f"r_{col.name}"
    if col.sql_type == "DATE[]":
        tokens = f"regexp_extract_all({raw}, '[^\\s;|,\\[\\]''\"]+')"
        many = f"nullif(list_transform({tokens}, lambda t: try_cast(t AS DATE)), [])"
        one = f"try_cast({raw} AS DATE)"
        return f"CASE WHEN {one} IS NOT NULL THEN [{one}] ELSE {many} END"
    if col.sql_type == "VARCHAR":
        return raw
    return f"try_cast({raw} AS {col.sql_type})"


DUCKDB = Dialect(
    blank=lambda raw: f"({raw} IS NULL OR trim({raw}, {_WS}) = '')",
    any_element=lambda items, pred: f"list_bool_or(list_transform({items}, lambda x: {pred}))",
    expression=lambda expr: expr,
)


def header_of(conn: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """The header's names, in file order (a file DuckDB cannot read is a bad file)."""
    try:
        sql = f"DESCRIBE SELECT * FROM read_csv(?, {_csv_opts()}, ignore_errors=true)"
        rel = conn.execute(sql, [str(path)])
        return [row[0] for row in rel.fetchall()]
    except duckdb.Error as exc:
        raise BadExtractFile(f"{path.name}: not a readable CSV ({exc})") from exc


def _physical_lines(path: Path, byte_positions: list[int]) -> list[int]:
    """DuckDB's 1-based byte positions of record starts -> their physical line numbers, in
    one pass over the file a chunk at a time (never the whole file in memory)."""
    found, lines, offset = {}, 1, 0
    with path.open("rb") as fh:
        for stop in sorted({max(p - 1, 0) for p in byte_positions}):
            while offset < stop and (chunk := fh.read(min(1 << 20, stop - offset))):
                lines += chunk.count(b"\n")
                offset += len(chunk)
            found[stop] = lines
    return [found[max(p - 1, 0)] for p in byte_positions]


def load_extract(conn: duckdb.DuckDBPyConnection, extract: Extract, path: Path) -> LoadStats:
    """Stage one extract into `extract.table` and its bad rows into `rejected_rows`, atomically."""
    header = match_header(extract, path.name, header_of(conn, path))
    cols = extract.columns
    raw_cols = ", ".join(f"{raw_text(c, _q(header[c.name]))} AS r_{c.name}" for c in cols)
    concat = "concat(" + ", ".join(_q(header[c.name]) for c in cols) + ")"
    newlines = f"strlen({concat}) - strlen(replace({concat}, E'\\n', ''))"
    typed = ", ".join(f"{typed_value(c)} AS {c.name}" for c in cols)
    whens = " ".join(w for c in cols for w in problems(c, DUCKDB))
    names = ", ".join(c.name for c in cols)
    extra = "".join(f", {expr} AS {name}" for name, expr in extract.extra.items())
    record = "concat_ws(',', " + ", ".join(f"coalesce(r_{c.name}, '')" for c in cols) + ")"
    numbering = (
        "row_number() OVER () AS rec, 1 + row_number() OVER () "
        "+ sum(_nl) OVER (ROWS UNBOUNDED PRECEDING) - _nl AS line"
    )

    def scan(with_lines: bool) -> None:
        """Type and judge every row; line numbers (a serial running sum) only on request."""
        conn.execute("DROP TABLE IF EXISTS lp_rej_errors; DROP TABLE IF EXISTS lp_rej_scan;")
        conn.execute(
            f"""
        CREATE OR REPLACE TEMP TABLE lp_cooked AS
        SELECT rec, line, {names}{extra}, reason,
               CASE WHEN reason IS NOT NULL THEN {record} END AS record
        FROM (
            SELECT *, CASE {whens} END AS reason FROM (
                SELECT {numbering if with_lines else "NULL::BIGINT AS rec, NULL::BIGINT AS line"},
                       *, {typed}
                FROM (
                    SELECT {raw_cols}, {newlines if with_lines else "0"} AS _nl
                    FROM read_csv(?, {_csv_opts()}, store_rejects=true,
                                  rejects_table='lp_rej_errors', rejects_scan='lp_rej_scan')
                )
            )
        )
        """,
            [str(path)],
        )

    scan(with_lines=False)
    clean = (
        conn.execute(
            "SELECT count(*) FILTER (reason IS NOT NULL) = 0 AND "
            f"{'count(DISTINCT ' + extract.key + ') = count(*)' if extract.key else 'true'} "
            "FROM lp_cooked"
        ).fetchone()[0]
        and not conn.execute("SELECT count(*) FROM lp_rej_errors").fetchone()[0]
    )
    if not clean:  # rescan numbering physical lines for the rejected rows
        scan(with_lines=True)
    structural = conn.execute(
        """SELECT line, min(line_byte_position), any_value(csv_line),
                  arg_min(error_message, column_idx)
           FROM lp_rej_errors GROUP BY line ORDER BY line"""
    ).fetchall()
    broken: list[tuple[int, str, str]] = []
    if structural:
        spans = []
        physical = _physical_lines(path, [byte_pos for _, byte_pos, _, _ in structural])
        for rank, (rec_line, _, csv_line, message) in enumerate(structural, start=1):
            broken.append((physical[rank - 1], message, csv_line))
            spans.append(((rec_line - 1) - rank, 1 + (csv_line or "").count("\n")))
        # good records after a broken one sit further down the file by its physical span
        conn.execute("CREATE OR REPLACE TEMP TABLE lp_spans (goods_before BIGINT, span BIGINT)")
        conn.executemany("INSERT INTO lp_spans VALUES (?, ?)", spans)
        conn.execute(
            """UPDATE lp_cooked SET line = line + coalesce(
                 (SELECT sum(span) FROM lp_spans s WHERE s.goods_before < lp_cooked.rec), 0)"""
        )
    if extract.key:
        key = extract.key
        conn.execute(
            f"""
            UPDATE lp_cooked SET reason = d.reason, record = d.record FROM (
                SELECT rec, 'duplicate {key} ' || {key} || ' (first at line ' || first_line || ')'
                           AS reason,
                       {record} AS record
                FROM (SELECT rec, {key}, {
                ", ".join(f"{c.name}::VARCHAR AS r_{c.name}" for c in cols)
            },
                             row_number() OVER w AS n, first_value(line) OVER w AS first_line
                      FROM lp_cooked WHERE reason IS NULL
                      WINDOW w AS (PARTITION BY {key} ORDER BY rec))
                WHERE n > 1
            ) d WHERE lp_cooked.rec = d.rec
            """
        )
    with transaction(conn):
        conn.execute(
            f"CREATE OR REPLACE TABLE {extract.table} AS "
            f"SELECT {names}{''.join(', ' + n for n in extract.extra)} "
            "FROM lp_cooked WHERE reason IS NULL"
        )
        conn.execute(f"DELETE FROM {SCHEMA}.rejected_rows WHERE file = ?", [path.name])
        conn.execute(
            f"INSERT INTO {SCHEMA}.rejected_rows "
            "SELECT ?, line, reason, record FROM lp_cooked WHERE reason IS NOT NULL",
            [path.name],
        )
        if broken:
            conn.executemany(
                f"INSERT INTO {SCHEMA}.rejected_rows VALUES (?, ?, ?, ?)",
                [(path.name, line, msg, text) for line, msg, text in broken],
            )
    loaded = conn.execute(f"SELECT count(*) FROM {extract.table}").fetchone()[0]
    rejected = conn.execute(
        f"SELECT count(*) FROM {SCHEMA}.rejected_rows WHERE file = ?", [path.name]
    ).fetchone()[0]
    conn.execute("DROP TABLE IF EXISTS lp_cooked")
    return LoadStats(path.name, loaded, rejected)
