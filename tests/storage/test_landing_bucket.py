"""The landing mechanism on a bucket of a real S3-compatible store: the contract of the local
folder (tests/test_landing.py), with one listing per look and no GET when nothing changed."""

from __future__ import annotations

import hashlib
import time

import pytest

from resources.lib.landing import LandingFolder
from resources.lib.landing_bucket import ContentChanged
from resources.lib.storage import Location, StoreUnavailable

pytestmark = pytest.mark.integration


@pytest.fixture
def landing(s3_server, tmp_path) -> tuple[Location, LandingFolder]:
    root = Location(f"s3://{s3_server.bucket()}/landing/invoices", s3_server.settings())
    return root, LandingFolder(root, index=tmp_path / "state" / "landing.sqlite")


def _calls(server, before: dict[str, float]) -> dict[str, float]:
    after = server.requests()
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def test_new_objects_are_seen_once_and_an_idle_look_only_lists(s3_server, landing) -> None:
    root, folder = landing
    root.write_bytes("invoices_2026-11-01.csv", b"a\n1\n")
    root.write_bytes("invoices_2026-11-02.csv", b"a\n2\n")
    first = folder.changes(0)
    assert [(f.rel, f.sha256) for f in first.files] == [
        ("invoices_2026-11-01.csv", hashlib.sha256(b"a\n1\n").hexdigest()),
        ("invoices_2026-11-02.csv", hashlib.sha256(b"a\n2\n").hexdigest())]
    assert first.hashed == 2
    # hashed in the same second as they were written (a bucket's Last-Modified has whole
    # seconds): hashed once more on a look past that window, nothing new, then left alone
    time.sleep(2.1)
    again = folder.changes(first.seq)
    assert (again.files, again.hashed) == ([], 2)
    before = s3_server.requests()
    idle = folder.changes(first.seq)
    assert (idle.files, idle.hashed, idle.seq) == ([], 0, first.seq)
    calls = _calls(s3_server, before)
    assert calls == {"LIST": 1}, calls  # one listing, no GET, no HEAD


def test_same_bytes_again_is_nothing_new_other_bytes_are(landing) -> None:
    root, folder = landing
    root.write_bytes("invoices_2026-11-01.csv", b"a\n1\n")
    seq = folder.changes(0).seq
    root.write_bytes("invoices_2026-11-01.csv", b"a\n1\n")  # the same bytes, uploaded again
    again = folder.changes(seq)
    assert again.files == [] and again.seq == seq
    root.write_bytes("invoices_2026-11-01.csv", b"a\n1\n3\n")  # replaced
    replaced = folder.changes(seq)
    assert [f.sha256 for f in replaced.files] == [hashlib.sha256(b"a\n1\n3\n").hexdigest()]


def test_temporary_hidden_and_private_names_are_ignored(landing) -> None:
    root, folder = landing
    for name in (".invoices_2026-11-01.csv", "invoices_2026-11-01.csv.part", "x.tmp",
                 "_rejected/invoices_2026-11-03.csv", "deeper/invoices_2026-11-04.csv"):
        root.write_bytes(name, b"a\n")
    root.write_bytes("invoices_2026-11-05.csv", b"a\n5\n")
    assert [f.rel for f in folder.changes(0).files] == ["invoices_2026-11-05.csv"]
    assert [rel for rel, _ in folder.present()] == ["invoices_2026-11-05.csv"]


def test_a_bad_object_is_moved_aside_with_its_reason(landing) -> None:
    root, folder = landing
    root.write_bytes("invoices_bad.csv", b"nonsense")
    [landed] = folder.changes(0).files
    moved = folder.reject(landed.path, "invoices_bad.csv: no sync date in the name")
    assert str(moved).endswith("landing/invoices/_rejected/invoices_bad.csv")
    assert [e.rel for e in root.list()] == ["_rejected/invoices_bad.csv",
                                             "_rejected/invoices_bad.csv.reason.txt"]
    reason = root.read_bytes("_rejected/invoices_bad.csv.reason.txt").decode()
    assert reason.startswith("invoices_bad.csv: no sync date in the name\nmoved aside from")
    assert folder.files() == []


def test_the_store_down_for_a_look_then_caught_up(s3_server, landing) -> None:
    root, folder = landing
    root.write_bytes("invoices_2026-11-01.csv", b"a\n1\n")
    seq = folder.changes(0).seq
    with s3_server.stopped():
        with pytest.raises(StoreUnavailable, match="landing/invoices"):
            folder.changes(seq)
    root.write_bytes("invoices_2026-11-02.csv", b"a\n2\n")
    assert [f.rel for f in folder.changes(seq).files] == ["invoices_2026-11-02.csv"]


def test_a_reader_gets_the_bytes_the_sensor_saw(landing) -> None:
    root, folder = landing
    root.write_bytes("invoices_2026-11-01.csv", b"a\n1\n")
    [landed] = folder.changes(0).files
    with folder.local_copy(landed.rel, landed.sha256) as path:
        assert path.read_bytes() == b"a\n1\n"
    assert not path.exists()  # the temporary copy is gone after the block
    root.write_bytes("invoices_2026-11-01.csv", b"a\n9\n")  # replaced meanwhile
    with pytest.raises(ContentChanged, match="content changed"):
        with folder.local_copy(landed.rel, landed.sha256):
            pass
    # same size, same second: only the next look past that second can tell
    assert folder.unready([landed.rel]) == {landed.rel: (
        "hashed within a second of its upload (hashed again on a coming look)")}
    time.sleep(2.1)
    [seen] = folder.changes(landed.seq).files
    assert seen.sha256 == hashlib.sha256(b"a\n9\n").hexdigest()
    assert folder.unready([landed.rel]) == {}
