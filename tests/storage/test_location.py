"""`resources.lib.storage.Location`: the same behaviour on a local folder and on a bucket of
a real S3-compatible store (SeaweedFS, tests/servers/s3.py)."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from resources.lib.storage import Location, StoreSettings


@pytest.fixture(params=["local", "s3"])
def where(request: pytest.FixtureRequest, tmp_path) -> Location:
    if request.param == "local":
        return Location(tmp_path / "root")
    server = request.getfixturevalue("s3_server")
    return Location(f"s3://{server.bucket()}/some/prefix", server.settings())


@pytest.mark.integration
def test_write_list_read_move_delete(where: Location) -> None:
    assert where.list() == []  # a location that does not exist yet is empty
    where.write_bytes("invoices/a.csv", b"h\n1\n")
    where.write("product_views/Web/b.json", lambda tmp: tmp.write_bytes(b"[1]"))
    listed = where.list()
    assert [(e.rel, e.size) for e in listed] == [("invoices/a.csv", 4),
                                                 ("product_views/Web/b.json", 3)]
    assert all(e.mtime_ns > 0 for e in listed)
    assert [e.rel for e in where.child("invoices").list()] == ["a.csv"]
    assert where.read_bytes("invoices/a.csv") == b"h\n1\n"
    assert where.sha256("invoices/a.csv") == hashlib.sha256(b"h\n1\n").hexdigest()
    where.move("invoices/a.csv", "invoices/_rejected/a.csv")
    assert not where.exists("invoices/a.csv")
    assert where.read_bytes("invoices/_rejected/a.csv") == b"h\n1\n"
    where.delete("invoices/_rejected/a.csv")
    assert [e.rel for e in where.list()] == ["product_views/Web/b.json"]


@pytest.mark.integration
def test_a_failed_write_leaves_the_old_content(where: Location) -> None:
    where.write_bytes("serving/x.parquet", b"old")

    def half(tmp) -> None:
        tmp.write_bytes(b"half of the new")
        raise RuntimeError("the writer failed")

    with pytest.raises(RuntimeError):
        where.write("serving/x.parquet", half)
    assert where.read_bytes("serving/x.parquet") == b"old"
    assert [e.rel for e in where.list()] == ["serving/x.parquet"]  # no temporary left


@pytest.mark.integration
def test_parquet_round_trip_through_the_location(where: Location) -> None:
    table = pa.table({"n": list(range(10_000)), "s": ["x" * 30] * 10_000})
    where.write("lake/t.parquet", lambda tmp: pq.write_table(table, tmp))
    with where.open("lake/t.parquet") as handle:
        assert pq.read_table(handle).equals(table)


def test_the_secret_is_never_shown() -> None:
    settings = StoreSettings("http://127.0.0.1:9000", "key-id", "Sup3r-secret", "eu-west-1")
    where = Location("s3://bucket/prefix", settings)
    for shown in (repr(settings), repr(where), where.describe("a.csv"), where.url):
        assert "Sup3r-secret" not in shown
    assert where.describe("a.csv") == "s3://bucket/prefix/a.csv (at http://127.0.0.1:9000)"
    assert settings.storage_options()["AWS_ALLOW_HTTP"] == "true"
