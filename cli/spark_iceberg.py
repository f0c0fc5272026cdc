"""The `commerce` catalog class of the Spark cluster (`commerce.iceberg.SparkTableCatalog`,
sources in cli/java/): compiled once with the JDK's javac against pyspark's jars and Iceberg's
Spark runtime, cached next to the extra jars (a few seconds, the first time only).

Iceberg publishes no runtime for Spark 4.2; its Spark 4.1 runtime's `SparkCatalog` does not
load in 4.2 (docs/catalog.md, "Spark SQL on the catalog"), its tables' read and write code
does, behind this small catalog. Standard library only, as cli/spark_cluster.py.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCES = Path(__file__).with_name("java")
CATALOG_CLASS = "commerce.iceberg.SparkTableCatalog"


def _tool(name: str) -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / name).exists():
        return str(Path(home) / "bin" / name)
    return shutil.which(name)


def _key(runtime: Path, spark_jars: Path) -> str:
    """What the compiled classes depend on: the sources, the runtime, Spark's catalyst jar."""
    digest = hashlib.sha256()
    for path in sorted(SOURCES.rglob("*.java")):
        digest.update(path.read_bytes())
    digest.update(runtime.name.encode())
    digest.update(",".join(sorted(p.name for p in spark_jars.glob("spark-catalyst*.jar"))).encode())
    return digest.hexdigest()[:12]


def catalog_jar(extra: Path, spark_jars: Path) -> Path:
    """The catalog's jar for Iceberg's runtime in `extra` (the resolved extra jars) and the
    Spark of `spark_jars` (built when missing). Raises when there is no JDK (javac, jar)."""
    runtime = next(extra.glob("iceberg-spark-runtime-*.jar"), None)
    if runtime is None:
        raise RuntimeError(f"no iceberg-spark-runtime jar in {extra}")
    target = extra.parent / f"commerce-iceberg-catalog-{_key(runtime, spark_jars)}.jar"
    if target.exists():
        return target
    javac, jar = _tool("javac"), _tool("jar")
    if not javac or not jar:
        raise RuntimeError("the commerce catalog class needs a JDK (javac and jar on PATH)")
    with tempfile.TemporaryDirectory(dir=extra.parent) as work:
        classes = Path(work) / "classes"
        sources = [str(p) for p in sorted(SOURCES.rglob("*.java"))]
        classpath = os.pathsep.join([str(spark_jars / "*"), str(runtime)])
        for command in ([javac, "-nowarn", "--release", "17", "-d", str(classes),
                         "-cp", classpath, *sources],
                        [jar, "cf", str(Path(work) / "catalog.jar"), "-C", str(classes), "."]):
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode:
                raise RuntimeError(f"{Path(command[0]).name} failed:\n{done.stderr[-2000:]}")
        (Path(work) / "catalog.jar").rename(target)
    return target
