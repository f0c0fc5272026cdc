"""Generator + demo end to end: deterministic input, every partition materialized, an answer."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import dagster as dg

from cli.demos.ctr import run
from cli.generators.ctr import generate
from tests.ctr.conftest import ctr_defs


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.suffix in {".json", ".jsonl", ".csv"}:
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def test_generate_is_deterministic_and_demo_answers(
    env: dict[str, Any], tmp_path: Path
) -> None:
    counts = generate(tmp_path, seed=7, scale=0.1)
    other = tmp_path / "again"
    assert generate(other, seed=7, scale=0.1) == counts
    assert _digest(tmp_path / "landing") == _digest(other / "landing")
    assert counts["orders"] == 150 and counts["order_items"] > 150

    text = run(ctr_defs(env), dg.DagsterInstance.ephemeral())
    assert "4 runs" in text  # 1 ingest + 1 per platform (its 2 GMT-03:00 days in one run)
    for platform in ("iOS", "Android", "MobileWeb"):
        assert platform in text
    with env["warehouse"].get_connection() as conn:
        (rejected,) = conn.execute("SELECT count(*) FROM ctr.rejected_view_events").fetchall()[0]
        platforms = conn.execute(
            "SELECT DISTINCT platform FROM ctr.purchases ORDER BY 1"
        ).fetchall()
    assert rejected >= 4  # the generator's messy batches + the invalid JSON line
    assert platforms == [("Android",), ("MobileWeb",), ("iOS",)]
