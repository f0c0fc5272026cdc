"""Issue 21: a product-view file over `LANDING_MAX_LINE_BYTES` is never read whole. JSON Lines
are parsed a block of lines at a time, to the same answer as a whole read; a line over the
limit is one malformed batch; an array over the limit is moved aside unread."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from polars.testing import assert_frame_equal

from assets.ctr.ingest import view_events
from assets.ctr.views_blocks import parse_view_file
from assets.ctr.views_parse import parse_views
from tests.ctr.test_pipeline import view, write_views
from tests.ctr.test_reliability import lake_views, rejected


def test_json_lines_in_blocks_are_the_whole_file_s_answer(real_file: Path, tmp_path) -> None:
    """The real MobileWeb day as JSON Lines, with a bad line and a blank one among them,
    parsed whole and in blocks of ~1 MB: the same views, rejected rows and counts."""
    lines = [json.dumps(b).encode() for b in json.loads(real_file.read_bytes())]
    lines[1000] = b'{"events": [{"event_type": "caf\xe9"}]}'  # not UTF-8
    lines[5000:5000] = [b"", b"{not json"]
    path = tmp_path / "day.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    whole, blocks = parse_views(path.read_bytes()), parse_view_file(path, limit=1_000_000)
    assert path.stat().st_size > 16 * 1_000_000 and whole.view_count > 40_000
    assert_frame_equal(blocks.views, whole.views)
    assert_frame_equal(blocks.rejected, whole.rejected.sort("batch_no"))
    for field in ("batches", "events", "malformed_batches", "other_events"):
        assert getattr(blocks, field) == getattr(whole, field), field


def test_a_line_over_the_limit_is_one_malformed_batch(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANDING_MAX_LINE_BYTES", "1000")
    root = env["paths"].root
    good = {"events": [view("P1", "2016-03-05 10:00:00")]}
    huge = {"events": [view(f"P{i}", "2016-03-05 10:00:00") for i in range(2000)]}
    path = write_views(root, "Android", "mixed.jsonl", [good, huge, good], lines=True)
    assert dg.materialize([view_events], resources=env).success and path.exists()
    assert lake_views(root) == 2
    (platform, name, batch, reason), = rejected(env)
    assert (platform, name, batch) == ("Android", "mixed.jsonl", 2)
    assert reason.startswith("malformed batch: line 2 is ") and "over the limit of 1,000" in reason


def test_an_array_over_the_limit_is_moved_aside_unread(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANDING_MAX_LINE_BYTES", "1000")
    root = env["paths"].root
    batches = [{"events": [view(f"P{i}", "2016-03-05 10:00:00") for i in range(100)]}]
    path = write_views(root, "iOS", "big.json", batches)
    with pytest.raises(dg.Failure, match="iOS/big.json: a JSON array of"):
        dg.materialize([view_events], resources=env)
    reason = (path.parent.parent / "_rejected" / "iOS" / "big.json.reason.txt").read_text()
    assert "over the limit of 1,000 (LANDING_MAX_LINE_BYTES)" in reason and not path.exists()


MEASURE = """
import resource, sys
from pathlib import Path
from assets.ctr.views_blocks import parse_view_file
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
parsed = parse_view_file(Path(sys.argv[1]), limit=1 << 20)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) // 1024, parsed.view_count, parsed.rejected["batch_no"].to_list())
"""


def test_a_100_mb_line_costs_a_parse_a_few_mb(tmp_path: Path) -> None:
    """Was: the file read whole (and decoded), several times its size in memory."""
    line = json.dumps({"events": [view("P1", "2016-03-05 10:00:00")]}).encode() + b"\n"
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as fh:
        fh.write(line + b'{"events": [')
        for _ in range(100):
            fh.write(b" " * 1_000_000)
        fh.write(b"]}\n" + line)
    out = subprocess.run([sys.executable, "-c", MEASURE, str(path)], check=True, text=True,
                         capture_output=True, cwd=Path(__file__).parents[2]).stdout
    grown_mb, views, batches = out.split(" ", 2)
    assert int(grown_mb) < 30, f"parsing grew the peak RSS by {grown_mb} MB"
    assert (views, batches.strip()) == ("2", "[2]")
