#!/usr/bin/env bash
# The capacity benchmark, one command: bench/capacity.sh
#
# How much of the pool's rate limits does a proxy turn into answers, how many upstream
# calls does it waste on 429s, and how fairly does it share the pool between clients?
# Measured for this repository's proxy and, in the same run, for the seed design (blind
# round-robin with retry: the WAR of commit 19b9373), each against a fresh Cerebras
# rate-limit simulator (src/test/java/dev/cerebrasproxy/simulator), all on loopback:
#   simulator  five keys in three organizations, two models with different limits
#              (SimulatorMain, settings generated below), time running BENCH_CAPACITY_SCALE
#              times faster so a Cerebras "minute" lasts seconds
#   proxy      the WAR on a jetty-home distribution with a copy of this repository's
#              jetty-base/, configured by environment, as deployed (like bench/run.sh)
#   load       bench/src/.../CapacityLoad.java: three clients with client tokens, one
#              sending 4x the others, offering BENCH_CAPACITY_LOAD x what the limits allow
# and prints bench/src/.../CapacityReport.java's table: goodput, wasted upstream calls,
# fairness, each with its formula. Both proxies get the same load and the same settings.
#
# Knobs (environment): BENCH_CAPACITY_SECONDS (40, the measured interval),
# BENCH_CAPACITY_LOAD (1.5), BENCH_CAPACITY_SCALE (6: a minute lasts 10 s),
# BENCH_CAPACITY_STREAM_FRACTION (0.2), BENCH_CAPACITY_LATENCY_MS (50, the simulator's
# time to answer), BENCH_CAPACITY_WARMUP_SECONDS (5, GET /v1/models through the proxy
# before the interval; spends no budget), BENCH_CAPACITY_DRAIN_SECONDS (30, how long
# answers may still come after the interval), BENCH_CAPACITY_SETTINGS (a simulator
# settings file of your own instead of the generated one, with the models llama3.1-8b
# and qwen-3-32b; BENCH_CAPACITY_SCALE and _LATENCY_MS then do not apply; the proxy
# gets its keys under their names), BENCH_CAPACITY_PROXIES ("main seed"), BENCH_PROXY_ENV (extra
# NAME=value words for this repository's proxy, e.g. "PROXY_WAIT_FOR_KEY_MS=30000"),
# BENCH_SEED_COMMIT (19b9373), BENCH_CAPACITY_PORT_BASE (18300; uses 4 ports from
# there), BENCH_CAPACITY_DECLARE_ORGANIZATIONS=1 (this proxy's keys name their
# organizations; by default each key is its own entry, as before, and the pool must find
# out which share one), PROXY_JAVA_OPTIONS (extra JVM options for both proxies), BENCH_KEEP=1 keeps
# the temp dir with every log. Results: bench/target/capacity-{main,seed}.json, and every
# upstream 429 with the budget's state in bench/target/capacity-{main,seed}-refusals.log.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_MEASURED=${BENCH_CAPACITY_SECONDS:-40}
LOAD=${BENCH_CAPACITY_LOAD:-1.5}
SCALE=${BENCH_CAPACITY_SCALE:-6}
STREAM_FRACTION=${BENCH_CAPACITY_STREAM_FRACTION:-0.2}
LATENCY_MS=${BENCH_CAPACITY_LATENCY_MS:-50}
WARMUP=${BENCH_CAPACITY_WARMUP_SECONDS:-5}
DRAIN=${BENCH_CAPACITY_DRAIN_SECONDS:-30}
PROXIES=${BENCH_CAPACITY_PROXIES:-main seed}
SEED_COMMIT=${BENCH_SEED_COMMIT:-19b9373}
PORT_BASE=${BENCH_CAPACITY_PORT_BASE:-18300}
# One version of everything Jetty: the main pom's.
pom_property() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$ROOT/pom.xml" | head -1; }
JETTY_VERSION=$(pom_property jetty.version)
GSON_VERSION=$(pom_property gson.version)

WORK=$(mktemp -d /tmp/cerebras-capacity.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "capacity: $*" >&2; }

for port in $(seq "$PORT_BASE" $((PORT_BASE + 3))); do
    if ss -Hltn "sport = :$port" | grep -q .; then say "port $port is taken; set BENCH_CAPACITY_PORT_BASE"; exit 1; fi
done

# --- what it needs (Java and Maven only; it installs nothing) ------------------------
WAR=$ROOT/target/cerebras-proxy.war
if [[ " $PROXIES " == *" main "* ]]; then
    if [[ ! -f $WAR ]] || [[ -n $(find "$ROOT/src/main" "$ROOT/pom.xml" -newer "$WAR" -print -quit) ]]; then
        say "building the WAR"
        (cd "$ROOT" && mvn -B -q package -DskipTests) >&2
    fi
fi
SEED_DIR=$ROOT/bench/target/seed-$SEED_COMMIT
SEED_WAR=$SEED_DIR/target/cerebras-proxy.war
if [[ " $PROXIES " == *" seed "* && ! -f $SEED_WAR ]]; then
    say "building the seed's WAR ($SEED_COMMIT)"
    rm -rf "$SEED_DIR" && mkdir -p "$SEED_DIR"
    git -C "$ROOT" archive "$SEED_COMMIT" | tar -x -C "$SEED_DIR"
    (cd "$SEED_DIR" && mvn -B -q package -DskipTests) >&2
fi
BENCH_JAR=$ROOT/bench/target/cerebras-proxy-bench-1.0.0-SNAPSHOT.jar
if [[ ! -f $BENCH_JAR ]] || [[ -n $(find "$ROOT/bench/src" "$ROOT/bench/pom.xml" "$ROOT/src/test/java/dev/cerebrasproxy/simulator" \
        -newer "$BENCH_JAR" -print -quit) ]]; then
    say "building the bench tools and the simulator"
    (cd "$ROOT/bench" && mvn -B -q package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt \
        -Djetty.version="$JETTY_VERSION" -Dgson.version="$GSON_VERSION") >&2
fi
BENCH_CP=$BENCH_JAR:$(cat "$ROOT/bench/target/classpath.txt")
JETTY_HOME=$ROOT/bench/target/jetty-home-$JETTY_VERSION
if [[ ! -f $JETTY_HOME/start.jar ]]; then
    say "fetching jetty-home $JETTY_VERSION"
    (cd "$ROOT/bench" && mvn -B -q dependency:copy -Dartifact=org.eclipse.jetty:jetty-home:"$JETTY_VERSION":tar.gz \
        -DoutputDirectory=target) >&2
    tar -xzf "$ROOT/bench/target/jetty-home-$JETTY_VERSION.tar.gz" -C "$ROOT/bench/target"
fi

# --- the pool and the clients ----------------------------------------------------------
secret() { echo "$1-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
SETTINGS=${BENCH_CAPACITY_SETTINGS:-$WORK/settings.json}
if [[ -z ${BENCH_CAPACITY_SETTINGS:-} ]]; then
    # Per simulated minute. llama3.1-8b: requests per minute bind (30 x 90 tokens < 6000);
    # qwen-3-32b: tokens per minute bind (6600 / 220 = 30 < 60 requests). org-c pays for
    # more of the small model; org-b's large model has only 40 requests a day, spent in
    # the first seconds: what a pool should stop sending to.
    cat >"$SETTINGS" <<EOF
{
  "time_scale": $SCALE,
  "latency_ms": $LATENCY_MS,
  "event_delay_ms": 5,
  "stream_chunks": 4,
  "models": {
    "llama3.1-8b": {"max_completion_tokens": 8192, "completion_tokens": 40,
                    "limits": {"requests_per_minute": 30, "tokens_per_minute": 6000, "requests_per_day": 14400}},
    "qwen-3-32b":  {"max_completion_tokens": 8192, "completion_tokens": 120,
                    "limits": {"requests_per_minute": 60, "tokens_per_minute": 6600, "requests_per_day": 14400}}
  },
  "organizations": {
    "org-a": {"keys": {"a1": "$(secret csk-bench)", "a2": "$(secret csk-bench)"}},
    "org-b": {"keys": {"b1": "$(secret csk-bench)", "b2": "$(secret csk-bench)"},
              "limits": {"qwen-3-32b": {"requests_per_day": 40}}},
    "org-c": {"keys": {"c1": "$(secret csk-bench)"},
              "limits": {"llama3.1-8b": {"requests_per_minute": 60, "tokens_per_minute": 12000}}}
  }
}
EOF
fi
# The proxy holds the simulator's keys under the same names, each its own entry, as
# CEREBRAS_API_KEYS has them today.
KEYS_JSON=$(java -cp "$BENCH_CP" bench.SettingsKeys "$SETTINGS")
# BENCH_CAPACITY_DECLARE_ORGANIZATIONS=1 names each key's organization in its entry instead
# (this proxy only: the seed reads no such entry, so it keeps the plain form).
if [[ ${BENCH_CAPACITY_DECLARE_ORGANIZATIONS:-0} == 1 ]]; then
    MAIN_KEYS_JSON=$(java -cp "$BENCH_CP" bench.SettingsKeys "$SETTINGS" --organizations)
else
    MAIN_KEYS_JSON=$KEYS_JSON
fi
TOKEN_LIGHT_1=$(secret tok-light-1)
TOKEN_LIGHT_2=$(secret tok-light-2)
TOKEN_HEAVY=$(secret tok-heavy)
CLIENT_TOKENS="{\"light-1\":\"$TOKEN_LIGHT_1\",\"light-2\":\"$TOKEN_LIGHT_2\",\"heavy\":\"$TOKEN_HEAVY\"}"
CLIENTS="light-1:$TOKEN_LIGHT_1:1,light-2:$TOKEN_LIGHT_2:1,heavy:$TOKEN_HEAVY:4"
# model:prompt characters:max_completion_tokens. Estimates 130 and 300; costs 90 and 220.
SHAPES="llama3.1-8b:200:80,qwen-3-32b:400:200"

# --- starting and stopping ---------------------------------------------------------
wait_until() { # seconds what command...
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || { say "gave up waiting for $what"; exit 1; }
        sleep 0.2
    done
}
models_ok() { # port token
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "http://127.0.0.1:$1/v1/models") == 200 ]]
}

start_simulator() { # port
    java -Xmx512m -cp "$BENCH_CP" dev.cerebrasproxy.simulator.SimulatorMain --config "$SETTINGS" --port "$1" \
        >"$WORK/simulator-$1.log" 2>&1 &
    PIDS+=($!)
    LAST_PID=$!
    wait_until 30 "the simulator on port $1" curl -sf "http://127.0.0.1:$1/_simulator/stats"
}

# start_proxy name port war simulator-port env-words...
start_proxy() {
    local name=$1 port=$2 war=$3 simulator_port=$4
    shift 4
    local base=$WORK/$name
    cp -r "$ROOT/jetty-base" "$base"
    cp "$war" "$base/webapps/ROOT.war"
    # shellcheck disable=SC2086
    (cd "$base" && exec env CEREBRAS_API_KEYS="${PROXY_KEYS_JSON:-$KEYS_JSON}" CEREBRAS_UPSTREAM_URL="http://127.0.0.1:$simulator_port/v1" "$@" \
        java ${PROXY_JAVA_OPTIONS:-} ${EXTRA_JAVA_OPTIONS:-} -jar "$JETTY_HOME/start.jar" jetty.http.host=127.0.0.1 jetty.http.port="$port" \
        >"$base/proxy.log" 2>&1) &
    PIDS+=($!)
    LAST_PID=$!
    wait_until 90 "the $name proxy on port $port" models_ok "$port" "$TOKEN_HEAVY"
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# run_one name label war simulator-port proxy-port env-words...
run_one() {
    local name=$1 label=$2 war=$3 simulator_port=$4 proxy_port=$5
    shift 5
    say "$label: simulator on $simulator_port, proxy on $proxy_port"
    start_simulator "$simulator_port"
    local simulator_pid=$LAST_PID
    start_proxy "$name" "$proxy_port" "$war" "$simulator_port" "$@"
    local proxy_pid=$LAST_PID
    say "$label: ${WARMUP} s warm-up, then ${SECONDS_MEASURED} s of load (answers may come ${DRAIN} s after)"
    java -Xmx1g -cp "$BENCH_CP" bench.CapacityLoad --proxy "http://127.0.0.1:$proxy_port/v1" \
        --simulator "http://127.0.0.1:$simulator_port" --settings "$SETTINGS" --out "$WORK/$name.json" \
        --clients "$CLIENTS" --shape "$SHAPES" --seconds "$SECONDS_MEASURED" --load "$LOAD" \
        --stream-fraction "$STREAM_FRACTION" --warmup-seconds "$WARMUP" --drain-seconds "$DRAIN" --label "$label" >&2
    stop "$proxy_pid"
    stop "$simulator_pid"
    cp "$WORK/$name.json" "$ROOT/bench/target/capacity-$name.json"
    # Each wasted call, as the simulator saw it (the budget's state) and, for this proxy, as
    # the pool did when it sent it (Budget's debug lines).
    { grep ' refused ' "$WORK/simulator-$simulator_port.log" || true
      grep -h 'dcp.Budget' "$WORK/$name/proxy.log" || true; } >"$ROOT/bench/target/capacity-$name-refusals.log"
    RESULTS+=("$WORK/$name.json")
}

# --- the run -------------------------------------------------------------------------
say "work dir $WORK"
RESULTS=()
# Named by the last commit that changed what goes into the WAR or its deployment.
MAIN_LABEL="this proxy ($(git -C "$ROOT" log -1 --format=%h -- src/main pom.xml jetty-base)$(git -C "$ROOT" diff --quiet HEAD -- src/main pom.xml jetty-base 2>/dev/null || echo '+changes'))"
[[ ${BENCH_CAPACITY_DECLARE_ORGANIZATIONS:-0} == 1 ]] && MAIN_LABEL="$MAIN_LABEL, organizations declared"
for proxy in $PROXIES; do
    case $proxy in
        # shellcheck disable=SC2086
        main) PROXY_KEYS_JSON=$MAIN_KEYS_JSON EXTRA_JAVA_OPTIONS=-Ddev.cerebrasproxy.pool.Budget.LEVEL=DEBUG run_one main "$MAIN_LABEL" "$WAR" "$PORT_BASE" $((PORT_BASE + 1)) PROXY_CLIENT_TOKENS="$CLIENT_TOKENS" ${BENCH_PROXY_ENV:-} ;;
        # The seed predates client tokens: it gets none, and the load generator tells its clients apart.
        seed) run_one seed "seed design ($SEED_COMMIT)" "$SEED_WAR" $((PORT_BASE + 2)) $((PORT_BASE + 3)) ;;
        *) say "unknown proxy '$proxy' in BENCH_CAPACITY_PROXIES (main, seed)"; exit 1 ;;
    esac
done
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); Jetty $JETTY_VERSION"
java -cp "$BENCH_CP" bench.CapacityReport "${RESULTS[@]}"
