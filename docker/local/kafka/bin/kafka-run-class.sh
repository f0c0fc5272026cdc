#!/usr/bin/env bash
# kafka-run-class.sh CLASS ARGS...: a Kafka class on the image's jars (as Kafka's own script).
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties \
  -cp '/opt/kafka/libs/*' "$@"
