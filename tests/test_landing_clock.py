"""Issue 21, item 9: readiness does not trust the producer's clock. A file whose mtime is
ahead of this machine's clock (clock skew) is read once its stat signature has not changed
for `settle_seconds` between looks, by this machine's clock; while it waits, `unready` says
why; a rewrite meanwhile restarts the wait; an idle look still stats no file."""

from __future__ import annotations

import os
import time

from tests.test_landing import folder, land

SETTLE = 0.3
DAY = 86_400


def _ahead(path, seconds: float) -> None:
    future = time.time() + seconds
    os.utime(path, (future, future))


def test_a_file_dated_a_day_ahead_is_read_once_unchanged_for_the_settle_time(tmp_path):
    f = folder(tmp_path, settle_seconds=SETTLE)
    _ahead(land(f, "skewed.csv", "from a producer a day ahead"), DAY)
    first = f.changes()
    assert first.files == [] and first.unsettled == 1  # seen, not yet known to be still
    why = f.unready(["skewed.csv"])["skewed.csv"]
    assert why.startswith("its mtime is 86,400 s ahead of this machine's clock"), why
    time.sleep(SETTLE + 0.05)
    later = f.changes(first.seq)
    assert [x.rel for x in later.files] == ["skewed.csv"]  # main: held until the clock catches up
    assert f.unready(["skewed.csv"]) == {}


def test_a_rewrite_while_it_waits_restarts_the_wait(tmp_path):
    f = folder(tmp_path, settle_seconds=SETTLE)
    path = land(f, "skewed.csv", "part one")
    _ahead(path, 3600)
    assert f.changes().files == []
    time.sleep(SETTLE / 2)
    with path.open("a") as fh:
        fh.write(", part two")  # the writer is still at it
    _ahead(path, 3600)
    time.sleep(SETTLE / 2 + 0.05)
    assert f.changes().files == []  # settle time since the first look, but changed since
    time.sleep(SETTLE / 2)
    assert f.changes().files == []  # unchanged, but not yet for the settle time
    time.sleep(SETTLE / 2)
    found = f.changes().files
    assert [x.rel for x in found] == ["skewed.csv"] and found[0].size == len("part one, part two")


def test_once_read_an_idle_look_stats_no_file(tmp_path):
    f = folder(tmp_path, settle_seconds=SETTLE)
    _ahead(land(f, "skewed.csv", "x"), DAY)
    land(f, "plain.csv", "y")  # an ordinary file, landed a minute ago: ready at once
    assert [x.rel for x in f.changes().files] == ["plain.csv"]
    time.sleep(SETTLE + 0.05)
    seq = f.changes().seq
    time.sleep(0.15)
    f.changes(seq)
    idle = f.changes(seq)
    assert (idle.files, idle.stated, idle.hashed, idle.unsettled) == ([], 0, 0, 0)
