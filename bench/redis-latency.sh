#!/usr/bin/env bash
# What Redis adds per request: bench/redis-latency.sh [rounds] [requests per round]
#
# Starts Debian's redis-server on a free loopback port (nothing saved), compiles
# bench/redis-latency/RedisLatency.java against the project's test classes (their fake
# Cerebras and embedded proxy), and runs it: one proxy counting a limited client in
# memory, one in Redis, requests one at a time in alternating rounds. Needs Java 17,
# Maven and redis-server (apt-get install redis-server). Defaults: 10 rounds of 1000.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WORK=$(mktemp -d /tmp/cerebras-redis-latency.XXXXXX)
REDIS_PID=
cleanup() {
    if [[ -n $REDIS_PID ]]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

mvn -B -q test-compile dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" -Dmdep.includeScope=test
CP="target/classes:target/test-classes:$(cat "$WORK/cp.txt")"
javac -d "$WORK/classes" -cp "$CP" bench/redis-latency/RedisLatency.java

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no > "$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; $(redis-server --version | cut -d' ' -f1-3)"
# The request log line off: it is the same on both sides and only adds noise.
java -Ddev.cerebrasproxy.LEVEL=WARN -cp "$WORK/classes:$CP" RedisLatency "redis://127.0.0.1:$PORT" "${1:-10}" "${2:-1000}"
