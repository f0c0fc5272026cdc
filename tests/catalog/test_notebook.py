"""docs/commerce.ipynb runs on the demo's catalog in a kernel of this interpreter (nbclient),
with no cell error, and shows the API's top 3 industries (and CTR totals, once the CTR
tables are published); with Trino at hand its Trino cell runs too."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from fastapi.testclient import TestClient
from nbclient import NotebookClient

from api.main import create_app
from resources import PlatformPaths
from tests.catalog.test_sql_doc import BLOCKS, api_top3
from tests.servers import in_ci

DOCS = Path(__file__).resolve().parents[2] / "docs"
NOTEBOOK = DOCS / "commerce.ipynb"
KERNEL = "commerce-platform"  # the notebook's kernelspec; `make notebook` installs it too


@contextmanager
def _trino_url(request: pytest.FixtureRequest, data: Path) -> Iterator[str | None]:
    """A Trino URL with `commerce` on the demo's catalog; None without Trino (outside CI:
    in CI the fixture fails instead of skipping)."""
    try:
        server = request.getfixturevalue("trino_server")
    except pytest.skip.Exception:
        yield None
        return
    from tests.servers.trino import TestCatalogs

    catalogs = TestCatalogs(server)
    catalogs.catalog(PlatformPaths(data_dir=str(data)).catalog())
    yield server.url
    catalogs.close()


@pytest.fixture(scope="module")
def executed(after_demo: tuple[Path, Path], request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[nbformat.NotebookNode]:
    """The notebook after running every cell (cwd docs/; PLATFORM_DATA_DIR = the demo's)."""
    from ipykernel.kernelspec import install

    prefix = tmp_path_factory.mktemp("kernel")
    install(prefix=str(prefix), kernel_name=KERNEL)  # argv: this interpreter (sys.executable)
    spec = (prefix / "share" / "jupyter" / "kernels" / KERNEL / "kernel.json").read_text()
    assert sys.executable in spec.replace("\\\\", "\\")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
        env.setenv("PLATFORM_DATA_DIR", str(after_demo[1]))
        env.delenv("ICEBERG_CATALOG_URL", raising=False)
        env.delenv("LAKE_URL", raising=False)
        with _trino_url(request, after_demo[1]) as url:
            if url:
                env.setenv("TRINO_URL", url)
            else:
                env.delenv("TRINO_URL", raising=False)
            nb = nbformat.read(NOTEBOOK, as_version=4)
            NotebookClient(nb, kernel_name=KERNEL, timeout=120,
                           resources={"metadata": {"path": str(DOCS)}}).execute()
            yield nb


def tagged(nb: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    (cell,) = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    return cell


def table_rows(cell: nbformat.NotebookNode) -> list[list[str]]:
    """The rows of the Polars frame(s) a cell shows (their text/plain), cells as text."""
    rows = []
    for output in cell.outputs:
        text = output.get("data", {}).get("text/plain", "")
        body = text.partition("╞")[2].partition("\n")[2].partition("└")[0]
        rows += [[v.strip() for v in line.strip("│ ").split("┆")]
                 for line in body.splitlines() if line.strip()]
    return rows


def test_the_notebook_shows_the_api_s_top3(executed, after_demo: tuple[Path, Path]) -> None:  # noqa: ANN001
    want = api_top3(TestClient(create_app(str(after_demo[1]))))
    got = [(int(rank), industry, float(change))
           for rank, industry, change, *_ in table_rows(tagged(executed, "top3"))]
    assert got == want and len(want) == 3
    trino = tagged(executed, "trino")
    assert trino.source.split('"""')[1].strip() == BLOCKS["top3"]  # docs/sql.md's query
    if any("TRINO_URL is not set" in o.get("text", "") for o in trino.outputs):
        assert not in_ci()  # no Trino here; in CI its fixture fails instead
    else:
        assert [r[1] for r in table_rows(trino)] == [industry for _, industry, _ in want]


def test_the_notebook_shows_the_api_s_ctr(executed, after_demo: tuple[Path, Path]) -> None:  # noqa: ANN001
    rows = table_rows(tagged(executed, "ctr"))
    assert rows, "the notebook's CTR cell shows no rows"
    start, end = re.search(r"range ([\d-]+ [\d:]+) to ([\d-]+ [\d:]+)", "".join(
        o.get("text", "") for o in tagged(executed, "ctr").outputs)).groups()
    params = {"startTimestamp": start, "endTimestamp": end, "aggregation": 1440}
    answer = TestClient(create_app(str(after_demo[1]))).get("/ctr", params=params).json()
    want: dict[str, list[int]] = {}
    for r in answer:
        totals = want.setdefault(r["platform"], [0, 0])
        totals[0], totals[1] = totals[0] + r["purchases"], totals[1] + r["views"]
    assert {p: [int(b), int(v)] for p, b, v in rows} == want and want
