"""Issue 25: JSON Lines through pyarrow, big files in blocks; the same rows and reasons as
Polars' reader and a whole-file read (docs/ctr.md, "Ingest speed")."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.ctr import views_arrow
from assets.ctr.views_blocks import parse_view_file
from assets.ctr.views_parse import (
    BATCH_SCHEMA,
    NotJsonError,
    ParsedViews,
    UnfinishedArrayError,
    parse_views,
)


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


def _same(a: ParsedViews, b: ParsedViews) -> None:
    assert_frame_equal(a.views, b.views)
    assert_frame_equal(a.rejected.sort("batch_no", "reason", "detail"),
                       b.rejected.sort("batch_no", "reason", "detail"))
    for name in ("batches", "events", "malformed_batches", "other_events", "parser"):
        assert getattr(a, name) == getattr(b, name), name


def _batches(real_file: Path, n: int = 3000) -> list[Any]:
    return json.loads(real_file.read_bytes())[:n]


BAD_BATCHES: dict[int, Any] = {
    7: "not an object",
    400: {"no": "events"},
    1201: {"events": [{"event_type": "custom_event"}]},  # no data
    1900: {"events": [{"event_type": "custom_event", "data": {"event_name": "product",
                       "timestamp_unixtime_ms": "soon", "custom_attributes": {"codeColor": "x"}}}]},
    2999: {"events": [{"data": {"custom_attributes": {"codeColor": "a \\\"]}{[ b"}}}]},
}


@pytest.mark.parametrize("bad", [False, True], ids=["clean", "bad batches"])
def test_an_array_in_runs_is_the_whole_read(real_file: Path, tmp_path: Path, bad: bool) -> None:
    """Pretty-printed like the real files, runs of ~20 kB (so bad batches fall in many
    runs, some at run boundaries): the views, rejected rows and counts of a whole read."""
    batches = _batches(real_file)
    if bad:
        for i, b in BAD_BATCHES.items():
            batches[i] = b
    path = tmp_path / "day.json"
    path.write_text(json.dumps(batches, indent=2))
    whole = parse_views(path.read_bytes())
    assert whole.parser == ("tolerant" if bad else "fast") and whole.view_count > 2000
    _same(parse_view_file(path, limit=1 << 30, block=20_000), whole)


@pytest.mark.parametrize("bad", [False, True], ids=["clean", "bad lines"])
def test_json_lines_in_small_blocks_are_the_whole_read(real_file: Path, tmp_path: Path,
                                                       bad: bool) -> None:
    lines = [json.dumps(b).encode() for b in _batches(real_file)]
    if bad:
        lines[1201] = json.dumps(BAD_BATCHES[1201]).encode()  # fine for the fast path alone
        lines[2500] = b"{not json"
        lines[2700:2700] = [b""]
    path = tmp_path / "day.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    whole = parse_views(path.read_bytes())
    assert whole.parser == ("tolerant" if bad else "fast") and whole.view_count > 2000
    _same(parse_view_file(path, limit=1 << 30, block=7_000), whole)


def test_an_unreadable_array_gets_the_whole_read_s_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    body = json.dumps([{"events": []}] * 2000)
    for name, text in (("bad.json", body[:-1] + ",]"), ("open.json", body[:-1] + ",")):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(NotJsonError) as whole:
            parse_views(path.read_bytes())
        with pytest.raises(NotJsonError) as runs:
            parse_view_file(path, limit=1 << 30, block=1000)
        assert (type(runs.value), str(runs.value)) == (type(whole.value), str(whole.value))
    with pytest.raises(UnfinishedArrayError, match="no closing"):
        parse_view_file(path, limit=5000, block=1000)  # over the limit: not read whole


def test_a_too_long_line_among_others(tmp_path: Path) -> None:
    """Limit under the read-through chunk: a long line right after a too-long one is
    rejected too, numbered; the rest load."""
    good = _event()
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"\n".join([good, b" " * 5000 + good, b'{"events":[' + b" " * 3000
                                 + b"]}", good, good]) + b"\n")
    parsed = parse_view_file(path, limit=2000, block=1000)
    assert parsed.view_count == 3 and parsed.rejected["batch_no"].to_list() == [2, 3]
    assert parsed.batches == 5 and parsed.rejected["reason"][0].startswith(
        "malformed batch: line 2 is 5,1")
