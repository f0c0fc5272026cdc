"""The vectorized invoice parser against the row-by-row reference, on random messy files.

`parse_invoice_rows` (the `csv` module and one `row_error` per row) is the oracle: on every
generated file `parse_invoice_file` gives the same typed rows in the same order, the same
rejects (line, raw text, reason) and the same bad-file error. docs/invoices.md "Parsing".
"""

from __future__ import annotations

import codecs
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from assets.invoices.files import BadInvoiceFile
from assets.invoices.parse import file_lines, parse_invoice_file
from assets.invoices.parse_rows import parse_invoice_rows

SYNC = date(2024, 3, 1)
HEADER = "venue_id,invoice_id,datetime_created,total"
IDS = ["6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b", "0A1B2C3D-4E5F-4a6b-8c7d-9e0f1a2b3c4d",
       "11111111-2222-4333-8444-555555555555"]

# plain values (the fast path types them) and odd ones (each a rule of `row_error`)
VENUES = ["v1", "venue-007", " v2 ", "\tv3", "a b", "v#+-~!"]
ODD_VENUES = ["", "  ", "Café Roma", "v\u00a0", "x\x00y", "v\x1c", "v\u2003"]
ODD_IDS = ["{6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b}", "6f1c2a9e3b4d4e5f8a7b9c0d1e2f3a4b",
           "urn:uuid:6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b", "not-a-uuid", " " + IDS[0], "",
           "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4", "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4g"]
DAYS = ["2024-02-27", "2010-01-01", "2024-03-01"]
ODD_DAYS = ["2024-02-29", "2024-03-02", "2023-02-29", "2009-12-31", "0000-01-01", "2024-13-01",
            "2024-1-05", "2024-04-31", "9999-12-31", "someday", "", "2024-02-27T09"]
TIMES = ["09:00:00", "23:59:59.999999", "00:00:00.5", "09:00:00.123456"]
ODD_TIMES = ["24:00:00", "10:00:60", "10:60:00", "09:00:00.1234567", "09:00", "09:00:00+01:00",
             "09:00:00Z", "09:00:00.", "9:00:00", "09:00:00.0000001", "09:00:00,5"]
TOTALS = ["10.00", "-8.25", "0", "-0.00", "9999999999999999.99", " 3.10 ", "007.10", "-1.5"]
ODD_TOTALS = ["1.234", "1e3", "NaN", "Infinity", "+1.50", ".5", "1.", "1_000", "٣", "1.0000",
              "10000000000000000", "12345678901234567.5", "99999999999999999", "ten", "", "-",
              "--1", "1.2.3"]
SEPARATORS = [" ", "T", "  "]

stamps = st.builds(lambda d, sep, t: f"{d}{sep}{t}", st.sampled_from(DAYS),
                   st.sampled_from(SEPARATORS[:2]), st.sampled_from(TIMES))
odd_stamps = st.builds(lambda d, sep, t: f"{d}{sep}{t}", st.sampled_from(DAYS + ODD_DAYS),
                       st.sampled_from(SEPARATORS), st.sampled_from(TIMES + ODD_TIMES))
PLAIN = [st.sampled_from(VENUES), st.sampled_from(IDS), stamps, st.sampled_from(TOTALS)]
ODD = [st.sampled_from(ODD_VENUES) | st.text(max_size=6), st.sampled_from(ODD_IDS),
       odd_stamps | st.sampled_from(ODD_DAYS), st.sampled_from(ODD_TOTALS)]


@st.composite
def rows(draw: st.DrawFn) -> list[str]:
    """Four fields, at most one of them odd: each odd value is seen in a plain row."""
    odd = draw(st.integers(0, 4))
    return [draw(ODD[i] if i == odd else PLAIN[i]) for i in range(4)]


fields_lines = rows().map(",".join) | rows().map(lambda f: ",".join(f[:3])) | rows().map(
    lambda f: ",".join([*f, "x"]))
blank_lines = st.sampled_from(["", "   ", ",,,", " , , , ", "\t"])
# each of these sends the whole file to the reference (`file_lines` is None)
fallback_lines = st.sampled_from([
    '"v1",' + IDS[0] + ",2024-02-27 09:00:00,1", '"v,1",' + IDS[1] + ",2024-02-27 09:00:00,1",
    '"open\nquote', "v1,\udcff\udcfe,2024-02-27 09:00:00,1", "lone\rcr,a,b,c", "v\x00,a,b,c"])
lines = st.lists(fields_lines | blank_lines, max_size=14) | st.lists(
    fields_lines | blank_lines | fallback_lines, max_size=8)
headers = st.sampled_from([HEADER] * 4 + [
    " Venue_ID , invoice_id,DATETIME_CREATED,total", "a,b,c,d", "", HEADER + ",extra",
    codecs.BOM_UTF8.decode() + HEADER])
# every odd value once in an otherwise plain row, and every id twice (last wins)
EDGES = [f"v1,{IDS[0]},2024-02-27 {t},1.00" for t in TIMES + ODD_TIMES] + [
    f"v1,{IDS[1]},{d} 09:00:00,1.00" for d in DAYS + ODD_DAYS] + [
    f"v1,{IDS[2]},2024-02-27{sep}09:00:00,{t}" for sep in SEPARATORS for t in TOTALS + ODD_TOTALS
] + [f"{v},{i},2024-02-27 09:00:00,1" for v in VENUES + ODD_VENUES for i in IDS + ODD_IDS]


def _file(header: str, body: list[str], crlf: bool, final_newline: bool, bom: bool) -> bytes:
    end = "\r\n" if crlf else "\n"
    text = end.join([header, *body]) + (end if final_newline else "")
    data = text.encode("utf-8", "surrogateescape")  # \udcff: the byte 0xFF, not UTF-8
    return (codecs.BOM_UTF8 if bom else b"") + data


def _outcome(parse, path: Path, limit: int | None, **blocks: int):
    try:
        parsed = parse(path, SYNC, limit, **blocks)
    except BadInvoiceFile as exc:
        return "bad file", str(exc)
    return parsed.rows.to_pylist(), parsed.rows.schema, parsed.rejected


@settings(max_examples=1500, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=headers, body=lines, crlf=st.booleans(), final_newline=st.booleans(),
       bom=st.booleans(), limit=st.sampled_from([None, None, 70]),
       block=st.sampled_from([1 << 20, 1, 64, 200]))
@example(header=HEADER, body=[f"v1,{IDS[0]},2024-02-27 09:00:00,1.00",
                              f"v2,{IDS[0].upper()},2024-02-28 09:00:00,2.00"],
         crlf=True, final_newline=True, bom=False, limit=None, block=1)
@example(header=HEADER, body=EDGES, crlf=False, final_newline=True, bom=False, limit=None,
         block=100)
def test_vectorized_parser_matches_the_row_by_row_reference(
        tmp_path: Path, header: str, body: list[str], crlf: bool, final_newline: bool,
        bom: bool, limit: int | None, block: int) -> None:
    path = tmp_path / "invoices_2024-03-01.csv"
    data = _file(header, body, crlf, final_newline, bom)
    path.write_bytes(data)
    event("fast path" if file_lines(data, limit or 1 << 20) is not None else "reference")
    fast = _outcome(parse_invoice_file, path, limit, block_bytes=block)  # tiny blocks too
    assert fast == _outcome(parse_invoice_rows, path, limit)


@pytest.mark.parametrize("body", [[], [""], ["v1," + IDS[0] + ",2024-02-27 09:00:00,1.00"]])
def test_the_fast_path_is_taken_for_plain_files(tmp_path: Path, body: list[str]) -> None:
    """The plain files a sync writes do not fall back to the reference: their lines come
    out of `file_lines` (else the property test above would compare the reference with
    itself)."""
    data = _file(HEADER, body, crlf=True, final_newline=True, bom=False)
    assert file_lines(data, 1 << 20) is not None
