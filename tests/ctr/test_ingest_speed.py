"""Issue 25: JSON Lines through pyarrow, big files in blocks; the same rows and reasons as
Polars' reader and a whole-file read (docs/ctr.md, "Ingest speed")."""

from __future__ import annotations

import io

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.ctr import views_arrow
from assets.ctr.views_parse import BATCH_SCHEMA, parse_views


def _event(ts: bytes = b"1454284800000", code: bytes = b'"P1"') -> bytes:
    return (b'{"events":[{"event_type":"custom_event","data":{"event_name":"product",'
            b'"timestamp_unixtime_ms":' + ts + b',"custom_attributes":{"codeColor":' + code
            + b"}}}]}")


ODD_LINES = {
    "number as product": _event(code=b"123"),
    "NaN": _event(b"NaN"),
    "Infinity": _event(b"Infinity"),
    "two objects on a line": b'{"events":[]} {"events":[]}',
    "not UTF-8": _event(code=b'"caf\xe9"'),
    "surrogate": _event(code=b'"\\ud800"'),
    "whitespace line": b"   ",
    "duplicate key": b'{"events":[{"event_type":"a","event_type":"b","data":{}}]}',
    "no data": b'{"events":[{"event_type":"custom_event"}]}',
    "events null": b'{"events":null}',
}


@pytest.mark.parametrize("odd", list(ODD_LINES), ids=list(ODD_LINES))
def test_pyarrow_gives_polars_rows_or_steps_aside(odd: str) -> None:
    """Wherever pyarrow reads a line differently from Polars' reader, it raises (and the
    parse takes the old path): never a different row."""
    data = b"\n".join([_event(), ODD_LINES[odd], _event(b"1454284800001.5")]) + b"\n"
    try:
        ours = views_arrow.read_lines(data)
    except ValueError:
        return
    assert_frame_equal(ours, pl.read_ndjson(io.BytesIO(data), schema=BATCH_SCHEMA))


@pytest.mark.parametrize("odd", list(ODD_LINES), ids=list(ODD_LINES))
def test_a_file_with_an_odd_line_parses_as_without_pyarrow(
    odd: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole parse (views, rejected rows and their reasons, counts) with the pyarrow
    fast path and without it (as before issue 25)."""
    data = b"\n".join([_event(), ODD_LINES[odd], _event(b"1454284800001.5")]) + b"\n"
    new = parse_views(data)

    def refuse(_: bytes) -> pl.DataFrame:
        raise ValueError("off")

    monkeypatch.setattr("assets.ctr.views_parse.read_lines", refuse)
    old = parse_views(data)
    assert_frame_equal(new.views, old.views)
    assert_frame_equal(new.rejected, old.rejected)
    assert (new.batches, new.events, new.malformed_batches, new.other_events, new.parser) == (
        old.batches, old.events, old.malformed_batches, old.other_events, old.parser)


def test_plain_lines_take_pyarrow() -> None:
    data = b"\n".join([_event(), b'{"events":[]}', _event(b"1454284800001.5")])
    assert views_arrow.read_lines(data).height == 3
    assert_frame_equal(views_arrow.read_lines(data),
                       pl.read_ndjson(io.BytesIO(data), schema=BATCH_SCHEMA))
