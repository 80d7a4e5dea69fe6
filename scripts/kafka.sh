#!/usr/bin/env bash
# Run a real single-node Apache Kafka broker (KRaft mode, no ZooKeeper) for
# tests and CI, straight from the official jars on Maven Central. There is no
# Docker here and only Maven Central / npm / Debian are reachable, so the
# broker's classpath is resolved with Maven from scripts/kafka/pom.xml.
#
# Usage: bash scripts/kafka.sh fetch|start|stop|status|reset
#
#   fetch   copy the pinned Kafka jars into .cache/kafka/libs (skipped when
#           they are already there for the current pom)
#   start   fetch if needed, format storage on first use, start the broker in
#           the background and wait until it really serves requests
#   stop    SIGTERM the broker, SIGKILL after 30 s; exit 0 if not running
#   status  exit 0 (and print) when the broker is running, 1 otherwise
#   reset   stop and delete this port's data dir
#
# Environment:
#   KAFKA_PORT             client (PLAINTEXT) port, default 9092
#   KAFKA_CONTROLLER_PORT  KRaft controller port, default KAFKA_PORT+1 (9093)
#   KAFKA_HEAP_OPTS        broker heap, default "-Xms256m -Xmx512m"
#   KAFKA_START_TIMEOUT    seconds to wait for readiness, default 90
#
# Everything lives under .cache/kafka/ (git-ignored); data, config, pid and
# log files carry the port in their name so two brokers (say a developer's
# and a test run's on another KAFKA_PORT) don't trample each other.
set -euo pipefail

# Resolve paths from this file, not the cwd, so it works from anywhere.
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
POM="$SCRIPT_DIR/kafka/pom.xml"

HOST=127.0.0.1
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT=30

CACHE="$ROOT/.cache/kafka"
LIBS="$CACHE/libs"
LIBS_STAMP="$LIBS/.pom.sha256"
DATA="$CACHE/data-$PORT"
PROPS="$CACHE/server-$PORT.properties"
PIDFILE="$CACHE/kafka-$PORT.pid"
LOGFILE="$CACHE/kafka-$PORT.log"
LOCKFILE="$CACHE/kafka-$PORT.lock"
BROKER_LOG4J="$CACHE/log4j2-broker.properties"
TOOLS_LOG4J="$CACHE/log4j2-tools.properties"

# The pinned version, read from the pom so there is one place to bump it.
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"

log() { echo "kafka.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# ---------------------------------------------------------------- helpers

# Serialise start/stop/reset per port, so e.g. two test runners calling
# `start` at once don't launch two brokers on the same data dir.
take_lock() {
  mkdir -p "$CACHE"
  exec 9>"$LOCKFILE"
  flock 9
}

# Cheap TCP probe (bash's /dev/tcp): is anything listening on the port?
port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# Run a Kafka CLI class from the fetched jars. Small client JVM with C1 only:
# these are short-lived, so startup time matters more than peak speed.
kafka_tool() {
  java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$TOOLS_LOG4J" \
    -cp "$LIBS/*" "$@"
}

# Real readiness check, not just "port open": ask the broker for its topic
# list through the admin API. This only succeeds once the KRaft controller
# has elected itself and the broker is unfenced and serving metadata.
broker_answers() {
  local cfg="$CACHE/admin-probe.properties"
  # Fail fast instead of the admin client's 60 s default retry budget.
  printf 'request.timeout.ms=5000\ndefault.api.timeout.ms=8000\n' >"$cfg"
  timeout 20 java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$TOOLS_LOG4J" \
    -cp "$LIBS/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$HOST:$PORT" --command-config "$cfg" --list \
    >/dev/null 2>&1
}

# Pid of the broker we started on this port, or nothing. Checks the process
# is really our kafka.Kafka with our properties file, so a stale pid file
# whose pid got reused by something else is never signalled.
broker_pid() {
  local pid=""
  if [[ -f "$PIDFILE" ]]; then
    pid="$(cat "$PIDFILE")"
    if [[ -n "$pid" ]] && is_our_broker "$pid"; then
      echo "$pid"
      return 0
    fi
    rm -f "$PIDFILE" # stale
  fi
  # No (valid) pid file, e.g. it was deleted by hand: look for a broker
  # started with exactly our properties file.
  pid="$(pgrep -f -- "kafka.Kafka $PROPS\$" | head -n1 || true)"
  if [[ -n "$pid" ]] && is_our_broker "$pid"; then
    echo "$pid"
  fi
}

# A process counts as alive unless it is gone or a zombie: a broker killed
# after this script exited is reparented, and until its new parent reaps it
# `kill -0` still succeeds on the zombie.
alive() {
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z* ]]
}

is_our_broker() {
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *"kafka.Kafka $PROPS"* ]]
}

write_log4j_configs() {
  # Broker: INFO to stdout, which start redirects into $LOGFILE (stdout also
  # catches JVM crash output that a file appender would miss).
  cat >"$BROKER_LOG4J" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
# Per-request logging is far too chatty for a test broker.
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
  # CLI tools: warnings only, to stderr, like Kafka's tools-log4j2 config.
  cat >"$TOOLS_LOG4J" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
}

write_server_properties() {
  cat >"$PROPS" <<EOF
# Generated by scripts/kafka.sh; edits are overwritten on every start.
# Single combined broker+controller node in KRaft mode.
process.roles=broker,controller
node.id=1
# Static one-voter quorum: works with a plain "storage format" on Kafka 3.3+
# and 4.x alike (no dynamic-quorum --standalone bootstrapping needed).
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT

log.dirs=$DATA
num.partitions=3
auto.create.topics.enable=true

# One node, so every internal topic must have replication factor 1.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests want consumers to join groups immediately, not after 3 s.
group.initial.rebalance.delay.ms=0
# Internal topics default to 50 partitions each, which makes the first
# consumer group / transaction on a fresh broker slow; 5 is what Kafka's own
# embedded test clusters use.
offsets.topic.num.partitions=5
transaction.state.log.num.partitions=5
EOF
}

# ------------------------------------------------------------- subcommands

cmd_fetch() {
  [[ -n "$KAFKA_VERSION" ]] || die "cannot read kafka.version from $POM"
  local want have=""
  want="$(sha256sum "$POM" | cut -d' ' -f1)"
  [[ -f "$LIBS_STAMP" ]] && have="$(cat "$LIBS_STAMP")"
  # Skip when the jars for exactly this pom are there. Keyed on the pom's
  # hash rather than one jar's name so any pom edit triggers a re-fetch.
  if [[ "$have" == "$want" && -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
    log "kafka $KAFKA_VERSION jars already in ${LIBS#"$ROOT"/}"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (needed to fetch Kafka jars)"
  # libs/ is shared by all ports: one fetch at a time.
  mkdir -p "$CACHE"
  exec 8>"$CACHE/fetch.lock"
  flock 8
  # Another process may have finished the same fetch while we waited.
  [[ -f "$LIBS_STAMP" ]] && have="$(cat "$LIBS_STAMP")"
  if [[ "$have" == "$want" && -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
    exec 8>&-
    return 0
  fi
  log "fetching kafka $KAFKA_VERSION jars from Maven Central..."
  # Copy into a fresh temp dir and swap it in: an interrupted fetch never
  # leaves a half-filled libs/, and a version bump never leaves the old jars
  # beside the new ones on the "libs/*" classpath.
  local tmp="$CACHE/libs.tmp.$$"
  rm -rf "$tmp"
  # Quiet on success (-q still emits stray ANSI resets on Maven 3.8, so the
  # output is captured); shown, minus colour codes, only if it fails.
  local out
  if ! out="$(mvn -B -q -f "$POM" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime 2>&1)"; then
    printf '%s\n' "$out" | sed 's/\x1b\[[0-9;]*m//g' >&2
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed"
  fi
  echo "$want" >"$tmp/.pom.sha256"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  exec 8>&-
  log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars into ${LIBS#"$ROOT"/}"
}

cmd_start() {
  take_lock
  cmd_fetch
  write_log4j_configs

  local pid
  pid="$(broker_pid)"

  # Something already listens on our port.
  if [[ -z "$pid" ]] && port_open "$PORT"; then
    if broker_answers; then
      echo "kafka already running on $HOST:$PORT (not started by this script)"
      exit 0
    fi
    die "port $PORT is in use by something that is not a working Kafka broker"
  fi

  if [[ -n "$pid" ]]; then
    if port_open "$PORT" && broker_answers; then
      echo "kafka already running on $HOST:$PORT (pid $pid)"
      exit 0
    fi
    # Ours but not ready yet (e.g. a start from another shell is still
    # booting): don't launch a second one, just wait for this one.
    log "broker pid $pid is up but not ready yet; waiting"
  else
    port_open "$CONTROLLER_PORT" &&
      die "controller port $CONTROLLER_PORT is already in use (set KAFKA_CONTROLLER_PORT)"

    write_server_properties

    # KRaft refuses to start on an unformatted log dir. Format once with a
    # fresh random cluster id; afterwards meta.properties holds it, so data
    # survives restarts.
    if [[ ! -f "$DATA/meta.properties" ]]; then
      local cluster_id
      cluster_id="$(kafka_tool kafka.tools.StorageTool random-uuid)"
      log "formatting $DATA (cluster id $cluster_id)"
      local out
      if ! out="$(kafka_tool kafka.tools.StorageTool format \
        --config "$PROPS" --cluster-id "$cluster_id" --ignore-formatted 2>&1)"; then
        echo "$out" >&2
        die "formatting $DATA failed"
      fi
    fi

    # Keep the previous run's log for post-mortems, start a fresh one.
    [[ -f "$LOGFILE" ]] && mv -f "$LOGFILE" "$LOGFILE.1"

    # setsid: own session/process group, so the broker outlives this script
    # and isn't killed along with a CI step's or terminal's process group.
    # 8>&- 9>&-: don't let the broker inherit (and forever hold) our locks.
    # Flags mirror Kafka's bin/kafka-run-class.sh defaults, smaller heap.
    # shellcheck disable=SC2086 # HEAP_OPTS is a list of flags
    setsid java $HEAP_OPTS \
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
      -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$BROKER_LOG4J" \
      -cp "$LIBS/*" kafka.Kafka "$PROPS" \
      </dev/null >"$LOGFILE" 2>&1 8>&- 9>&- &
    pid=$!
    echo "$pid" >"$PIDFILE"
    log "started broker pid $pid, log ${LOGFILE#"$ROOT"/}; waiting up to ${START_TIMEOUT}s"
  fi

  # Bounded wait: first the cheap TCP probe, then the real admin-API check.
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! alive "$pid"; then
      rm -f "$PIDFILE"
      log "broker exited during startup; last log lines:"
      tail -n 40 "$LOGFILE" >&2 || true
      exit 1
    fi
    if ! port_open "$PORT"; then
      sleep 0.25 # not listening yet: polling is nearly free
      continue
    fi
    if broker_answers; then
      echo "kafka ready on $HOST:$PORT"
      return 0
    fi
    sleep 1 # listening but not serving yet (e.g. controller not elected)
  done
  log "broker not ready after ${START_TIMEOUT}s; last log lines:"
  tail -n 40 "$LOGFILE" >&2 || true
  log "stopping it"
  stop_broker
  exit 1
}

# Graceful stop: SIGTERM lets Kafka flush and write its clean-shutdown
# marker (faster, no log recovery on next start); SIGKILL only as fallback.
stop_broker() {
  local pid
  pid="$(broker_pid)"
  if [[ -z "$pid" ]]; then
    rm -f "$PIDFILE"
    return 1
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if alive "$pid"; then
    log "broker pid $pid ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  fi
  rm -f "$PIDFILE"
  echo "kafka stopped (pid $pid)"
}

cmd_stop() {
  take_lock
  if ! stop_broker; then
    if port_open "$PORT"; then
      echo "no broker started by this script on port $PORT, but something listens there; left alone"
    else
      echo "kafka not running on $HOST:$PORT"
    fi
  fi
  return 0
}

cmd_status() {
  local pid
  pid="$(broker_pid)"
  if [[ -n "$pid" ]] && port_open "$PORT"; then
    echo "kafka running on $HOST:$PORT (pid $pid, version $KAFKA_VERSION)"
    return 0
  fi
  if [[ -n "$pid" ]]; then
    echo "kafka starting (pid $pid), not yet listening on $HOST:$PORT"
    return 1
  fi
  # Not ours, but maybe a broker from another checkout: that still counts
  # as "Kafka is up" for tests. Only then pay for the admin-API probe.
  if port_open "$PORT"; then
    if [[ -d "$LIBS" ]] && broker_answers; then
      echo "kafka running on $HOST:$PORT (not started by this script)"
      return 0
    fi
    echo "kafka not running: $HOST:$PORT is taken by something else"
    return 1
  fi
  echo "kafka not running on $HOST:$PORT"
  return 1
}

cmd_reset() {
  cmd_stop
  rm -rf "$DATA" "$PROPS"
  echo "kafka data for port $PORT deleted (${DATA#"$ROOT"/})"
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  *)
    echo "usage: $0 fetch|start|stop|status|reset" >&2
    exit 2
    ;;
esac
