"""The docker deployment: the compose file is complete, and Dagster works on PostgreSQL.

No Docker engine runs on the CI machine, so the compose file is checked by parsing it; the
Dagster instance of the deployment (docker/dagster.yaml, dagster-postgres storage) is
exercised for real against the PostgreSQL of the test fixtures.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import logging
import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import dagster as dg
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "docker-compose.yml"

SERVERS = {"postgres", "mongodb", "kafka", "object-store"}
PLATFORM = {"user-code", "dagster-webserver", "dagster-daemon", "ctr-api", "order-generator",
            "buckets"}
# Clients with nothing to probe: the generator only produces to Kafka.
NO_HEALTHCHECK = {"order-generator", "seed"}
# Variables the platform needs beyond what resources/ reads (Dagster's own storage).
EXTRA_ENV = {"DAGSTER_PG_URL"}
# The Spark cluster the heavy steps run on (Spark Connect), in start order.
SPARK = ("spark-master", "spark-worker", "spark-connect")
# Delta Lake and the Kafka source, as the local cluster (cli/spark_cluster.py) resolves them.
SPARK_POM = ROOT / "cli" / "spark_jars.xml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def env_vars_read_by_resources() -> set[str]:
    """Every environment variable named in resources/: os.environ.get/[], os.getenv, and the
    `from_env("NAME", ...)` factories that take the variable name as their first argument."""
    names: set[str] = set()
    for path in (ROOT / "resources").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            arg = None
            if isinstance(node, ast.Call) and node.args:
                func = ast.unparse(node.func)
                if func in {"os.environ.get", "os.getenv", "environ.get"} or func.endswith(
                    "from_env"
                ):
                    arg = node.args[0]
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                arg = node.slice
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                if re.fullmatch(r"[A-Z][A-Z0-9_]+", arg.value):
                    names.add(arg.value)
    return names | store_env_vars()


def store_env_vars() -> set[str]:
    """The `AWS_*` variables the store settings are read from (resources/bindings.py binds
    them by an f-string, which the walk above cannot see)."""
    from resources.lib.storage import StoreSettings

    return {f"AWS_{f.upper()}" for f in StoreSettings.__dataclass_fields__}


# May be empty: only temporary credentials (AWS STS) have a session token.
OPTIONAL_ENV = {"AWS_SESSION_TOKEN"}


def command_text(service: dict) -> str:
    cmd = service.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else str(cmd)


# `source:target[:mode]`, where the source may be `${VAR:-default}` (colons inside).
VOLUME = re.compile(r"(?P<source>\$\{[^}]*\}[^:]*|[^:]+):(?P<target>/[^:]*)(?::(?P<mode>\w+))?")


def mounts(service: dict) -> dict[str, tuple[str, str | None]]:
    """target -> (source, mode) of a service's short-syntax volumes."""
    found = {}
    for spec in service.get("volumes") or []:
        m = VOLUME.fullmatch(spec)
        assert m, f"cannot read volume {spec!r}"
        found[m["target"]] = (m["source"], m["mode"])
    return found


def option(command: list[str], name: str) -> str:
    """The value after the only `name` in a command list."""
    at = [i for i, arg in enumerate(command) if arg == name]
    assert len(at) == 1, f"{name} given {len(at)} times"
    return command[at[0] + 1]


def spark_conf(command: list[str]) -> dict[str, str]:
    pairs = [command[i + 1] for i, arg in enumerate(command) if arg == "--conf"]
    assert all("=" in p for p in pairs), pairs
    conf = dict(p.split("=", 1) for p in pairs)
    assert len(conf) == len(pairs), "a --conf key given twice"
    return conf


def variable_default(value: str) -> str:
    """`${VAR:-default}` -> default (what the compose file uses without docker/.env)."""
    m = re.fullmatch(r"\$\{[A-Z][A-Z0-9_]*:-([^}]+)\}", value)
    assert m, f"{value!r} is not a variable with a default"
    return m[1]


def size_bytes(size: str) -> int:
    m = re.fullmatch(r"(\d+)([kmgt])", size.lower())
    assert m, size
    return int(m[1]) * 1024 ** "kmgt".index(m[2]) * 1024


def seconds(duration: str) -> int:
    parts = re.findall(r"(\d+)([hms])", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def spark_pom() -> tuple[str, set[str]]:
    """The Spark version and the extra packages (group:artifact:version) of the local
    cluster's cli/spark_jars.xml."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.fromstring(SPARK_POM.read_text())
    props = {el.tag.split("}")[1]: el.text for el in root.find("m:properties", ns)}

    def text(dep: ET.Element, key: str) -> str:
        return re.sub(r"\$\{([^}]+)\}", lambda m: props[m[1]], dep.find(f"m:{key}", ns).text)

    packages = {
        ":".join(text(dep, key) for key in ("groupId", "artifactId", "version"))
        for dep in root.iterfind("m:dependencies/m:dependency", ns)
    }
    return props["spark.version"], packages


def test_every_service_the_platform_needs_is_present(compose: dict) -> None:
    services = compose["services"]
    assert SERVERS | PLATFORM <= set(services), sorted(SERVERS | PLATFORM - set(services))
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["mongodb"]["image"].startswith("mongo:")
    assert services["object-store"]["image"].startswith("chrislusf/seaweedfs:")
    assert "dagster-webserver" in command_text(services["dagster-webserver"])
    assert "dagster-daemon run" in command_text(services["dagster-daemon"])
    assert "code-server start" in command_text(services["user-code"])
    assert "uvicorn api.main:app" in command_text(services["ctr-api"])
    assert "-m cli.orders_stream" in command_text(services["order-generator"])


def test_health_checks_and_start_order(compose: dict) -> None:
    services = compose["services"]
    for name, service in services.items():
        if name not in NO_HEALTHCHECK:
            test = service.get("healthcheck", {}).get("test")
            assert test, f"{name} has no health check"
        for dep, spec in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert "healthcheck" in services[dep], f"{name} waits for {dep}, which has none"
            assert spec == {"condition": "service_healthy"}, (name, dep, spec)
    user_code_deps = set(services["user-code"]["depends_on"])
    assert SERVERS <= user_code_deps
    for name in ("dagster-webserver", "dagster-daemon"):
        assert {"postgres", "user-code"} <= set(services[name]["depends_on"])
    assert "kafka" in services["order-generator"]["depends_on"]


def test_user_code_gets_every_variable_the_resources_read(compose: dict) -> None:
    needed = env_vars_read_by_resources()
    # The spec's variables; if resources/ stops reading one, this test must be revisited.
    assert {
        "PLATFORM_DATA_DIR", "INVOICES_DB_URL", "PURCHASES_DB_URL", "ECOMMERCE_DB_URL",
        "KAFKA_BOOTSTRAP_SERVERS", "ORDERS_TOPIC", "MONGODB_URI", "MONGODB_DATABASE",
    } <= needed
    for name in ("user-code", "dagster-daemon", "dagster-webserver"):
        env = compose["services"][name]["environment"]
        missing = (needed | EXTRA_ENV) - set(env)
        assert not missing, f"{name} lacks {sorted(missing)}"
        assert all(str(env[k]).strip() for k in needed | EXTRA_ENV - OPTIONAL_ENV)
    env = compose["services"]["user-code"]["environment"]
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert "@mongodb:27017" in env["MONGODB_URI"]
    for var, db in (
        ("DAGSTER_PG_URL", "dagster"),
        ("INVOICES_DB_URL", "invoices"),
        ("PURCHASES_DB_URL", "purchases"),
        ("ECOMMERCE_DB_URL", "ecommerce"),
    ):
        assert env[var].startswith(("postgresql://", "postgresql+psycopg2://")), env[var]
        assert env[var].endswith(f"@postgres:5432/{db}")
        # The init script creates every database the URLs name.
        assert db in (DOCKER / "postgres" / "init-databases.sh").read_text()


def test_landing_folder_is_a_host_mount_where_sensors_and_runs_see_it(compose: dict) -> None:
    for name in ("user-code", "dagster-daemon"):
        service = compose["services"][name]
        data_dir = service["environment"]["PLATFORM_DATA_DIR"]
        mounts = {v.rsplit(":", 1)[-1]: v.rsplit(":", 1)[0] for v in service["volumes"]}
        source = mounts.get(f"{data_dir}/landing")
        assert source is not None, f"{name}: no mount at {data_dir}/landing"
        assert "/" in source or source.startswith("${"), "landing must be a host path"


def test_images_built_from_the_repository_pyproject(compose: dict) -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "COPY pyproject.toml" in dockerfile and "pip install" in dockerfile
    for name in PLATFORM:
        build = compose["services"][name]["build"]
        assert (COMPOSE.parent / build["context"] / "pyproject.toml").exists()
        dockerfile_path = (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve()
        assert dockerfile_path == DOCKER / "Dockerfile"


def test_no_credentials_committed(compose: dict) -> None:
    text = COMPOSE.read_text()
    assert not re.search(r"(PASSWORD|_USER)\s*:\s*[^$\s{][^\s]*$", text, re.M), "literal secret"
    for url in re.findall(r"(?:postgresql(?:\+\w+)?|mongodb)://\S+", text):
        assert url.split("://", 1)[1].startswith("${"), f"credentials in {url}"
    example = (DOCKER / ".env.example").read_text()
    for var in ("POSTGRES_USER", "POSTGRES_PASSWORD", "MONGO_USER", "MONGO_PASSWORD"):
        assert re.search(rf"^{var}=\S+", example, re.M), var
        assert f"${{{var}" in text
    assert "change-me" in example


def test_dagster_instance_and_workspace_config(compose: dict) -> None:
    config = yaml.safe_load((DOCKER / "dagster.yaml").read_text())
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "DAGSTER_PG_URL"}
    root = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert config["concurrency"] == root["concurrency"]
    assert config["nux"] == root["nux"] == {"enabled": False}  # no community dialog
    workspace = yaml.safe_load((DOCKER / "workspace.yaml").read_text())
    grpc = workspace["load_from"][0]["grpc_server"]
    assert grpc["host"] in compose["services"]
    assert f"-p {grpc['port']}" in " ".join(compose["services"]["user-code"]["command"])


def test_the_instance_shows_no_community_dialog(tmp_path: Path) -> None:
    """The UI asks the instance (`nux_enabled`) whether to greet a new browser with "Join the
    Dagster community": the platform's instance says no (issue 26)."""
    import dagster as dg

    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.nux_enabled is False


# --- The Spark cluster (Spark Connect) ------------------------------------------------------


def test_spark_cluster_on_the_official_image(compose: dict) -> None:
    services = compose["services"]
    assert set(SPARK) <= set(services), sorted(set(SPARK) - set(services))
    spark_version, _ = spark_pom()
    # The server is the same Spark as the pinned pyspark client and the local cluster.
    assert f'"pyspark[connect]=={spark_version}"' in (ROOT / "pyproject.toml").read_text()
    for name in SPARK:
        assert services[name]["image"] == f"apache/spark:{spark_version}", name
        assert "build" not in services[name], f"{name}: the official image, not a build"

    master = services["spark-master"]["command"]
    assert "org.apache.spark.deploy.master.Master" in master
    master_url = f"spark://spark-master:{option(master, '--port')}"
    assert master_url == "spark://spark-master:7077"

    worker = services["spark-worker"]["command"]
    assert "org.apache.spark.deploy.worker.Worker" in worker
    assert master_url in worker
    assert int(variable_default(option(worker, "--cores"))) >= 1
    worker_memory = size_bytes(variable_default(option(worker, "--memory")))

    connect = services["spark-connect"]["command"]
    assert connect[0].endswith("/bin/spark-submit")
    assert option(connect, "--master") == master_url
    assert option(connect, "--class") == "org.apache.spark.sql.connect.service.SparkConnectServer"
    # An executor must fit on the worker, or no query ever runs.
    executor_memory = variable_default(spark_conf(connect)["spark.executor.memory"])
    assert size_bytes(executor_memory) <= worker_memory


def test_spark_connect_has_delta_and_the_extra_packages(compose: dict) -> None:
    from cli.spark_cluster import connect_conf

    service = compose["services"]["spark-connect"]
    command = service["command"]
    _, pom_packages = spark_pom()
    artifacts = {package.split(":")[1].rsplit("_", 1)[0] for package in pom_packages}
    # the local cluster also carries the `commerce` catalog's jars (docs/catalog.md, Spark
    # SQL); the compose cluster does not (its catalog class is built here): Trino serves SQL
    catalog_only = {"iceberg-spark-runtime-4.1", "sqlite-jdbc", "postgresql"}
    assert artifacts == {"delta-spark_4.2", "spark-sql-kafka-0-10", "hadoop-aws",
                         *catalog_only}, pom_packages
    assert set(option(command, "--packages").split(",")) == {
        p for p in pom_packages if p.split(":")[1].rsplit("_", 1)[0] not in catalog_only}
    conf = spark_conf(command)
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.sql.catalog.spark_catalog"] == (
        "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    )
    # Every session setting of the local cluster (spark.jars is --packages here).
    for key, value in connect_conf([]).items():
        if key != "spark.jars":
            assert conf.get(key) == value, (key, conf.get(key), value)
    # The downloaded packages are kept in a named volume (only the first start downloads).
    source, _ = mounts(service)[conf["spark.jars.ivy"]]
    assert source in compose["volumes"]
    # Executors reach the driver by the service's name.
    assert conf["spark.driver.host"] == "spark-connect"


def test_spark_health_checks_and_start_order(compose: dict) -> None:
    services = compose["services"]
    connect_port = spark_conf(services["spark-connect"]["command"])[
        "spark.connect.grpc.binding.port"
    ]
    probes = {name: " ".join(services[name]["healthcheck"]["test"]) for name in SPARK}
    assert "7077" in probes["spark-master"]
    assert connect_port in probes["spark-connect"]
    assert probes["spark-worker"]
    # The first start downloads the packages before the port opens.
    assert seconds(services["spark-connect"]["healthcheck"]["start_period"]) >= 300
    for name in ("spark-worker", "spark-connect"):
        assert services[name]["depends_on"] == {
            "spark-master": {"condition": "service_healthy"}
        }, name
    # Runs are launched in user-code (DefaultRunLauncher + a worker health check): its
    # steps open the sessions.
    launcher = yaml.safe_load((DOCKER / "dagster.yaml").read_text())["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("resources.run_launcher",
                                                       "MonitoredRunLauncher")
    assert services["user-code"]["depends_on"]["spark-connect"] == {
        "condition": "service_healthy"
    }


def test_platform_containers_point_at_spark_connect(compose: dict) -> None:
    services = compose["services"]
    assert "SPARK_REMOTE" in env_vars_read_by_resources()
    port = spark_conf(services["spark-connect"]["command"])["spark.connect.grpc.binding.port"]
    for name in sorted(PLATFORM - {"ctr-api"} | {"seed"}):  # empty in .env: embedded
        assert services[name]["environment"]["SPARK_REMOTE"] == (
            f"${{SPARK_REMOTE-sc://spark-connect:{port}}}")
    assert f"\nSPARK_REMOTE=sc://spark-connect:{port}\n" in (DOCKER / ".env.example").read_text()
    # the API reads published files only: no Spark, no database, no password (issue 21);
    # the lake's bucket with the store's read-only key (issue 22)
    assert set(services["ctr-api"]["environment"]) == {
        "PLATFORM_DATA_DIR", "LAKE_URL", *store_env_vars() - OPTIONAL_ENV}


def test_spark_reaches_the_lake_on_the_store_not_the_data_volume(compose: dict) -> None:
    """The cluster reads and writes landing and lake on the bucket (s3a://): no Spark
    service mounts the platform's data volume or the landing folder; each gets the
    store's `AWS_*` variables, and the Connect server has hadoop-aws at the Hadoop of
    the image's Spark (that of the pinned pyspark: `cli/spark_jars.xml`)."""
    services = compose["services"]
    data_dir = services["user-code"]["environment"]["PLATFORM_DATA_DIR"]
    platform_sources = {source for source, _ in mounts(services["user-code"]).values()}
    assert "platform-data" in platform_sources
    for name in SPARK:
        sources = {source for source, _ in mounts(services[name]).values()}
        assert not sources & platform_sources, (name, sources)
        assert not any(t == data_dir or t.startswith(f"{data_dir}/")
                       for t in mounts(services[name])), name
        # the platform's store key, the same variables as the platform's containers
        platform = services["user-code"]["environment"]
        environment = services[name]["environment"]
        for var in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            assert environment[var] == platform[var], (name, var)
    hadoop = re.search(r"<hadoop.version>([^<]+)<", SPARK_POM.read_text())[1]
    packages = option(services["spark-connect"]["command"], "--packages").split(",")
    assert f"org.apache.hadoop:hadoop-aws:{hadoop}" in packages

    # Hadoop's login needs a passwd entry for the uid the Spark processes run as.
    uid = re.search(r"useradd[^\n]*--uid (\d+)", (DOCKER / "Dockerfile").read_text())[1]
    for name in SPARK:
        service = services[name]
        assert service["user"] == "root", name  # only to add the passwd entry, then gosu
        script = " ".join(service["entrypoint"])
        assert f"useradd --uid {uid} " in script, name
        assert re.search(rf"exec gosu {uid}(:\d+)? \"\$\$@\"", script), name


def test_every_variable_of_the_compose_file_is_in_the_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text()))
    example = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (DOCKER / ".env.example").read_text(), re.M))
    assert {"SPARK_WORKER_CORES", "SPARK_WORKER_MEMORY", "SPARK_EXECUTOR_MEMORY"} <= used
    assert not used - example, f"not in docker/.env.example: {sorted(used - example)}"


# --- The object store (issue 22) ----------------------------------------------------------


def env_example() -> dict[str, str]:
    text = (DOCKER / ".env.example").read_text()
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, re.M))


def interpolate(value: str, env: dict[str, str]) -> str:
    """`${VAR}`, `${VAR-default}`, `${VAR:-default}`, `${VAR:?message}` as compose reads
    them, with `env` as docker/.env."""
    def one(m: re.Match) -> str:
        name, op, arg = m["name"], m["op"] or "", m["arg"] or ""
        if op == "-":
            return env[name] if name in env else arg
        if op == ":-":
            return env.get(name) or arg
        assert op in ("", ":?") and env.get(name), f"{name} unset"
        return env[name]
    return re.sub(r"\$\{(?P<name>[A-Z][A-Z0-9_]*)(?:(?P<op>:-|-|:\?)(?P<arg>[^}]*))?\}", one,
                  str(value))


def test_landing_and_lake_on_the_compose_object_store(compose: dict) -> None:
    services, example = compose["services"], env_example()
    store = services["object-store"]
    script = store["entrypoint"][2]
    assert "weed server" in script and "-s3.port=8333" in script
    assert [v.split(":")[1] for v in store["volumes"]] == ["/data"]  # a named volume
    assert any(":8333" in p and p.startswith("127.0.0.1:") for p in store["ports"])
    for name in ("user-code", "dagster-daemon", "dagster-webserver", "buckets"):
        env = {k: interpolate(v, example) for k, v in services[name]["environment"].items()}
        assert env["LANDING_URL"] == "s3://platform/landing", name
        assert env["LAKE_URL"] == "s3://platform/lake", name
        assert env["AWS_ENDPOINT_URL"] == "http://object-store:8333", name
        assert env["AWS_ACCESS_KEY_ID"] == example["S3_ACCESS_KEY"]
    # Empty in docker/.env: the data volume, as before issue 22.
    env = services["user-code"]["environment"]
    assert interpolate(env["LANDING_URL"], {**example, "LANDING_URL": ""}) == ""
    assert {"buckets", "object-store"} <= set(services["user-code"]["depends_on"])
    assert "docker/buckets.py" in command_text(services["buckets"])


def test_the_api_reads_the_lake_with_the_read_only_key(compose: dict) -> None:
    services, example = compose["services"], env_example()
    env = {k: interpolate(v, example) for k, v in services["ctr-api"]["environment"].items()}
    assert env["LAKE_URL"] == "s3://platform/lake" and "LANDING_URL" not in env
    assert env["AWS_ACCESS_KEY_ID"] == example["S3_API_ACCESS_KEY"]
    assert env["AWS_SECRET_ACCESS_KEY"] == example["S3_API_SECRET_KEY"]
    assert example["S3_API_SECRET_KEY"] != example["S3_SECRET_KEY"]
    script = services["object-store"]["entrypoint"][2]
    identities = json.loads(script.split("<<EOF\n", 1)[1].split("\nEOF", 1)[0]
                            .replace("$$", "$"))["identities"]
    api = [i for i in identities if i["credentials"][0]["accessKey"] == "$S3_API_ACCESS_KEY"]
    assert api and api[0]["actions"] == ["Read", "List"]


@pytest.mark.integration
def test_buckets_script_creates_each_bucket_once(s3_server, monkeypatch) -> None:
    import subprocess
    import sys

    env = {**os.environ, **s3_server.env(), "PYTHONPATH": str(ROOT),
           "LANDING_URL": "s3://deploy-a/landing", "LAKE_URL": "s3://deploy-a/lake"}
    for expected in ("created", "present"):
        out = subprocess.run([sys.executable, str(DOCKER / "buckets.py")], env=env, text=True,
                             capture_output=True, check=True)
        assert out.stdout.strip() == f"bucket deploy-a: {expected}"
        assert s3_server.secret_key not in out.stdout + out.stderr
    from resources.lib.storage import Location

    Location("s3://deploy-a/landing", s3_server.settings()).write_bytes("x/f.csv", b"1")


# --- Dagster on PostgreSQL storage (integration) -------------------------------------------

# A tiny code location for the daemon loops below (loaded by file in a code server).


@dg.asset
def docker_probe() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": 3})


probe_job = dg.define_asset_job("probe_job", selection=[docker_probe])


@dg.sensor(job=probe_job, default_status=dg.DefaultSensorStatus.RUNNING)
def probe_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key="probe-1")], cursor="probe-cursor-1"
    )


probe_schedule = dg.ScheduleDefinition(
    name="probe_schedule",
    job=probe_job,
    cron_schedule="* * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions(assets=[docker_probe], jobs=[probe_job], sensors=[probe_sensor],
                      schedules=[probe_schedule])


@pytest.fixture
def pg_instance(pg_url: str, compose: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The deployment's own docker/dagster.yaml, with DAGSTER_PG_URL = a fresh database
    (with the URL scheme, i.e. the SQLAlchemy driver, that the compose file uses)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DOCKER / "dagster.yaml", home / "dagster.yaml")
    scheme = compose["services"]["user-code"]["environment"]["DAGSTER_PG_URL"].split("://")[0]
    monkeypatch.setenv("DAGSTER_PG_URL", f"{scheme}://{pg_url.split('://', 1)[1]}")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.from_config(str(home))
    yield instance
    instance.dispose()


@pytest.mark.integration
def test_dagster_postgres_storage_keeps_materializations_and_ticks(
    pg_instance: dg.DagsterInstance, pg_url: str
) -> None:
    from dagster._core.scheduler.instigation import InstigatorType, TickStatus
    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.workspace.load_target import PythonFileTarget
    from dagster._daemon.sensor import execute_sensor_iteration
    from dagster._scheduler.scheduler import launch_scheduled_runs
    from dagster_postgres import PostgresEventLogStorage

    instance = pg_instance
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)

    # A materialization, through a real run on this instance.
    result = dg.materialize([docker_probe], instance=instance)
    assert result.success

    # A sensor tick and a schedule tick, by one iteration of the daemon's own loops.
    target = PythonFileTarget(
        python_file=__file__, attribute="defs", working_directory=str(ROOT),
        location_name="docker_probe",
    )
    log = logging.getLogger("test_docker")
    with create_test_daemon_workspace_context(target, instance) as context:
        list(execute_sensor_iteration(context, log, None, None))
        # The scheduler starts counting at its first iteration; the next iteration, set two
        # minutes ahead, crosses at least one `* * * * *` boundary and fires.
        now = dt.datetime.now(dt.UTC)
        list(launch_scheduled_runs(context, log, now, {}))
        list(launch_scheduled_runs(context, log, now + dt.timedelta(minutes=2), {}))

    # Read everything back through a second instance on the same database.
    reader = dg.DagsterInstance.from_config(instance.root_directory)
    try:
        event = reader.get_latest_materialization_event(dg.AssetKey("docker_probe"))
        assert event is not None and event.run_id == result.run_id
        assert event.asset_materialization.metadata["dagster/row_count"].value == 3

        ticks = {}
        for kind in (InstigatorType.SENSOR, InstigatorType.SCHEDULE):
            states = reader.all_instigator_state(instigator_type=kind)
            assert [s.instigator_name for s in states] == [
                "probe_sensor" if kind == InstigatorType.SENSOR else "probe_schedule"
            ]
            state = states[0]
            ticks[kind] = reader.get_ticks(state.instigator_origin_id, state.selector_id)
        sensor_tick = ticks[InstigatorType.SENSOR][0]
        assert sensor_tick.status == TickStatus.SUCCESS, sensor_tick
        assert sensor_tick.tick_data.cursor == "probe-cursor-1"
        assert sensor_tick.run_keys == ["probe-1"] and len(sensor_tick.run_ids) == 1
        schedule_tick = ticks[InstigatorType.SCHEDULE][0]
        assert schedule_tick.status == TickStatus.SUCCESS, schedule_tick
        assert schedule_tick.run_ids

        # The ticks' runs were submitted to the queue of the deployment's run coordinator.
        for run_id in [*sensor_tick.run_ids, *schedule_tick.run_ids]:
            run = reader.get_run_by_id(run_id)
            assert run is not None and run.job_name == "probe_job"
    finally:
        reader.dispose()


# --- The local override (docker/compose.local.yml) -----------------------------------------

LOCAL = DOCKER / "compose.local.yml"


class _OverrideLoader(yaml.SafeLoader):
    pass


_OverrideLoader.add_constructor("!override", lambda loader, node: loader.construct_sequence(node))


def test_user_facing_compose_does_not_depend_on_the_local_override(compose: dict) -> None:
    text = COMPOSE.read_text()
    assert "compose.local" not in text and "localhost/" not in text and "docker/local" not in text
    for name in SERVERS | set(SPARK):
        assert "build" not in compose["services"][name], name
        assert not compose["services"][name]["image"].startswith("localhost/"), name
    # The platform image builds on the official Python image unless told otherwise.
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim-bookworm$",
                     (DOCKER / "Dockerfile").read_text(), re.M)


def test_local_override_replaces_only_the_third_party_images(compose: dict) -> None:
    local = yaml.load(LOCAL.read_text(), Loader=_OverrideLoader)["services"]
    assert set(local) <= set(compose["services"])
    for name in SERVERS | set(SPARK):
        spec = local[name]
        assert spec["image"].startswith("localhost/commerce-local/"), name
        # Same ports, environment and volumes as the official services.
        assert set(spec) <= {"image", "healthcheck"}, name
    assert set(local["mongodb"]["healthcheck"]) == {"test"}  # FerretDB: no mongosh
    for name in PLATFORM | {"seed"}:
        spec = local[name]
        assert spec["build"]["dockerfile"] == "docker/Dockerfile"
        assert set(spec["build"]["args"]) == {"BASE_IMAGE"}
        if name not in ("ctr-api", "buckets"):  # no document store URI at all
            assert set(spec["environment"]) == {"MONGODB_URI"}  # FerretDB speaks PLAIN only
        else:
            assert "environment" not in spec
    # Every local image has its build recipe.
    build = (DOCKER / "local" / "build.sh").read_text()
    for spec in local.values():
        if "image" in spec:
            assert spec["image"] in build, spec["image"]


# --- The change stream of the retail database (issue 24) --------------------------------


def test_change_capture_services(compose: dict) -> None:
    """PostgreSQL decodes logically; `retail-seed` loads an empty retail database once;
    `kafka-connect` is the fixture's worker (same pom) keeping offsets in Kafka; `cdc-register`
    registers RETAIL_DB_URL's connector at every start, healthy while it runs."""
    services, example = compose["services"], env_example()
    assert "wal_level=logical" in command_text(services["postgres"])
    assert "retail" in (DOCKER / "postgres" / "init-databases.sh").read_text()
    env = {k: interpolate(v, example) for k, v in services["user-code"]["environment"].items()}
    assert env["RETAIL_DB_URL"].endswith("@postgres:5432/retail")
    assert env["RETAIL_CDC_TOPIC_PREFIX"] == "retail"
    seed = command_text(services["retail-seed"])
    assert "cli.retail_db seed" in seed and "--if-empty" in seed
    connect = services["kafka-connect"]
    assert connect["build"]["context"] == "./kafka-connect"
    from tests.servers.kafka_connect import PASSWORD_ENV, POM
    assert POM == DOCKER / "kafka-connect" / "pom.xml"
    assert "COPY pom.xml" in (DOCKER / "kafka-connect" / "Dockerfile").read_text()
    worker = dict(line.split("=", 1) for line in
                  (DOCKER / "kafka-connect" / "worker.properties").read_text().splitlines()
                  if line and not line.startswith("#"))
    assert worker["bootstrap.servers"] == "kafka:9092" and "offset.storage.topic" in worker
    assert worker["config.providers.env.class"].endswith("EnvVarConfigProvider")
    password = interpolate(connect["environment"][PASSWORD_ENV], example)
    assert f":{password}@postgres" in env["RETAIL_DB_URL"]
    register = services["cdc-register"]
    assert "cli.cdc register" in command_text(register)
    assert "--running" in " ".join(register["healthcheck"]["test"])
    assert set(register["depends_on"]) == {"kafka-connect", "retail-seed"}


def test_connector_running_means_connector_and_tasks() -> None:
    from cli.cdc import running

    task = {"id": 0, "state": "RUNNING"}
    assert running({"connector": {"state": "RUNNING"}, "tasks": [task]})
    assert not running({"connector": {"state": "RUNNING"}, "tasks": []})
    assert not running({"connector": {"state": "RUNNING"},
                        "tasks": [task, {"id": 1, "state": "FAILED"}]})
    assert not running({"connector": {"state": "PAUSED"}, "tasks": [task]})
