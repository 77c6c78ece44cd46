# Shared settings for scripts/kafka/*.sh (sourced, not run). Every value can be overridden
# from the environment. ROOT must be set to the repository root by the caller.
#
# Several brokers can run at once: each KAFKA_PORT gets its own controller port, SASL port,
# state folder, pid file, log and lock, so give each broker a KAFKA_PORT at least 3 apart.
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
KAFKA_SCALA="${KAFKA_SCALA:-2.13}"
KAFKA_CACHE_DIR="${KAFKA_CACHE_DIR:-$ROOT/.cache/kafka}"
KAFKA_HOME="$KAFKA_CACHE_DIR/$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
# Apache Kafka's command-line tools (perf tools for benchmarks), fetched by install.sh --tools.
KAFKA_TOOLS_LIBS="$KAFKA_HOME/tools"
KAFKA_HOST=127.0.0.1
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
# The SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512); 0 turns it off.
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-$((KAFKA_PORT + 2))}"
# The test user on the SASL listener, valid for all three mechanisms. Loopback only: a
# development broker, never a secret.
KAFKA_SASL_USER="${KAFKA_SASL_USER:-sluice}"
KAFKA_SASL_PASSWORD="${KAFKA_SASL_PASSWORD:-sluice-secret}"
# One state folder per broker port: config, data, pid file and log.
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-${TMPDIR:-/tmp}/sluice-kafka-$KAFKA_PORT}"
KAFKA_PID_FILE="$KAFKA_DATA_DIR/kafka.pid"
KAFKA_LOG_FILE="$KAFKA_DATA_DIR/kafka.log"
# Serializes start/stop/restart of one broker (outside the state folder, which stop.sh removes).
KAFKA_LOCK_FILE="${KAFKA_DATA_DIR%/}.lock"
KAFKA_BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT"
KAFKA_SASL_BOOTSTRAP="$KAFKA_HOST:$KAFKA_SASL_PORT"

# Shared helpers.
kafka_port_open() { (exec 3<>"/dev/tcp/$KAFKA_HOST/$1") 2>/dev/null; }

# True when $1 is a live (not zombie) process whose command line runs our broker config.
# Before the launcher execs java its command line is bash's; it carries the config path
# too (see start.sh), so the check holds from the moment the pid file exists.
kafka_is_our_broker() {
  local pid="$1" state
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)"
  [[ -n "$state" && "$state" != Z ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $KAFKA_DATA_DIR/server.properties"
}

# The pid of our running broker on stdout, or status 1.
kafka_our_pid() {
  local pid
  [[ -f "$KAFKA_PID_FILE" ]] || return 1
  pid="$(cat "$KAFKA_PID_FILE" 2>/dev/null)"
  kafka_is_our_broker "$pid" && echo "$pid"
}

# Takes the per-broker lock on fd 9 (waits up to $1 s); a no-op without flock(1).
kafka_lock() {
  command -v flock >/dev/null || return 0
  exec 9>>"$KAFKA_LOCK_FILE"
  flock -w "${1:-120}" 9 || { printf 'kafka: ERROR: another scripts/kafka command holds %s for more than %s s\n' "$KAFKA_LOCK_FILE" "${1:-120}" >&2; exit 1; }
}
