#!/usr/bin/env bash
# The proxy's benchmark, one command: bench/run.sh
#
# Starts everything itself on loopback, measures, prints one table, and stops all it
# started on exit. What runs:
#   stub    a Jetty-core server answering like Cerebras (bench/src/.../UpstreamStub.java)
#   proxy   the built WAR on a jetty-home 12.1.8 distribution with this repository's
#           jetty-base/, configured by CEREBRAS_API_KEYS / CEREBRAS_UPSTREAM_URL, as deployed
#   nginx   Debian's nginx as a plain reverse proxy (proxy_pass, one fixed key,
#           upstream keepalive), 2 workers, non-daemon, config generated in a temp dir
# and measures with wrk (non-streaming) and bench/src/.../{StreamProbe,ManyStreams}.java
# (streams, which wrk cannot time per event).
#
# Knobs (environment): BENCH_SECONDS (per wrk point, default 10), BENCH_WARMUP_SECONDS (3,
# before each point), BENCH_PROXY_WARMUP_SECONDS (45, once per proxy JVM for its JIT),
# BENCH_STREAMS (10000), BENCH_PORT_BASE (18100; uses 5 ports from there),
# BENCH_NGINX_ACCESS_LOG (on), PROXY_JAVA_OPTIONS (extra JVM options for the proxy),
# BENCH_KEEP=1 keeps the temp dir with every log.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER_POINT=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP_SECONDS:-3}
# A JVM needs its JIT to finish before it is measured, as it is in production; on a busy
# 2-core machine that takes tens of seconds.
PROXY_WARMUP=${BENCH_PROXY_WARMUP_SECONDS:-45}
STREAMS=${BENCH_STREAMS:-10000}
PORT_BASE=${BENCH_PORT_BASE:-18100}
STUB_PORT=$PORT_BASE
NGINX_PORT=$((PORT_BASE + 1))
PROXY_PORT=$((PORT_BASE + 2))
REPLAY_PORT=$((PORT_BASE + 3))
STREAMS_PORT=$((PORT_BASE + 4))
JETTY_VERSION=12.1.8
CHAT='{"model":"llama3.1-8b","messages":[{"role":"user","content":"Hello"}]}'

WORK=$(mktemp -d /tmp/cerebras-bench.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench: $*" >&2; }

# --- what it needs -----------------------------------------------------------------
need_packages=()
command -v nginx >/dev/null || need_packages+=(nginx)
command -v wrk >/dev/null || need_packages+=(wrk)
if ((${#need_packages[@]})); then
    say "installing ${need_packages[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi
# 10,000 streams hold 20,000 sockets in the proxy (client side and upstream side).
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# Each stream holds two sockets in the proxy; where the hard limit is lower than that
# (containers without CAP_SYS_RESOURCE), run as many streams as fit and say so.
FD_LIMIT=$(ulimit -n)
if ((STREAMS * 2 + 1000 > FD_LIMIT)); then
    say "ulimit -n is $FD_LIMIT and cannot be raised: running $(((FD_LIMIT - 1000) / 2)) streams instead of $STREAMS"
    STREAMS_NOTE=" (capped from $STREAMS: ulimit -n is $FD_LIMIT, a stream takes 2 sockets in the proxy)"
    STREAMS=$(((FD_LIMIT - 1000) / 2))
fi
for port in $STUB_PORT $NGINX_PORT $PROXY_PORT $REPLAY_PORT $STREAMS_PORT; do
    if ss -Hltn "sport = :$port" | grep -q .; then say "port $port is taken; set BENCH_PORT_BASE"; exit 1; fi
done

WAR=$ROOT/target/cerebras-proxy.war
if [[ ! -f $WAR ]] || [[ -n $(find "$ROOT/src/main" "$ROOT/pom.xml" -newer "$WAR" -print -quit) ]]; then
    say "building the WAR"
    (cd "$ROOT" && mvn -B -q package -DskipTests) >&2
fi
BENCH_JAR=$ROOT/bench/target/cerebras-proxy-bench-1.0.0-SNAPSHOT.jar
if [[ ! -f $BENCH_JAR ]] || [[ -n $(find "$ROOT/bench/src" "$ROOT/bench/pom.xml" -newer "$BENCH_JAR" -print -quit) ]]; then
    say "building the bench tools"
    (cd "$ROOT/bench" && mvn -B -q package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt) >&2
fi
BENCH_CP=$BENCH_JAR:$(cat "$ROOT/bench/target/classpath.txt")
JETTY_HOME=$ROOT/bench/target/jetty-home-$JETTY_VERSION
if [[ ! -f $JETTY_HOME/start.jar ]]; then
    say "fetching jetty-home $JETTY_VERSION"
    (cd "$ROOT/bench" && mvn -B -q dependency:copy -Dartifact=org.eclipse.jetty:jetty-home:$JETTY_VERSION:tar.gz \
        -DoutputDirectory=target) >&2
    tar -xzf "$ROOT/bench/target/jetty-home-$JETTY_VERSION.tar.gz" -C "$ROOT/bench/target"
fi

# --- starting and stopping ---------------------------------------------------------
cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$CHAT'
wrk.headers["Content-Type"] = "application/json"
EOF
wait_for_port() { # port seconds
    local deadline=$((SECONDS + $2))
    until curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d "$CHAT" "http://127.0.0.1:$1/v1/chat/completions"; do
        ((SECONDS < deadline)) || { say "nothing answers on port $1"; exit 1; }
        sleep 0.2
    done
}

start_stub() {
    java -Xmx1g -cp "$BENCH_CP" bench.UpstreamStub 127.0.0.1 "$STUB_PORT" >"$WORK/stub.log" 2>&1 &
    PIDS+=($!)
    wait_for_port "$STUB_PORT" 30
}

start_nginx() {
    local dir=$WORK/nginx
    mkdir -p "$dir/tmp"
    local access_log="access_log $dir/access.log;"
    [[ ${BENCH_NGINX_ACCESS_LOG:-on} == on ]] || access_log="access_log off;"
    cat >"$dir/nginx.conf" <<EOF
user root;
worker_processes 2;
worker_rlimit_nofile 100000;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 50000; }
http {
    $access_log
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    upstream cerebras { server 127.0.0.1:$STUB_PORT; keepalive 512; }
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        location / {
            proxy_pass http://cerebras;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer $(key)";
        }
    }
}
EOF
    nginx -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;' >"$dir/stdout.log" 2>&1 &
    PIDS+=($!)
    wait_for_port "$NGINX_PORT" 30
}

key() { echo "csk-bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }

# start_proxy name port keys-json: a jetty-home distribution on a copy of jetty-base/.
start_proxy() {
    local base=$WORK/$1
    cp -r "$ROOT/jetty-base" "$base"
    cp "$WAR" "$base/webapps/ROOT.war"
    # shellcheck disable=SC2086
    (cd "$base" && CEREBRAS_API_KEYS=$3 CEREBRAS_UPSTREAM_URL=http://127.0.0.1:$STUB_PORT/v1 \
        exec java ${PROXY_JAVA_OPTIONS:-} -jar "$JETTY_HOME/start.jar" jetty.http.host=127.0.0.1 jetty.http.port="$2" \
        >"$base/proxy.log" 2>&1) &
    PIDS+=($!)
    LAST_PID=$!
    wait_for_port "$2" 60
    wrk -t2 -c32 -d"$PROXY_WARMUP"s -s "$WORK/post.lua" "http://127.0.0.1:$2/v1/chat/completions" >/dev/null
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# --- measuring ---------------------------------------------------------------------

to_ms() { # wrk's "254.00us" / "1.23ms" / "1.01s" to milliseconds
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

threads_for() { if (($1 < 2)); then echo 1; else echo 2; fi; }

# wrk_point port connections seconds -> "rps p50ms p99ms errors"
wrk_point() {
    local out
    out=$(wrk -t"$(threads_for "$2")" -c"$2" -d"$3"s --latency -s "$WORK/post.lua" "http://127.0.0.1:$1/v1/chat/completions")
    echo "$out" >>"$WORK/wrk.log"
    local rps p50 p99 non2xx socket
    rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
    p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
    p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
    non2xx=$(echo "$out" | awk '/Non-2xx/ { print $NF }')
    socket=$(echo "$out" | awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }')
    echo "$rps $p50 $p99 $((${non2xx:-0} + ${socket:-0}))"
}

measure() { # port connections -> warm up, then one measured point
    wrk -t"$(threads_for "$2")" -c"$2" -d"$WARMUP"s -s "$WORK/post.lua" "http://127.0.0.1:$1/v1/chat/completions" >/dev/null
    wrk_point "$1" "$2" "$SECONDS_PER_POINT"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# --- the run -------------------------------------------------------------------------
say "work dir $WORK"
start_stub
start_nginx
start_proxy proxy "$PROXY_PORT" "{\"key1\":\"$(key)\"}"
PROXY_PID=$LAST_PID

declare -A R
for conns in 1 32 256; do
    for target in direct:$STUB_PORT nginx:$NGINX_PORT proxy:$PROXY_PORT; do
        say "non-streaming: ${target%%:*} at $conns connections"
        R[${target%%:*}:$conns]=$(measure "${target##*:}" "$conns")
    done
done

say "streaming: time to first event and per-event delay"
PROBE="java -cp $BENCH_CP bench.StreamProbe"
$PROBE "http://127.0.0.1:$STUB_PORT/v1/chat/completions" 10 20 20 >/dev/null   # warm-up
$PROBE "http://127.0.0.1:$PROXY_PORT/v1/chat/completions" 10 20 20 >/dev/null
SD=$($PROBE "http://127.0.0.1:$STUB_PORT/v1/chat/completions" 30 20 20)
SP=$($PROBE "http://127.0.0.1:$PROXY_PORT/v1/chat/completions" 30 20 20)
stop "$PROXY_PID"

say "replay: one always-429 key in a pool of five"
start_proxy replay "$REPLAY_PORT" "{\"k1\":\"$(key)\",\"k2\":\"$(key)\",\"k3\":\"$(key)-ratelimited\",\"k4\":\"$(key)\",\"k5\":\"$(key)\"}"
REPLAY_PID=$LAST_PID
start_proxy proxy-again "$PROXY_PORT" "{\"key1\":\"$(key)\"}"
AGAIN_PID=$LAST_PID
R[replay:32]=$(measure "$REPLAY_PORT" 32)
R[proxy-again:32]=$(measure "$PROXY_PORT" 32)
stop "$REPLAY_PID"
stop "$AGAIN_PID"

say "many streams: $STREAMS concurrent, 8 events 4 s apart"
start_proxy streams "$STREAMS_PORT" "{\"key1\":\"$(key)\"}"
STREAMS_PID=$LAST_PID
IDLE_THREADS=$(awk '/^Threads:/ { print $2 }' "/proc/$STREAMS_PID/status")
echo 5 >"/proc/$STREAMS_PID/clear_refs" 2>/dev/null || true # resets the peak RSS to now
( while kill -0 "$STREAMS_PID" 2>/dev/null; do
      awk '/^(VmRSS|Threads):/ { printf "%s ", $2 } END { print "" }' "/proc/$STREAMS_PID/status"
      sleep 0.5
  done ) >"$WORK/proc-samples.log" 2>/dev/null &
SAMPLER=$!
PIDS+=($SAMPLER)
jstat -gc "$STREAMS_PID" 500 >"$WORK/jstat.log" 2>/dev/null &
JSTAT=$!
PIDS+=($JSTAT)
MS=$(java -Xmx2g -cp "$BENCH_CP" bench.ManyStreams "http://127.0.0.1:$STREAMS_PORT/v1/chat/completions" "$STREAMS" 8 4000 1000 \
    127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5 120 2>"$WORK/many-streams.err")
PEAK_RSS_KB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$STREAMS_PID/status")
stop "$JSTAT"
stop "$SAMPLER"
PEAK_THREADS=$(awk '{ if ($2 > m) m = $2 } END { print m + 0 }' "$WORK/proc-samples.log")
# jstat -gc: S0U S1U EU OU are columns 3, 4, 6, 8 (KB); heap used is their sum.
PEAK_HEAP_KB=$(awk 'NR > 1 && $1 ~ /^[0-9.]+$/ { u = $3 + $4 + $6 + $8; if (u > m) m = u } END { printf "%d", m }' "$WORK/jstat.log")
HEAP_MAX_KB=$(awk 'NR > 1 && $1 ~ /^[0-9.]+$/ { c = $1 + $2 + $5 + $7; if (c > m) m = c } END { printf "%d", m }' "$WORK/jstat.log")
stop "$STREAMS_PID"
head -5 "$WORK/many-streams.err" >&2 || true

# --- the table -----------------------------------------------------------------------
row() { # label key ratio-text
    local r=(${R[$2]})
    printf '| %-28s | %9.0f | %8s | %8s | %6s | %-14s |\n' "$1" "${r[0]}" "${r[1]}" "${r[2]}" "${r[3]}" "$3"
}
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM; ${SECONDS_PER_POINT} s per point after ${WARMUP} s warm-up"
echo
echo "1. Non-streaming POST /v1/chat/completions (wrk, keep-alive; 2 threads, 1 for 1 conn)"
echo
echo "| target                       |     req/s | p50 (ms) | p99 (ms) | errors | ratio          |"
echo "|------------------------------|-----------|----------|----------|--------|----------------|"
for conns in 1 32 256; do
    d=(${R[direct:$conns]}) n=(${R[nginx:$conns]}) p=(${R[proxy:$conns]})
    row "direct to stub, $conns conns" "direct:$conns" "-"
    row "nginx, $conns conns" "nginx:$conns" "$(ratio "${n[0]}" "${d[0]}")x direct"
    row "cerebras-proxy, $conns conns" "proxy:$conns" "$(ratio "${p[0]}" "${n[0]}")x nginx"
done
added() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f", a - b }'; }
echo
for conns in 1 32; do
    d=(${R[direct:$conns]}) p=(${R[proxy:$conns]}) n=(${R[nginx:$conns]})
    echo "Added latency over direct at $conns conns: proxy p50 $(added "${p[1]}" "${d[1]}") ms, p99 $(added "${p[2]}" "${d[2]}") ms; nginx p50 $(added "${n[1]}" "${d[1]}") ms, p99 $(added "${n[2]}" "${d[2]}") ms"
done
echo
echo "2. Streaming (30 streams x 20 events, 20 ms apart; microseconds)"
echo
echo "| path   | first event p50 | first event p99 | event travel p50 | event travel p99 | errors |"
echo "|--------|-----------------|-----------------|------------------|------------------|--------|"
for pair in "direct:$SD" "proxy:$SP"; do
    line=${pair#*:}
    printf '| %-6s | %15s | %15s | %16s | %16s | %6s |\n' "${pair%%:*}" "$(field "$line" ttfe_p50_us)" "$(field "$line" ttfe_p99_us)" \
        "$(field "$line" event_p50_us)" "$(field "$line" event_p99_us)" "$(field "$line" errors)"
done
echo
echo "Added by the proxy: first event p50 +$(($(field "$SP" ttfe_p50_us) - $(field "$SD" ttfe_p50_us))) us, per event p50 +$(($(field "$SP" event_p50_us) - $(field "$SD" event_p50_us))) us, p99 +$(($(field "$SP" event_p99_us) - $(field "$SD" event_p99_us))) us"
echo
echo "3. Many streams through the proxy, opened 1,000 a second, each 8 events 4 s apart (28 s)${STREAMS_NOTE:-}"
echo
echo "| streams | completed | errors | max open at once | proxy peak RSS | peak heap used (committed) | threads idle -> peak |"
echo "|---------|-----------|--------|------------------|----------------|----------------------------|----------------------|"
printf '| %7s | %9s | %6s | %16s | %11d MB | %11d MB (%7d MB) | %9s -> %-8s |\n' "$(field "$MS" streams)" "$(field "$MS" completed)" \
    "$(field "$MS" errors)" "$(field "$MS" max_open)" $((PEAK_RSS_KB / 1024)) $((PEAK_HEAP_KB / 1024)) $((HEAP_MAX_KB / 1024)) "$IDLE_THREADS" "$PEAK_THREADS"
echo
echo "4. Replay cost at 32 conns (one always-429 key of five: 1 request in 5 is sent twice)"
echo
r=(${R[replay:32]}) a=(${R[proxy-again:32]})
echo "| proxy                          |     req/s | p50 (ms) | p99 (ms) | errors | ratio          |"
echo "|--------------------------------|-----------|----------|----------|--------|----------------|"
printf '| %-30s | %9.0f | %8s | %8s | %6s | %-14s |\n' "one key, all good" "${a[0]}" "${a[1]}" "${a[2]}" "${a[3]}" "-"
printf '| %-30s | %9.0f | %8s | %8s | %6s | %-14s |\n' "five keys, one always 429" "${r[0]}" "${r[1]}" "${r[2]}" "${r[3]}" "$(ratio "${r[0]}" "${a[0]}")x one key"
