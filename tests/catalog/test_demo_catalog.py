"""Done when, issue 23: after the demo, `make trino-up` (`cli.trino up`) serves every
contract table of the spec as `commerce.<domain>.<table>`, and each equals the warehouse's
table: the same columns and exactly the same rows. Then `make trino-down` stops it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from resources import PlatformPaths
from tests.servers import free_port
from tests.test_definitions import SPEC_TABLES

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _value(v: Any) -> Any:
    """One engine's value as the other's: instants in UTC, UUIDs as text, lists as tuples."""
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.astimezone(UTC).replace(tzinfo=None)
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, list):
        return tuple(_value(x) for x in v)
    return v


def _rows(rows: list) -> list[tuple]:
    return sorted((tuple(_value(v) for v in r) for r in rows), key=repr)


def _cli(env: dict[str, str], command: str) -> str:
    done = subprocess.run([sys.executable, "-m", "cli.trino", command], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_trino_up_serves_every_contract_table_as_the_warehouse_holds_it(after_demo) -> None:
    import trino

    data = after_demo[1]
    env = os.environ | {"PLATFORM_DATA_DIR": str(data), "TRINO_PORT": str(free_port())}
    url = re.search(r"^TRINO_URL=http://127\.0\.0\.1:(\d+)$", _cli(env, "up"), re.M)
    assert url, "no TRINO_URL line"
    try:
        cur = trino.dbapi.connect(host="127.0.0.1", port=int(url.group(1)), user="analyst",
                                  catalog="commerce").cursor()
        with duckdb.connect(str(PlatformPaths(data_dir=str(data)).warehouse),
                            read_only=True) as wh:
            for schema, tables in SPEC_TABLES.items():
                cur.execute(f"SHOW TABLES FROM commerce.{schema}")
                assert set(tables) <= {t for (t,) in cur.fetchall()}, schema
                for table in tables:
                    cur.execute(f"SELECT * FROM commerce.{schema}.{table}")
                    got = cur.fetchall()
                    names = [d[0] for d in cur.description]
                    want = wh.execute(f"SELECT * FROM {schema}.{table}")
                    assert names == [d[0] for d in want.description], table
                    assert _rows(got) == _rows(want.fetchall()), f"{schema}.{table}"
                    assert got, f"{schema}.{table} is empty after the demo"
    finally:
        assert "Trino stopped" in _cli(env, "down")
