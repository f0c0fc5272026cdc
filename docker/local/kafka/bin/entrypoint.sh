#!/usr/bin/env bash
# As the official image: every KAFKA_<NAME> variable (but the JVM ones) is a broker setting,
# lower-cased, '_' -> '.', '__' -> '_', '___' -> '-'; the storage is formatted on first start.
set -euo pipefail
props=/opt/kafka/config/server.properties
: >"$props"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_LOG4J_OPTS|KAFKA_JMX_OPTS) continue ;;
  esac
  key="${name#KAFKA_}"; key="${key,,}"
  key="${key//___/-}"; key="${key//__/@}"; key="${key//_/.}"; key="${key//@/_}"
  printf '%s=%s\n' "$key" "$value" >>"$props"
done < <(env | grep -E '^KAFKA_[A-Z0-9_]+=' | sort)
grep -q '^log.dirs=' "$props" || echo "log.dirs=/var/lib/kafka/data" >>"$props"
logdir="$(sed -n 's/^log.dirs=//p' "$props" | cut -d, -f1)"
if [ ! -e "$logdir/meta.properties" ]; then
  /opt/kafka/bin/kafka-run-class.sh kafka.tools.StorageTool format \
    -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$props" --ignore-formatted
fi
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m}"
exec /opt/kafka/bin/kafka-run-class.sh kafka.Kafka "$props"
