"""The 10-minute serving tier gives byte for byte the answers of the per-minute rollups."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import pytest

from api.query import CtrRequest, plan, query_ctr
from assets.ctr.serving import TIER, serving_file, serving_root
from resources.lib.serving import lake_root
from tests.ctr.conftest import write_serving

PLATFORMS = ("Android", "MobileWeb", "iOS")
# names that JSON must escape, and non-ASCII ones, next to ordinary codes
PRODUCTS = ['say "hi"', "back\\slash", "café", "鞋-01", "tab\there"] + [
    f"{20000000 + i}_{i % 7:03d}" for i in range(25)
]


def rows(rng: random.Random, n: int) -> list[tuple[str, str, str, int]]:
    out = []
    for _ in range(n):
        day = rng.choice(["2016-02-01", "2016-02-02"])
        minute = f"{day} {rng.randrange(24):02d}:{rng.randrange(60):02d}"
        out.append((rng.choice(PLATFORMS), rng.choice(PRODUCTS), minute, rng.randint(1, 4)))
    return out


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    rng = random.Random(7)
    views, purchases = rows(rng, 3000), rows(rng, 400)
    with_tier, minute_only = tmp_path_factory.mktemp("tier"), tmp_path_factory.mktemp("min")
    write_serving(with_tier, views, purchases, tier=True)
    write_serving(minute_only, views, purchases, tier=False)
    return serving_root(lake_root(with_tier)), serving_root(lake_root(minute_only))


REQUESTS = [
    (datetime(2016, 2, 1), datetime(2016, 2, 3), 10, PLATFORMS, None),
    (datetime(2016, 2, 1, 7, 30), datetime(2016, 2, 2, 3, 10), 10, ("iOS",), None),
    (datetime(2016, 2, 1, 7, 30), datetime(2016, 2, 2, 3, 10), 10, PLATFORMS, 'say "hi"'),
    (datetime(2016, 2, 1, 0, 50), datetime(2016, 2, 2, 23, 0), 30, PLATFORMS, None),
    (datetime(2016, 2, 1), datetime(2016, 2, 3), 60, ("MobileWeb", "iOS"), "café"),
    (datetime(2016, 2, 1), datetime(2016, 2, 3), 1440, PLATFORMS, None),
    (datetime(2016, 2, 1, 0, 5), datetime(2016, 2, 2), 10, PLATFORMS, None),  # off-grid
    (datetime(2016, 2, 1), datetime(2016, 2, 2), 7, PLATFORMS, None),  # not a multiple
]


@pytest.mark.parametrize("req", [CtrRequest(*r) for r in REQUESTS], ids=str)
def test_tier_answers_equal_minute_answers(roots: tuple[Path, Path], req: CtrRequest) -> None:
    tier_root, minute_root = roots
    on_grid = req.aggregation % 10 == 0 and req.start.minute % 10 == 0
    assert (TIER in plan(tier_root, req)) == on_grid
    assert TIER not in plan(minute_root, req)
    whole = query_ctr(tier_root, req, limit=100_000)
    assert whole.rows > 0 and not whole.more
    assert whole.body == query_ctr(minute_root, req, limit=100_000).body
    # pages are the same slices on both
    for offset in (0, 5, whole.rows - 3):
        a = query_ctr(tier_root, req, limit=4, offset=offset)
        b = query_ctr(minute_root, req, limit=4, offset=offset)
        assert (a.body, a.rows, a.more) == (b.body, b.rows, b.more)


def test_missing_tier_slice_falls_back_to_minutes(tmp_path: Path) -> None:
    rng = random.Random(3)
    write_serving(tmp_path, rows(rng, 500), rows(rng, 50), tier=True)
    root = serving_root(lake_root(tmp_path))
    req = CtrRequest(datetime(2016, 2, 1), datetime(2016, 2, 3), 10, PLATFORMS)
    before = query_ctr(root, req, limit=100_000).body
    assert TIER in plan(root, req)
    serving_file(root, TIER, "iOS", "2016-02-02").local().unlink()
    assert TIER not in plan(root, req)
    assert query_ctr(root, req, limit=100_000).body == before
