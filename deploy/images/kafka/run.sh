#!/bin/bash
# Entrypoint of the local Kafka image: turns KAFKA_* variables into server.properties the way the
# official apache/kafka image does, formats the KRaft storage once, then runs the broker in the
# foreground (PID 1 gets SIGTERM from `docker stop` and shuts Kafka down cleanly).
set -euo pipefail
CONF=/opt/kafka/config/server.properties
LIBS='/opt/kafka/libs/*'

# Variables that tune the JVM or this script, not the broker.
skip='^KAFKA_(HEAP_OPTS|JVM_PERFORMANCE_OPTS|OPTS|LOG4J_OPTS|JMX_OPTS|JMX_PORT|GC_LOG_OPTS|DEBUG|VERSION)$'

props=()
while IFS='=' read -r name value; do
  [[ "$name" =~ ^KAFKA_ ]] || continue
  [[ "$name" =~ $skip ]] && continue
  key="${name#KAFKA_}"
  key="${key,,}"
  key="${key//___/-}"
  key="${key//__/@}"
  key="${key//_/.}"
  key="${key//@/_}"
  props+=("${key}=${value}")
done < <(env)

if [ "${#props[@]}" -eq 0 ]; then
  # The official image's default: one combined broker+controller on localhost:9092.
  props=(
    'process.roles=broker,controller' 'node.id=1'
    'listeners=PLAINTEXT://:9092,CONTROLLER://:9093' 'advertised.listeners=PLAINTEXT://localhost:9092'
    'controller.listener.names=CONTROLLER' 'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT'
    'controller.quorum.voters=1@localhost:9093' 'offsets.topic.replication.factor=1'
    'transaction.state.log.replication.factor=1' 'transaction.state.log.min.isr=1'
    'share.coordinator.state.topic.replication.factor=1' 'share.coordinator.state.topic.min.isr=1'
    'group.initial.rebalance.delay.ms=0'
  )
fi
printf '%s\n' "${props[@]}" > "$CONF"
grep -q '^log.dirs=' "$CONF" || echo 'log.dirs=/var/lib/kafka/data' >> "$CONF"

cat > /opt/kafka/config/log4j2.properties <<'LOG'
status = warn
appender.stdout.type = Console
appender.stdout.name = stdout
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${env:KAFKA_LOG_LEVEL:-INFO}
rootLogger.appenderRef.stdout.ref = stdout
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
LOG

common=(-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -Djava.awt.headless=true -cp "$LIBS")
# A fixed default id lets a restarted container (same data) start again; set CLUSTER_ID per cluster.
cluster_id="${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}"
java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "${common[@]}" \
  kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" -c "$CONF"

# shellcheck disable=SC2086 # the *_OPTS variables are word lists on purpose
exec java ${KAFKA_HEAP_OPTS} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
  ${KAFKA_OPTS:-} "${common[@]}" kafka.Kafka "$CONF"
