#!/usr/bin/env bash
# Where the proxy's CPU goes per request, beside the stock ProxyServlet's: bench/profile.sh [rounds=2] [seconds=15]
#
# Runs the stub, the stock ProxyServlet and the proxy as bench/run.sh deploys them (run
# that once first: it builds the WARs, the bench tools and jetty-home), each JVM with
# async-profiler (tools.profiler:async-profiler from Maven Central) sampling CPU from its
# start, and loads each in turn with wrk (POST, 32 connections): a warm-up, then rounds.
# When the JVMs stop, bench/profile-report.py divides the samples by the requests each
# served: microseconds of CPU per request by where they were spent, and the proxy's own
# code by method. Both JVMs are profiled alike, and the profiler slows both.
# Knobs: BENCH_PROFILE_INTERVAL (2ms), BENCH_PROFILE_WARMUP_SECONDS (20),
# BENCH_PROFILE_PORT_BASE (18500, 3 ports), BENCH_KEEP=1 keeps the profiles.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${1:-2}
SECONDS_PER_ROUND=${2:-15}
INTERVAL=${BENCH_PROFILE_INTERVAL:-2ms}
WARMUP=${BENCH_PROFILE_WARMUP_SECONDS:-20}
BASE=${BENCH_PROFILE_PORT_BASE:-18500}
JETTY_VERSION=$(sed -n 's:.*<jetty.version>\(.*\)</jetty.version>.*:\1:p' "$ROOT/pom.xml" | head -1)
JETTY_HOME=$ROOT/bench/target/jetty-home-$JETTY_VERSION
BENCH_JAR=$ROOT/bench/target/cerebras-proxy-bench-1.0.0-SNAPSHOT.jar
STOCK_WAR=$ROOT/bench/stock-servlet/target/stock-proxy-servlet.war
WAR=$ROOT/target/cerebras-proxy.war
for f in "$JETTY_HOME/start.jar" "$BENCH_JAR" "$STOCK_WAR" "$WAR"; do
    [[ -f $f ]] || { echo "profile: $f is missing; run bench/run.sh once first" >&2; exit 2; }
done
BENCH_CP=$BENCH_JAR:$(cat "$ROOT/bench/target/classpath.txt")
PROFILER=$ROOT/bench/target/async-profiler/linux-x64/libasyncProfiler.so
if [[ ! -f $PROFILER ]]; then
    (cd "$ROOT/bench" && mvn -B -q dependency:copy -Dartifact=tools.profiler:async-profiler:4.2 -DoutputDirectory=target) >&2
    (mkdir -p "$ROOT/bench/target/async-profiler" && cd "$ROOT/bench/target/async-profiler" && unzip -q -o ../async-profiler-4.2.jar)
fi
WORK=$(mktemp -d /tmp/cerebras-profile.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT
CHAT='{"model":"llama3.1-8b","messages":[{"role":"user","content":"Hello"}]}'
printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' "'$CHAT'" >"$WORK/post.lua"
answers() { curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d "$CHAT" "http://127.0.0.1:$1/v1/chat/completions"; }
wait_for() { local deadline=$((SECONDS + 60)); until answers "$1"; do ((SECONDS < deadline)) || { echo "profile: nothing on port $1" >&2; exit 1; }; sleep 0.2; done; }
STORE_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
keytool -genkeypair -alias stub -keyalg EC -groupname secp256r1 -validity 2 -dname CN=localhost -keystore "$WORK/stub.p12" \
    -storetype PKCS12 -storepass "$STORE_PASSWORD" >/dev/null 2>&1
java -Xmx1g -cp "$BENCH_CP" bench.UpstreamStub 127.0.0.1 "$BASE" "$((BASE + 3))" "$WORK/stub.p12" "$STORE_PASSWORD" h2,http/1.1 128 >"$WORK/stub.log" 2>&1 &
PIDS+=($!)
wait_for "$BASE"
declare -A PORT PID SERVED
# start name war port: the WAR on jetty-home with a copy of jetty-base/, profiled from its start.
start() {
    cp -r "$ROOT/jetty-base" "$WORK/$1"
    cp "$2" "$WORK/$1/webapps/ROOT.war"
    (cd "$WORK/$1" && exec env CEREBRAS_API_KEYS="{\"key1\":\"csk-profile-$STORE_PASSWORD\"}" CEREBRAS_UPSTREAM_URL="http://127.0.0.1:$BASE/v1" \
        java -agentpath:"$PROFILER"=start,event=cpu,interval="$INTERVAL",file="$WORK/$1.collapsed" ${PROXY_JAVA_OPTIONS:-} \
        -jar "$JETTY_HOME/start.jar" jetty.http.host=127.0.0.1 jetty.http.port="$3" >"$WORK/$1/proxy.log" 2>&1) &
    PIDS+=($!)
    PID[$1]=$!
    PORT[$1]=$3
    wait_for "$3"
}
mkdir -p "$WORK/stock-war/WEB-INF"
sed -e 's|@SERVLET_CLASS@|org.eclipse.jetty.ee10.proxy.ProxyServlet$Transparent|' -e "s|@PROXY_TO@|http://127.0.0.1:$BASE|" \
    -e 's|@MAX_THREADS@|64|' -e 's|@MAX_CONNECTIONS@|20000|' -e 's|@TIMEOUT@|0|' -e 's|@IDLE_TIMEOUT@|120000|' \
    "$ROOT/bench/stock-servlet/web.xml.template" >"$WORK/stock-war/WEB-INF/web.xml"
cp "$STOCK_WAR" "$WORK/stock-war/stock.war"
(cd "$WORK/stock-war" && jar uf stock.war WEB-INF/web.xml)
start stock "$WORK/stock-war/stock.war" "$((BASE + 1))"
start proxy "$WAR" "$((BASE + 2))"
# load name seconds -> requests served (wrk's count)
load() { wrk -t2 -c32 -d"$2"s --latency -s "$WORK/post.lua" "http://127.0.0.1:${PORT[$1]}/v1/chat/completions" | tee -a "$WORK/wrk.log" | awk '/requests in/ { print $1 }'; }
for t in stock proxy; do echo "profile: warming up $t" >&2; SERVED[$t]=$(load "$t" "$WARMUP"); done
for ((r = 1; r <= ROUNDS; r++)); do
    for t in stock proxy; do
        n=$(load "$t" "$SECONDS_PER_ROUND")
        SERVED[$t]=$((SERVED[$t] + n))
        echo "profile: round $r, $t: $((n / SECONDS_PER_ROUND)) req/s" >&2
    done
done
for t in stock proxy; do kill "${PID[$t]}"; done
for t in stock proxy; do wait "${PID[$t]}" 2>/dev/null || true; done # the profiles are written as the JVMs exit
python3 "$ROOT/bench/profile-report.py" "${INTERVAL%ms}" "$WORK/stock.collapsed" "${SERVED[stock]}" "$WORK/proxy.collapsed" "${SERVED[proxy]}"
[[ ${BENCH_KEEP:-0} == 1 ]] && echo "profile: profiles kept in $WORK" >&2
exit 0
