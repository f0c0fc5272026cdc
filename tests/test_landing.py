"""The landing mechanism: readiness, identity by content, move-aside, and what a look costs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import resources.lib.landing
from resources.lib.landing import LandingFolder


@pytest.fixture
def hashed(monkeypatch) -> list[str]:
    """The files the mechanism opens (to hash them), in order."""
    opened: list[str] = []
    real = resources.lib.landing.file_sha256

    def counting(path):
        opened.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(resources.lib.landing, "file_sha256", counting)
    return opened


def folder(tmp_path: Path, **kw) -> LandingFolder:
    kw = {"settle_seconds": 0, "sweep_seconds": 3600, **kw}
    return LandingFolder(tmp_path / "landing" / "things", tmp_path / "state" / "i.sqlite", **kw)


def land(f: LandingFolder, name: str, text: str, age: float = 60) -> Path:
    path = f.path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    past = time.time() - age
    os.utime(path, (past, past))
    return path


def test_only_final_names_settled_files_and_links_inside_count(tmp_path):
    f = folder(tmp_path, settle_seconds=30)
    land(f, "a.csv", "a")
    land(f, "b.csv.part", "uploading")
    land(f, "c.csv.tmp", "uploading")
    land(f, ".hidden.csv", "x")
    land(f, "_private.csv", "x")
    land(f, "fresh.csv", "still being written", age=0)
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    (f.path / "link-out.csv").symlink_to(outside)
    (f.path / "link-in.csv").symlink_to(f.path / "a.csv")
    changes = f.changes()
    assert [x.rel for x in changes.files] == ["a.csv", "link-in.csv"]
    assert changes.unsettled == 1
    past = time.time() - 60
    os.utime(f.path / "fresh.csv", (past, past))
    later = f.changes(changes.seq)
    assert [x.rel for x in later.files] == ["fresh.csv"]


def test_identity_is_the_content(tmp_path, hashed):
    f = folder(tmp_path)
    a = land(f, "a.csv", "one")
    first = f.changes()
    assert [(x.rel, x.seq) for x in first.files] == [("a.csv", 1)]
    assert first.files[0].sha256 == resources.lib.landing.file_sha256(a)
    os.utime(a, None)  # touched, same bytes: looked at again, but no change
    f.sweep_ns = 0
    assert f.changes(first.seq).files == []
    land(f, "copy.csv", "one")  # the same content under another name: a new file, same hash
    copy = f.changes(first.seq).files
    assert [x.rel for x in copy] == ["copy.csv"] and copy[0].sha256 == first.files[0].sha256
    land(f, "a.csv", "two")  # new bytes under the old name
    again = f.changes(copy[0].seq).files
    assert [x.rel for x in again] == ["a.csv"] and again[0].seq > copy[0].seq


def test_an_idle_look_stats_and_reads_no_file(tmp_path, hashed):
    f = folder(tmp_path)
    for i in range(200):
        land(f, f"f{i:03d}.csv", f"row {i}")
    first = f.changes()
    assert len(first.files) == 200 and len(hashed) == 200
    time.sleep(0.15)  # past the clock-tick guard after the last folder change
    f.changes(first.seq)  # settles the guard
    hashed.clear()
    idle = f.changes(first.seq)
    assert (idle.files, idle.stated, idle.hashed, hashed) == ([], 0, 0, [])
    assert idle.seq == first.seq


def test_new_and_removed_files_are_seen_at_once_rewrites_by_the_sweep(tmp_path, hashed):
    f = folder(tmp_path)
    a = land(f, "a.csv", "one")
    seq = f.changes().seq
    time.sleep(0.15)
    f.changes(seq)
    land(f, "b.csv", "new file")  # the folder changed: a full look at once
    found = f.changes(seq)
    assert [x.rel for x in found.files] == ["b.csv"]
    seq = found.seq
    time.sleep(0.15)
    f.changes(seq)
    a.write_text("rewritten in place")  # the folder did not change
    assert f.changes(seq).files == []  # ...so not before the sweep
    f.sweep_ns = 0
    assert [x.rel for x in f.changes(seq).files] == ["a.csv"]
    a.unlink()
    assert sorted(x.rel for x in f.files()) == ["a.csv", "b.csv"]
    f.changes(seq)
    assert [x.rel for x in f.files()] == ["b.csv"]


def test_reject_moves_aside_with_the_reason_and_forgets_the_file(tmp_path):
    f = folder(tmp_path)
    path = land(f, "sub/bad.csv", "junk")
    f.depth = 1
    assert [x.rel for x in f.changes().files] == ["sub/bad.csv"]
    target = f.reject(path, "sub/bad.csv: header is wrong")
    assert target == f.path / "_rejected" / "sub" / "bad.csv"
    assert target.read_text() == "junk" and not path.exists()
    reason = (target.parent / "bad.csv.reason.txt").read_text().splitlines()
    assert reason[0] == "sub/bad.csv: header is wrong"
    assert "landing/things/sub/bad.csv" in reason[1]
    assert f.files() == [] and f.changes().files == []  # _rejected/ is not landed data


def test_a_missing_folder_is_empty_and_created_by_no_look(tmp_path):
    f = folder(tmp_path)
    assert f.changes().files == [] and f.present() == []
    assert not f.path.exists()


def test_a_backlog_is_hashed_over_several_looks_within_the_budget(tmp_path, hashed):
    f = folder(tmp_path, hash_budget=0)  # a look past its budget still hashes one file
    for i in range(3):
        land(f, f"f{i}.csv", f"row {i}")
    seen, seq = [], 0
    for _ in range(3):
        changes = f.changes(seq)
        seen += [x.rel for x in changes.files]
        seq = changes.seq
        assert changes.hashed == 1  # one per look: the rest is left for the next tick
    assert seen == ["f0.csv", "f1.csv", "f2.csv"] and hashed == seen
    assert f.changes(seq).files == []


def test_unready_names_each_file_of_a_set_that_must_not_be_read_yet(tmp_path):
    f = folder(tmp_path, settle_seconds=30)
    land(f, "a.csv", "a")
    land(f, "b.csv", "b")
    outside = tmp_path / "hostname"
    outside.write_text("not yours")
    (f.path / "c.csv").symlink_to(outside)
    f.changes()
    assert f.unready(["a.csv", "b.csv"]) == {}
    land(f, "b.csv", "b, rewritten in place", age=0)  # still being written
    (f.path / "a.csv").write_text("a2")
    past = time.time() - 60
    os.utime(f.path / "a.csv", (past, past))  # settled, but not hashed in this state
    why = f.unready(["a.csv", "b.csv", "c.csv", "d.csv"])
    assert why["a.csv"].startswith("changed since it was hashed")
    assert why["b.csv"].startswith("written less than 30 s ago")
    assert "outside" in why["c.csv"] and why["d.csv"] == "missing"
    assert not f.inside(f.path / "c.csv") and f.inside(f.path / "a.csv")
