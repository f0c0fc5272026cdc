"""The order generator the compose file runs (`python -m cli.orders_stream`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli import orders_stream


def test_history_files_land_where_the_platform_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    orders_stream.main(["--days", "1", "--scale", "0.05"])
    assert list((tmp_path / "landing" / "orders").glob("*.jsonl"))
    assert "history files only" in capsys.readouterr().out
