# Shared settings for scripts/kafka/*.sh (sourced, not run). Every value can be overridden
# from the environment. ROOT must be set to the repository root by the caller.
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
KAFKA_SCALA="${KAFKA_SCALA:-2.13}"
KAFKA_CACHE_DIR="${KAFKA_CACHE_DIR:-$ROOT/.cache/kafka}"
KAFKA_HOME="$KAFKA_CACHE_DIR/$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_HOST=127.0.0.1
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
# One state folder per broker port: config, data, pid file and log.
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-${TMPDIR:-/tmp}/sluice-kafka-$KAFKA_PORT}"
KAFKA_PID_FILE="$KAFKA_DATA_DIR/kafka.pid"
KAFKA_LOG_FILE="$KAFKA_DATA_DIR/kafka.log"
KAFKA_BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT"
