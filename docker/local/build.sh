#!/usr/bin/env bash
# Builds the images of docker/compose.local.yml on the local base (docker/local/base.sh):
# PostgreSQL, Kafka, Kafka Connect, FerretDB, Spark, SeaweedFS, Trino. Artifacts come from this machine's caches, as the
# test fixtures get them: the Kafka jars by Maven (~/.m2), the FerretDB binary by
# `python3 -m tests.servers.tooling install` (Go), the Connect and Debezium jars by the same
# (Maven, docker/kafka-connect/pom.xml). The engine's layer cache makes a second
# run take seconds.   Usage: docker/local/build.sh podman|docker [postgres kafka kafka-connect ferretdb spark seaweedfs trino]
set -euo pipefail
cd "$(dirname "$0")/../.."
engine="${1:-podman}"; shift || true
images=("$@"); [ "${#images[@]}" -gt 0 ] || images=(postgres kafka kafka-connect ferretdb spark seaweedfs trino)
BASE="${LOCAL_BASE_IMAGE:-localhost/debian-base:bookworm}"
CACHE="${COMMERCE_PLATFORM_CACHE:-$HOME/.cache/commerce-platform}"
docker/local/base.sh "$engine"

build() {  # name tag context
  local start=$SECONDS
  "$engine" build -q --build-arg BASE_IMAGE="$BASE" -t "$2" "$3" >/dev/null
  echo "image $2: $((SECONDS - start)) s"
}

stage() {  # a fresh copy of docker/local/<name> to add artifacts to
  local dir="$CACHE/docker-context/$1"
  rm -rf "$dir"; mkdir -p "$dir"; cp -a "docker/local/$1/." "$dir/"; echo "$dir"
}

for name in "${images[@]}"; do
  case "$name" in
    postgres) build postgres localhost/commerce-local/postgres:15 docker/local/postgres ;;
    kafka)
      ctx="$(stage kafka)"
      mvn -q -f "$ctx/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$ctx/libs"
      build kafka localhost/commerce-local/kafka:4.0.0 "$ctx" ;;
    kafka-connect)
      python3 -m tests.servers.tooling install "kafka connect jars" >/dev/null
      libs="$(python3 -c 'from tests.servers.kafka_connect import libs_dir; print(libs_dir())')"
      ctx="$(stage kafka-connect)"; cp -a "$libs" "$ctx/libs"
      cp docker/kafka-connect/worker.properties docker/kafka-connect/log4j2.properties "$ctx/"
      build kafka-connect localhost/commerce-local/kafka-connect:4.0.0-debezium-3.6.1 "$ctx" ;;
    ferretdb)
      python3 -m tests.servers.tooling install >/dev/null
      bin="$(ls -t "$CACHE"/ferretdb-v1.24.2-*/ferretdb-test | head -1)"
      ctx="$(stage ferretdb)"; cp "$bin" "$ctx/ferretdb"
      build ferretdb localhost/commerce-local/ferretdb:1.24.2 "$ctx" ;;
    spark) build spark localhost/commerce-local/spark:4.2.0 docker/local/spark ;;
    seaweedfs) build seaweedfs localhost/commerce-local/seaweedfs:4.48 docker/local/seaweedfs ;;
    trino)
      python3 -m tests.servers.tooling install trino >/dev/null
      ctx="$(stage trino)"; mkdir -p "$ctx/trino"
      cp -a "$CACHE/trino-476/lib" "$CACHE/trino-476/plugin" "$ctx/trino/"
      build trino localhost/commerce-local/trino:476 "$ctx" ;;
    *) echo "unknown image $name" >&2; exit 2 ;;
  esac
done
