"""The late_payments pipeline on the Spark cluster gives the embedded engine's exact tables.

The same extracts (the generator's messy set, plus hand-written edge cases appended to it:
multi-line quoted fields, records with too few / too many fields, duplicate keys, bad and
odd dates and numbers, instalment `payment_dates` lists, unknown SKUs and invoices, a
reordered header with an extra column) go through both engines, each on its own data root;
every `late_payments.*` table must have the same rows, the same physical line numbers and
reasons in `rejected_rows`, and the same DuckDB column types.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets import domain_assets
from assets.late_payments import spark_casts
from assets.late_payments.common import key
from cli.contract import digest_lines
from cli.generators.late_payments import write_extracts
from resources import PlatformPaths, SparkResource, Warehouse
from tests.late_payments.conftest import materialize

pytestmark = pytest.mark.integration

TABLES = ("stg_accounts", "stg_skus", "stg_invoices", "stg_invoice_line_items",
          "fct_invoice_lines", "invoice_features", "rejected_rows")  # fmt: skip

ACCOUNTS = (  # appended to the generator's accounts.csv (ids 1..41)
    '900001,"Edge, Inc","1 Road\nTown",Bob,123,M,2019-01-01\n'  # two physical lines
    " 900002 , B ,x,Al,1,F, 2019-02-01 \n"  # whitespace only: staged
    'three,C,"y\nz\nw",Q,1,F,2019-01-01\n'  # bad id, three lines
    "900004,D,short\n"  # too few fields
    '900005,"E ""q""\nx",e,E,1,M,2019-03-01,extra,more\n'  # too many, two lines
    "1,dup,a,b,c,M,2019-01-01\n"  # duplicate of the generator's account 1
    "900006,F,f,F,1,M,2019-02-30\n900007,G,g,G,1,M,2019/03/01 10:00\n"
    "900008,H,h,H,1,M,\n,I,i,I,1,M,2019-01-01\n1.5,J,j,J,1,M,2019\n900009,K,k,K,1,M,-epoch\n"
)
SKUS = [  # (item_id, item_name, item_description, item_cost_price, item_retail_price)
    ("A", "Apple", "red, round", "1.00", "10.10"), ("B", "Pear", 'green\n"ripe"', "2", "0.335"),
    (" C ", "Plum", "p", "-1", "5"), ("D", "Fig", "f", "1", "-5"), ("E", "Kiwi", "k", "abc", "5"),
    ("F", "Lime", "l", "1", ""), ("G", "Date", "d", "1", "1_0"), ("H", "Sloe", "s", " 1e2 ", "1e2"),
    (" A", "dupA", "x", "1", "1"), ("I", "Yuzu", "y", "0.33555", "0.33545"),
    ("J", "Nut", "n", "", "99999999999999.99995"), ("K", "Oat", "o", ".5", "+7."),
]  # fmt: skip
INVOICES = (  # appended to invoices.csv
    "900101,900001,2020-03-01,2020-03-05\n900102,900001,2020-06-29,2020-07-01;2020-08-15\n"
    '900103,900001,2020-06-30,"[2020-07-01, 2020-07-20]"\n'
    '900104,900001,2020-06-30,"2020-07-02,2020-08-02"\n900105,900001,2020-06-19,   \n'
    "900106,900002,2020-06-19,2020-07-01|2020-07-03\n900107,900002,2020-06-19,garbage\n"
    "900108,900002,2020-06-19,2020-07-01;bad\n900109,900002,2020-06-19,2020/07/01\n"
    "900110,900002,2020-06-19,2020-07-01 10:00:00\n900111,900002,2020-02-30,\n"
    "900112,900002,2020,\n900113.5,900002,2020-05-01,\n0x10,900002,2020-05-01,\n"
    "+900114,900002,2020-05-01,2020-05-02\n 900115 ,900002, 2020-05-01 ,\n"
    "900101,900002,2020-05-01,2020-05-02\n900116,,2020-05-01,\n900117,abc,2020-05-01,\n"
    '900118,999,2020-05-01,2020-05-01\n900119,900002,2020-05-01,"2020-05-01\n2020-06-01"\n'
    "900120,900002,2020-05-01,[]\n900121,900002,2020-05-01,\"['2020-05-03', '2020-05-04']\"\n"
    "900122,900002,2020-05-01,2020-05-03,extra\n900123,900002\n"
    "900124,900002,9999-12-31,\n900125,900002,2020-05-01,\"['2020-05-03', '9999-12-31']\"\n"
)
LINES = (  # appended to invoice_line_items.csv
    "900101,A,2\n900101,B,3\n900102,NOPE,1\n999999,A,2\n900103,A,-1\n900104,B,2.5\n"
    "900105,,1\n900106,A,1e1\n900107, B ,1\n900108,A\n900109,A,1,2\n900110,A,\n900111,A,x\n"
    "900114,H,3\n900115,K,1\n"
)


def _edge_cases(landing: Path) -> None:
    """Append the hand-written rows; rewrite skus.csv with a reordered, differently spelled
    header (matched trimmed and case-insensitively; one description spans two lines, which
    the physical line of the broken record after it must count)."""
    for name, text in (("accounts", ACCOUNTS), ("invoices", INVOICES),
                       ("invoice_line_items", LINES)):  # fmt: skip
        with (landing / f"{name}.csv").open("a") as f:
            f.write(text)
    path = landing / "skus.csv"
    with path.open(newline="") as f:
        rows = list(csv.reader(f))[1:] + [list(row) for row in SKUS]
    with path.open("w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["item_retail_price", " Item_ID ", "item_name",
                      "item_description", "ITEM_COST_PRICE"])  # fmt: skip
        split = len(rows) - len(SKUS)
        out.writerows([r[4], r[0], r[1], "two\nlines" if i == split else r[2], r[3]]
                      for i, r in enumerate(rows))  # fmt: skip
        f.write("9,Z,Zed\n")  # too few fields, after a line break in a description


def _run(root: Path, spark: SparkResource,
         store: dict[str, str] | None = None) -> tuple[PlatformPaths, object]:
    """`store`: the lake on that bucket (`lake_url` and the `aws_*` settings)."""
    paths = PlatformPaths(data_dir=str(root), landing_settle_seconds=0, landing_sweep_seconds=0,
                          **(store or {}))
    write_extracts(paths.landing("retail"), invoices=600, messy=True)
    _edge_cases(paths.landing("retail"))
    result = materialize(paths, Warehouse(database=str(paths.warehouse)), spark)
    assert result.success
    return paths, result


def _schema(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {t: conn.execute(f"DESCRIBE late_payments.{t}").fetchall() for t in TABLES}


@pytest.mark.parametrize("lake_on", ["disk", "store"])
def test_both_engines_give_the_same_tables_types_and_rejected_lines(tmp_path, lake_on, request):
    """`store`: the Spark side's lake on a bucket (extracts uploaded for the cluster, its
    Parquet written through `s3a://`), nothing of it on this disk."""
    store = None
    if lake_on == "store":
        spark = request.getfixturevalue("spark_on_store")
        server = request.getfixturevalue("s3_server")
        store = {"lake_url": f"s3://{server.bucket()}/lake",
                 **{k.lower(): v for k, v in server.env().items()}}
    else:
        spark = request.getfixturevalue("spark")
    embedded, _ = _run(tmp_path / "embedded", SparkResource())
    on_spark, result = _run(tmp_path / "spark", spark, store)

    def lines(p: PlatformPaths) -> list[str]:
        return [x for x in digest_lines(str(p.warehouse)) if x.startswith("late_payments.")]

    assert len(lines(embedded)) == len(TABLES)
    assert lines(on_spark) == lines(embedded)
    assert _schema(on_spark.warehouse) == _schema(embedded.warehouse)
    with duckdb.connect(str(on_spark.warehouse), read_only=True) as conn:
        rejected = {(f, line): reason for f, line, reason in conn.execute(
            "SELECT file, line, reason FROM late_payments.rejected_rows").fetchall()}  # fmt: skip
    landing = on_spark.landing("retail")
    first = len((landing / "accounts.csv").read_text().splitlines()) - ACCOUNTS.count("\n") + 4
    assert rejected["accounts.csv", first] == "account_id is not bigint: three"
    assert rejected["accounts.csv", first + 3] == "Expected Number of Columns: 7 Found: 3"
    assert rejected["accounts.csv", first + 4] == "Expected Number of Columns: 7 Found: 8"
    assert rejected["accounts.csv", first + 6] == "duplicate account_id 1 (first at line 2)"
    last = len((landing / "skus.csv").read_text().splitlines())
    assert rejected["skus.csv", last] == "Expected Number of Columns: 5 Found: 3"
    lake = on_spark.lake_location("late_payments")
    for table in TABLES[:-1]:
        assert any(e.rel.endswith(".parquet") for e in lake.child(table).list(recursive=False)), \
            table
    assert not lake.child("_spark_staging").list()  # the uploaded extracts are gone
    assert lake.is_local == (store is None)
    if store:
        assert not (tmp_path / "spark" / "lake").exists()
    events = result.get_asset_materialization_events()
    engines = {e.event_specific_data.materialization.metadata["engine"].value for e in events}
    assert engines == {spark.describe()} and len(events) == 6


def test_a_bad_file_is_moved_aside_on_spark_too(tmp_path, spark):
    paths = PlatformPaths(data_dir=str(tmp_path), landing_settle_seconds=0)
    landing = paths.landing("retail")
    write_extracts(landing, invoices=100, messy=True)
    (landing / "invoices.csv").write_text("invoice_id,account_id,payment_dates\n1,1,\n")
    resources = {"paths": paths, "warehouse": Warehouse(database=str(paths.warehouse)),
                 "spark": spark}  # fmt: skip
    stg_invoices = [a for a in domain_assets("late_payments") if a.key == key("stg_invoices")]
    result = dg.materialize(stg_invoices, resources=resources, raise_on_error=False)
    assert not result.success
    failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1 and "invoices.csv" in failures[0]
    reason = (landing / "_rejected" / "invoices.csv.reason.txt").read_text()
    assert "missing column(s) date_issued" in reason
    assert not (landing / "invoices.csv").exists()


def _corpus(seed: int = 7, size: int = 3000) -> list[str]:
    """Numbers and dates DuckDB and Spark spell differently, random combinations of them."""
    rnd = random.Random(seed)
    tokens = ["0", "1", "12", "2019", "-", "/", " ", "\\", ".", "e", "+", "_", "x", "0x", "T",
              ":", "00", "24", "31", "29", "02", "13", "(BC)", " (BC)", "Z", "\t", "2019-01-01",
              "2020-02-29", "epoch", "1e3", "99999999999999999999", " 00:00:00", "1:1"]
    out = ["1.5", "-0.5", "2.5", "1_000", "0x1F", "0b101", " 7 ", "1e3.", "2019", "2019-1-1",
           "2019/01/02", "-2019-01-01", "2019-01-01 (BC)", "2019-01-01 24:00:00", "epoch"]
    out += ["".join(rnd.choice(tokens) for _ in range(rnd.randint(1, 6))) for _ in range(size)]
    return list(dict.fromkeys(out))  # fmt: skip


def test_spark_casts_follow_duckdb_on_a_corpus(spark):
    values = _corpus()
    exprs = {"BIGINT": spark_casts.bigint("v"),
             "DECIMAL(18,4)": spark_casts.decimal("v", "DECIMAL(18,4)"),
             "DATE": f"datediff({spark_casts.date('v')}, DATE'1970-01-01')"}  # fmt: skip
    frame = spark.session().createDataFrame(list(enumerate(values)), "o INT, v STRING")
    got = frame.selectExpr("o", *[f"CAST(({e}) AS STRING) AS `{t}`" for t, e in exprs.items()])
    by_spark = {row[0]: tuple(row[1:]) for row in got.collect()}
    duck = duckdb.connect()
    expected = duck.execute(
        "SELECT try_cast(v AS BIGINT)::VARCHAR, try_cast(v AS DECIMAL(18,4))::VARCHAR, "
        "(try_cast(v AS DATE) - DATE '1970-01-01')::VARCHAR "
        "FROM unnest(?) WITH ORDINALITY u(v, o) ORDER BY o",
        [values],
    ).fetchall()
    pairs = enumerate(zip(values, expected, strict=True))
    differences = [(v, e, by_spark[i]) for i, (v, e) in pairs if tuple(e) != by_spark[i]]
    assert differences == []
