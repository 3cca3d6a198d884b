#!/usr/bin/env bash
# The proxy's benchmark, one command: bench/run.sh
#
# Starts everything itself on loopback, measures, prints the tables, and stops all it
# started on exit. What runs:
#   stub    a Jetty-core server answering like Cerebras (bench/src/.../UpstreamStub.java):
#           HTTP/1.1 and prior-knowledge h2c on one port, and TLS with ALPN (h2, http/1.1)
#           on another, with a self-signed certificate made for this run (keytool)
#   proxy   the built WAR on a jetty-home distribution with this repository's jetty-base/,
#           configured by CEREBRAS_API_KEYS / CEREBRAS_UPSTREAM_URL, as deployed
#   proxy-h2 the same WAR again with PROXY_UPSTREAM_PROTOCOL=h2 (prior-knowledge h2c to the
#           plain stub, h2 by ALPN to the TLS one), so both transports to upstream are
#           measured in the same rounds
#   before1, before2, ...  with BENCH_BEFORE="<commit> [<commit>...]": the proxy's WAR built
#           from each commit (git archive into bench/target/before-<commit>, tests skipped),
#           deployed like proxy, so a change's before and after come from the same run
#   stock   Jetty's stock ee10 ProxyServlet.Transparent (bench/stock-servlet/), deployed the
#           same way on a copy of the same jetty-base/, with the proxy's web.xml sizes
#   core    Jetty's core ProxyHandler.Reverse (bench/src/.../CoreProxy.java), embedded, with
#           the thread pool, accept queue and client sizes of jetty-base/ and web.xml
#   nginx   Debian's nginx as a plain reverse proxy (proxy_pass, one fixed key,
#           upstream keepalive), 2 workers, non-daemon, config generated in a temp dir
# and measures with wrk (non-streaming), bench/src/.../{StreamProbe,ManyStreams}.java
# (streams, which wrk cannot time per event) and, when asked, h2load (clients over h2c).
#
# Knobs (environment):
#   BENCH_SECONDS (per wrk point, default 10), BENCH_WARMUP_SECONDS (3, before each point),
#   BENCH_ROUNDS (5: non-streaming rounds at 1 and 32 connections, each target in turn),
#   BENCH_PROXY_WARMUP_SECONDS (45, once per JVM under test for its JIT),
#   BENCH_TARGETS ("direct nginx core stock proxy proxy-h2"; direct and proxy are always measured),
#   BENCH_UPSTREAM (plain | tls: what the throughput and latency sections proxy to),
#   BENCH_UPSTREAM_PROTOCOL (passed to the proxy as PROXY_UPSTREAM_PROTOCOL, auto | h2 |
#       http/1.1, and used by the core handler's client; unset, the proxy's default),
#   BENCH_STREAMS (10000), BENCH_STREAMS_UPSTREAM (tls | plain, default tls),
#   BENCH_STREAMS_HEAP (256m: the many-streams proxy's -Xmx),
#   BENCH_STUB_ALPN (h2,http/1.1: what the stub's TLS port offers, in its order),
#   BENCH_STUB_H2_MAX_STREAMS (128: the stub's SETTINGS_MAX_CONCURRENT_STREAMS),
#   BENCH_STOCK_SERVLET (org.eclipse.jetty.ee10.proxy.ProxyServlet$Transparent),
#   BENCH_CLIENT_H2C=1 (adds h2c to the copies of jetty-base and to the core handler, and
#       a section measuring clients over h2c with h2load),
#   BENCH_PORT_BASE (18100; uses 9 ports from there, and one more per BENCH_BEFORE commit), BENCH_NGINX_ACCESS_LOG (on),
#   BENCH_BEFORE (commits: adds a target per commit, before1 ..., with that commit's WAR),
#   PROXY_JAVA_OPTIONS (extra JVM options, for the proxy and the two Jetty references
#       alike), BENCH_KEEP=1 keeps the temp dir with every log.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER_POINT=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-5}
# A JVM needs its JIT to finish before it is measured, as it is in production; on a busy
# 2-core machine that takes tens of seconds.
PROXY_WARMUP=${BENCH_PROXY_WARMUP_SECONDS:-45}
STREAMS=${BENCH_STREAMS:-10000}
UPSTREAM=${BENCH_UPSTREAM:-plain}
STREAMS_UPSTREAM=${BENCH_STREAMS_UPSTREAM:-tls}
STUB_ALPN=${BENCH_STUB_ALPN:-h2,http/1.1}
STUB_H2_MAX_STREAMS=${BENCH_STUB_H2_MAX_STREAMS:-128}
STOCK_SERVLET=${BENCH_STOCK_SERVLET:-'org.eclipse.jetty.ee10.proxy.ProxyServlet$Transparent'}
CLIENT_H2C=${BENCH_CLIENT_H2C:-0}
read -r -a TARGETS <<<"${BENCH_TARGETS:-direct nginx core stock proxy proxy-h2}"
PORT_BASE=${BENCH_PORT_BASE:-18100}
STUB_PORT=$PORT_BASE
NGINX_PORT=$((PORT_BASE + 1))
PROXY_PORT=$((PORT_BASE + 2))
REPLAY_PORT=$((PORT_BASE + 3))
STREAMS_PORT=$((PORT_BASE + 4))
STOCK_PORT=$((PORT_BASE + 5))
CORE_PORT=$((PORT_BASE + 6))
STUB_TLS_PORT=$((PORT_BASE + 7))
PROXY_H2_PORT=$((PORT_BASE + 8))
read -r -a BEFORES <<<"${BENCH_BEFORE:-}"
BEFORE_TARGETS=()
for i in "${!BEFORES[@]}"; do BEFORE_TARGETS+=("before$((i + 1))"); done
# One Jetty version for everything: the one the proxy is built with.
JETTY_VERSION=$(sed -n 's:.*<jetty.version>\(.*\)</jetty.version>.*:\1:p' "$ROOT/pom.xml" | head -1)
CHAT='{"model":"llama3.1-8b","messages":[{"role":"user","content":"Hello"}]}'

case $UPSTREAM in plain | tls) ;; *) echo "BENCH_UPSTREAM must be plain or tls" >&2; exit 2 ;; esac
case $STREAMS_UPSTREAM in plain | tls) ;; *) echo "BENCH_STREAMS_UPSTREAM must be plain or tls" >&2; exit 2 ;; esac
case ${BENCH_UPSTREAM_PROTOCOL:-auto} in auto | h2 | http/1.1) ;; *) echo "BENCH_UPSTREAM_PROTOCOL must be auto, h2 or http/1.1" >&2; exit 2 ;; esac
for t in "${TARGETS[@]}"; do
    case $t in direct | nginx | core | stock | proxy | proxy-h2) ;; *) echo "BENCH_TARGETS: unknown target $t" >&2; exit 2 ;; esac
done
has_target() { [[ " ${TARGETS[*]} direct proxy ${BEFORE_TARGETS[*]} " == *" $1 "* ]]; }
before_index() { echo $((${1#before} - 1)); } # before2 -> 1
ORDER=()
for t in direct nginx core stock "${BEFORE_TARGETS[@]}" proxy proxy-h2; do has_target "$t" && ORDER+=("$t"); done

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
if [[ $CLIENT_H2C == 1 ]] && ! command -v h2load >/dev/null; then need_packages+=(nghttp2-client); fi
if ((${#need_packages[@]})); then
    say "installing ${need_packages[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi
# 10,000 streams hold 20,000 sockets in the proxy (client side and upstream side).
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# Over HTTP/1.1 each stream holds two sockets in the proxy (client side and upstream
# side); over h2 to upstream (TLS with ALPN h2, the proxy's auto, or h2 asked for) the
# upstream side is a few shared connections, so one. Where the hard limit is lower than
# that (containers without CAP_SYS_RESOURCE), run as many streams as fit and say so.
SOCKETS_PER_STREAM=2
if [[ ${BENCH_UPSTREAM_PROTOCOL:-auto} == h2 ]] || [[ $STREAMS_UPSTREAM == tls && ${BENCH_UPSTREAM_PROTOCOL:-auto} == auto && $STUB_ALPN == h2* ]]; then
    SOCKETS_PER_STREAM=1
fi
FD_LIMIT=$(ulimit -n)
if ((STREAMS * SOCKETS_PER_STREAM + 1000 > FD_LIMIT)); then
    say "ulimit -n is $FD_LIMIT and cannot be raised: running $(((FD_LIMIT - 1000) / SOCKETS_PER_STREAM)) streams instead of $STREAMS"
    STREAMS_NOTE=" (capped from $STREAMS: ulimit -n is $FD_LIMIT, a stream takes $SOCKETS_PER_STREAM socket(s) in the proxy)"
    STREAMS=$(((FD_LIMIT - 1000) / SOCKETS_PER_STREAM))
fi
for port in $STUB_PORT $NGINX_PORT $PROXY_PORT $REPLAY_PORT $STREAMS_PORT $STOCK_PORT $CORE_PORT $STUB_TLS_PORT $PROXY_H2_PORT; do
    if ss -Hltn "sport = :$port" | grep -q .; then say "port $port is taken; set BENCH_PORT_BASE"; exit 1; fi
done

newer() { [[ ! -f $1 ]] || [[ -n $(find "${@:2}" -newer "$1" -print -quit) ]]; }
WAR=$ROOT/target/cerebras-proxy.war
if newer "$WAR" "$ROOT/src/main" "$ROOT/pom.xml"; then
    say "building the WAR"
    (cd "$ROOT" && mvn -B -q package -DskipTests) >&2
fi
for i in "${!BEFORES[@]}"; do
    BEFORES[$i]=$(git -C "$ROOT" rev-parse --short "${BEFORES[$i]}")
    dir=$ROOT/bench/target/before-${BEFORES[$i]}
    if [[ ! -f $dir/target/cerebras-proxy.war ]]; then
        say "building the WAR of ${BEFORES[$i]} (BENCH_BEFORE)"
        rm -rf "$dir" && mkdir -p "$dir"
        git -C "$ROOT" archive "${BEFORES[$i]}" | tar -x -C "$dir"
        (cd "$dir" && mvn -B -q package -DskipTests) >&2
    fi
done
BENCH_JAR=$ROOT/bench/target/cerebras-proxy-bench-1.0.0-SNAPSHOT.jar
if newer "$BENCH_JAR" "$ROOT/bench/src" "$ROOT/bench/pom.xml" "$ROOT/pom.xml"; then
    say "building the bench tools"
    (cd "$ROOT/bench" && mvn -B -q -Djetty.version="$JETTY_VERSION" package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt) >&2
fi
STOCK_WAR=$ROOT/bench/stock-servlet/target/stock-proxy-servlet.war
if has_target stock && newer "$STOCK_WAR" "$ROOT/bench/stock-servlet/pom.xml" "$ROOT/pom.xml"; then
    say "building the stock servlet's WAR"
    (cd "$ROOT/bench/stock-servlet" && mvn -B -q -Djetty.version="$JETTY_VERSION" package) >&2
fi
BENCH_CP=$BENCH_JAR:$(cat "$ROOT/bench/target/classpath.txt")
JETTY_HOME=$ROOT/bench/target/jetty-home-$JETTY_VERSION
if [[ ! -f $JETTY_HOME/start.jar ]]; then
    say "fetching jetty-home $JETTY_VERSION"
    (cd "$ROOT/bench" && mvn -B -q -Djetty.version="$JETTY_VERSION" dependency:copy \
        -Dartifact=org.eclipse.jetty:jetty-home:$JETTY_VERSION:tar.gz -DoutputDirectory=target) >&2
    tar -xzf "$ROOT/bench/target/jetty-home-$JETTY_VERSION.tar.gz" -C "$ROOT/bench/target"
fi

# --- the project's own settings, which the references copy ---------------------------
ini_value() { sed -n "s/^$2=//p" "$ROOT/jetty-base/start.d/$1" | tail -1; }
# The first <param-value> after <param-name>$1</param-name> in web.xml: the proxy servlet's.
web_param() {
    awk -v name="$1" '/<param-name>/ { n = $0; gsub(/.*<param-name>|<\/param-name>.*/, "", n) }
        /<param-value>/ && n == name { v = $0; gsub(/.*<param-value>|<\/param-value>.*/, "", v); print v; exit }' \
        "$ROOT/src/main/webapp/WEB-INF/web.xml"
}
SERVER_THREADS=$(ini_value threadpool.ini jetty.threadPool.maxThreads)
ACCEPT_QUEUE=$(ini_value http.ini jetty.http.acceptQueueSize)
SERVER_IDLE=$(ini_value http.ini jetty.http.idleTimeout)
AGGREGATION=$(ini_value http.ini jetty.httpConfig.outputAggregationSize)
CLIENT_THREADS=$(web_param maxThreads)
MAX_CONNECTIONS=$(web_param maxConnections)
MAX_QUEUED=$(web_param maxRequestsQueuedPerDestination)
TOTAL_TIMEOUT=$(web_param timeout)
UPSTREAM_IDLE=120000 # PROXY_IDLE_TIMEOUT_MS's default
for v in SERVER_THREADS ACCEPT_QUEUE SERVER_IDLE AGGREGATION CLIENT_THREADS MAX_CONNECTIONS MAX_QUEUED TOTAL_TIMEOUT; do
    [[ -n ${!v} ]] || { say "could not read $v from jetty-base/start.d or web.xml"; exit 1; }
done

# --- TLS: a certificate for this run only ----------------------------------------------
STORE_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
keytool -genkeypair -alias stub -keyalg EC -groupname secp256r1 -validity 2 -dname CN=localhost \
    -ext SAN=ip:127.0.0.1,dns:localhost -keystore "$WORK/stub.p12" -storetype PKCS12 \
    -storepass "$STORE_PASSWORD" -keypass "$STORE_PASSWORD" >/dev/null 2>&1
keytool -exportcert -rfc -alias stub -keystore "$WORK/stub.p12" -storepass "$STORE_PASSWORD" -file "$WORK/stub.pem" >/dev/null 2>&1
keytool -importcert -noprompt -alias stub -file "$WORK/stub.pem" -keystore "$WORK/trust.p12" -storetype PKCS12 \
    -storepass "$STORE_PASSWORD" >/dev/null 2>&1
TRUST_OPTS="-Djavax.net.ssl.trustStore=$WORK/trust.p12 -Djavax.net.ssl.trustStorePassword=$STORE_PASSWORD -Djavax.net.ssl.trustStoreType=PKCS12"
upstream_url() { if [[ $1 == tls ]]; then echo "https://127.0.0.1:$STUB_TLS_PORT"; else echo "http://127.0.0.1:$STUB_PORT"; fi; }
UPSTREAM_URL=$(upstream_url "$UPSTREAM")

# --- starting and stopping ---------------------------------------------------------
cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$CHAT'
wrk.headers["Content-Type"] = "application/json"
EOF
printf '%s' "$CHAT" >"$WORK/chat.json"
wait_for_port() { # port seconds
    local deadline=$((SECONDS + $2))
    until curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d "$CHAT" "http://127.0.0.1:$1/v1/chat/completions"; do
        ((SECONDS < deadline)) || { say "nothing answers on port $1"; exit 1; }
        sleep 0.2
    done
}
warm_up() { wrk -t2 -c32 -d"$PROXY_WARMUP"s -s "$WORK/post.lua" "http://127.0.0.1:$1/v1/chat/completions" >/dev/null; }

start_stub() {
    java -Xmx1g -cp "$BENCH_CP" bench.UpstreamStub 127.0.0.1 "$STUB_PORT" "$STUB_TLS_PORT" "$WORK/stub.p12" "$STORE_PASSWORD" \
        "$STUB_ALPN" "$STUB_H2_MAX_STREAMS" >"$WORK/stub.log" 2>&1 &
    PIDS+=($!)
    wait_for_port "$STUB_PORT" 30
}
# What the stub counted since the last call (connections per listener, requests by version), then counts afresh.
stub_counts() { curl -s "http://127.0.0.1:$STUB_PORT/_stub/connections?reset=1"; }

start_nginx() {
    local dir=$WORK/nginx
    mkdir -p "$dir/tmp"
    local access_log="access_log $dir/access.log;"
    [[ ${BENCH_NGINX_ACCESS_LOG:-on} == on ]] || access_log="access_log off;"
    local pass="http://cerebras"
    [[ $UPSTREAM == tls ]] && pass="https://cerebras"
    local server="127.0.0.1:$STUB_PORT"
    [[ $UPSTREAM == tls ]] && server="127.0.0.1:$STUB_TLS_PORT"
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
    upstream cerebras { server $server; keepalive 512; }
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        location / {
            proxy_pass $pass;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer $(key)";
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $WORK/stub.pem;
            proxy_ssl_name localhost;
            proxy_ssl_session_reuse on;
        }
    }
}
EOF
    nginx -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;' >"$dir/stdout.log" 2>&1 &
    PIDS+=($!)
    wait_for_port "$NGINX_PORT" 30
}

key() { echo "csk-bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }

# new_base name war: a copy of jetty-base/ with the WAR as ROOT.war (and h2c if asked).
new_base() {
    local base=$WORK/$1
    cp -r "$ROOT/jetty-base" "$base"
    cp "$2" "$base/webapps/ROOT.war"
    [[ $CLIENT_H2C == 1 ]] && printf '# Added by bench/run.sh (BENCH_CLIENT_H2C=1)\n--module=http2c\n' >"$base/start.d/http2c.ini"
    echo "$base"
}

# start_proxy name port keys-json [upstream [protocol [war]]]: the WAR on jetty-home with a copy of
# jetty-base/; protocol (else BENCH_UPSTREAM_PROTOCOL, else the proxy's default) as PROXY_UPSTREAM_PROTOCOL.
start_proxy() {
    local base
    base=$(new_base "$1" "${6:-$WAR}")
    local url
    url=$(upstream_url "${4:-$UPSTREAM}")
    local protocol=()
    local asked=${5:-${BENCH_UPSTREAM_PROTOCOL:-}}
    [[ -n $asked ]] && protocol=(PROXY_UPSTREAM_PROTOCOL="$asked")
    # shellcheck disable=SC2086
    (cd "$base" && exec env CEREBRAS_API_KEYS="$3" CEREBRAS_UPSTREAM_URL="$url/v1" \
        PROXY_UPSTREAM_TRUST_STORE="$WORK/trust.p12" PROXY_UPSTREAM_TRUST_STORE_PASSWORD="$STORE_PASSWORD" "${protocol[@]}" \
        java ${PROXY_JAVA_OPTIONS:-} -jar "$JETTY_HOME/start.jar" jetty.http.host=127.0.0.1 jetty.http.port="$2" \
        >"$base/proxy.log" 2>&1) &
    PIDS+=($!)
    LAST_PID=$!
    wait_for_port "$2" 60
    warm_up "$2"
}

# The stock ProxyServlet.Transparent, deployed like the proxy: its web.xml from the template.
start_stock() {
    local dir=$WORK/stock-war
    mkdir -p "$dir/WEB-INF"
    sed -e "s|@SERVLET_CLASS@|$STOCK_SERVLET|" -e "s|@PROXY_TO@|$UPSTREAM_URL|" -e "s|@MAX_THREADS@|$CLIENT_THREADS|" \
        -e "s|@MAX_CONNECTIONS@|$MAX_CONNECTIONS|" -e "s|@TIMEOUT@|$TOTAL_TIMEOUT|" -e "s|@IDLE_TIMEOUT@|$UPSTREAM_IDLE|" \
        "$ROOT/bench/stock-servlet/web.xml.template" >"$dir/WEB-INF/web.xml"
    cp "$STOCK_WAR" "$dir/stock.war"
    (cd "$dir" && jar uf stock.war WEB-INF/web.xml)
    local base
    base=$(new_base stock "$dir/stock.war")
    # shellcheck disable=SC2086
    (cd "$base" && exec java ${PROXY_JAVA_OPTIONS:-} $TRUST_OPTS -jar "$JETTY_HOME/start.jar" jetty.http.host=127.0.0.1 \
        jetty.http.port="$STOCK_PORT" >"$base/proxy.log" 2>&1) &
    PIDS+=($!)
    STOCK_PID=$!
    wait_for_port "$STOCK_PORT" 60
    warm_up "$STOCK_PORT"
}

start_core() {
    local h2c=false
    [[ $CLIENT_H2C == 1 ]] && h2c=true
    # shellcheck disable=SC2086
    java ${PROXY_JAVA_OPTIONS:-} $TRUST_OPTS -cp "$BENCH_CP" bench.CoreProxy 127.0.0.1 "$CORE_PORT" "$UPSTREAM_URL" \
        "$SERVER_THREADS" "$ACCEPT_QUEUE" "$SERVER_IDLE" "$AGGREGATION" "$CLIENT_THREADS" "$MAX_CONNECTIONS" "$MAX_QUEUED" \
        "$UPSTREAM_IDLE" "${BENCH_UPSTREAM_PROTOCOL:-auto}" "$h2c" >"$WORK/core.log" 2>&1 &
    PIDS+=($!)
    CORE_PID=$!
    wait_for_port "$CORE_PORT" 60
    warm_up "$CORE_PORT"
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# --- measuring ---------------------------------------------------------------------

to_ms() { # wrk's "254.00us" / "1.23ms" / "1.01s" to milliseconds
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

threads_for() { if (($1 < 2)); then echo 1; else echo 2; fi; }

# wrk_point url connections seconds -> "rps p50ms p99ms errors"
wrk_point() {
    local out
    out=$(wrk -t"$(threads_for "$2")" -c"$2" -d"$3"s --latency -s "$WORK/post.lua" "$1")
    echo "$out" >>"$WORK/wrk.log"
    local rps p50 p99 non2xx socket
    rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
    p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
    p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
    non2xx=$(echo "$out" | awk '/Non-2xx/ { print $NF }')
    socket=$(echo "$out" | awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }')
    echo "$rps $p50 $p99 $((${non2xx:-0} + ${socket:-0}))"
}

url_of() { # target -> the URL wrk loads
    case $1 in
        direct) echo "$UPSTREAM_URL/v1/chat/completions" ;;
        nginx) echo "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" ;;
        core) echo "http://127.0.0.1:$CORE_PORT/v1/chat/completions" ;;
        stock) echo "http://127.0.0.1:$STOCK_PORT/v1/chat/completions" ;;
        proxy) echo "http://127.0.0.1:$PROXY_PORT/v1/chat/completions" ;;
        proxy-h2) echo "http://127.0.0.1:$PROXY_H2_PORT/v1/chat/completions" ;;
        before*) echo "http://127.0.0.1:$((PORT_BASE + 9 + $(before_index "$1")))/v1/chat/completions" ;;
        *) echo "http://127.0.0.1:$1/v1/chat/completions" ;;
    esac
}

# measure target connections -> warm up, then one measured point: "rps p50ms p99ms errors
# upstream", where upstream is how the stub saw the point's requests (h1, h2 or both).
measure() {
    wrk -t"$(threads_for "$2")" -c"$2" -d"$WARMUP"s -s "$WORK/post.lua" "$(url_of "$1")" >/dev/null
    stub_counts >/dev/null
    local point counts
    point=$(wrk_point "$(url_of "$1")" "$2" "$SECONDS_PER_POINT")
    counts=$(stub_counts)
    echo "$point $(echo "$counts" | tr ' ' '\n' | awk -F= '$1 == "requests_http1" { h1 = $2 } $1 == "requests_h2" { h2 = $2 }
        END { if (h2 > 0 && h1 > 0) print "h1+h2"; else if (h2 > 0) print "h2"; else print "h1" }')"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column_of() { local i=$1; shift; for r in "$@"; do read -r -a f <<<"$r"; echo "${f[$i]}"; done; }

# --- the run -------------------------------------------------------------------------
say "work dir $WORK"
say "Jetty $JETTY_VERSION; server threads $SERVER_THREADS, accept queue $ACCEPT_QUEUE, client threads $CLIENT_THREADS, max connections $MAX_CONNECTIONS (from jetty-base/ and web.xml)"
start_stub
has_target nginx && start_nginx
has_target core && { say "warming up the core ProxyHandler"; start_core; }
has_target stock && { say "warming up the stock ProxyServlet"; start_stock; }
BEFORE_PIDS=()
for t in "${BEFORE_TARGETS[@]}"; do
    i=$(before_index "$t")
    say "warming up the proxy of ${BEFORES[$i]} ($t)"
    start_proxy "$t" "$((PORT_BASE + 9 + i))" "{\"key1\":\"$(key)\"}" "$UPSTREAM" "${BENCH_UPSTREAM_PROTOCOL:-}" \
        "$ROOT/bench/target/before-${BEFORES[$i]}/target/cerebras-proxy.war"
    BEFORE_PIDS+=("$LAST_PID")
done
say "warming up the proxy"
start_proxy proxy "$PROXY_PORT" "{\"key1\":\"$(key)\"}"
PROXY_PID=$LAST_PID
if has_target proxy-h2; then
    say "warming up the proxy over h2 to upstream"
    start_proxy proxy-h2 "$PROXY_H2_PORT" "{\"key1\":\"$(key)\"}" "$UPSTREAM" h2
    PROXY_H2_PID=$LAST_PID
fi

declare -A R ROUND_RPS VIA
for conns in 1 32; do
    declare -A POINTS=()
    for ((round = 1; round <= ROUNDS; round++)); do
        for t in "${ORDER[@]}"; do
            say "non-streaming: round $round/$ROUNDS, $t at $conns connections"
            POINTS[$t]+="$(measure "$t" "$conns");"
        done
    done
    for t in "${ORDER[@]}"; do
        IFS=';' read -r -a rs <<<"${POINTS[$t]%;}"
        R[$t:$conns]="$(median $(column_of 0 "${rs[@]}")) $(median $(column_of 1 "${rs[@]}")) $(median $(column_of 2 "${rs[@]}")) $(column_of 3 "${rs[@]}" | awk '{ s += $1 } END { print s + 0 }')"
        ROUND_RPS[$t:$conns]=$(column_of 0 "${rs[@]}" | awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $1 }')
        VIA[$t]=$(column_of 4 "${rs[@]}" | sort -u | paste -sd/)
    done
    unset POINTS
done
for t in "${ORDER[@]}"; do
    say "non-streaming: $t at 256 connections"
    R[$t:256]=$(measure "$t" 256)
done

say "streaming: time to first event and per-event delay, each target in turn"
PROBE_ARGS=()
for t in "${ORDER[@]}"; do PROBE_ARGS+=("$t=$(url_of "$t")"); done
# shellcheck disable=SC2086
java $TRUST_OPTS -cp "$BENCH_CP" bench.StreamProbe 5 30 20 20 "${PROBE_ARGS[@]}" >"$WORK/probe.out"
declare -A S
while read -r label rest; do S[$label]=$rest; done <"$WORK/probe.out"

H2C_LINES=()
if [[ $CLIENT_H2C == 1 ]]; then
    say "clients over h2c (h2load, 32 connections, 1 stream each), each target in turn"
    declare -A HP=()
    for ((round = 1; round <= 3; round++)); do
        for t in "${ORDER[@]}"; do
            [[ $t == nginx ]] && continue # nginx's h2 needs TLS or a listener of its own; not a reference here
            url=$(url_of "$t")
            [[ $t == direct ]] && url="http://127.0.0.1:$STUB_PORT/v1/chat/completions"
            out=$(h2load -c32 -m1 -t2 -D "$SECONDS_PER_POINT" --warm-up-time="$WARMUP" -d "$WORK/chat.json" -H 'content-type: application/json' "$url" 2>&1)
            echo "$out" >>"$WORK/h2load.log"
            rps=$(echo "$out" | awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "req/s,") print $i }')
            bad=$(echo "$out" | awk '/^requests:/ { print $10 + $12 }')
            HP[$t]+="${rps:-0} ${bad:-0};"
        done
    done
    for t in "${!HP[@]}"; do
        IFS=';' read -r -a rs <<<"${HP[$t]%;}"
        H2C_LINES+=("$t $(median $(column_of 0 "${rs[@]}")) $(column_of 1 "${rs[@]}" | awk '{ s += $1 } END { print s + 0 }')")
    done
fi
stop "$PROXY_PID"
has_target proxy-h2 && stop "$PROXY_H2_PID"
for pid in "${BEFORE_PIDS[@]}"; do stop "$pid"; done
has_target core && stop "$CORE_PID"
has_target stock && stop "$STOCK_PID"

say "replay: one always-429 key in a pool of five"
start_proxy replay "$REPLAY_PORT" "{\"k1\":\"$(key)\",\"k2\":\"$(key)\",\"k3\":\"$(key)-ratelimited\",\"k4\":\"$(key)\",\"k5\":\"$(key)\"}"
REPLAY_PID=$LAST_PID
start_proxy proxy-again "$PROXY_PORT" "{\"key1\":\"$(key)\"}"
AGAIN_PID=$LAST_PID
R[replay:32]=$(measure "$REPLAY_PORT" 32)
R[proxy-again:32]=$(measure "$PROXY_PORT" 32)
stop "$REPLAY_PID"
stop "$AGAIN_PID"

say "many streams: $STREAMS concurrent, 8 events 4 s apart, to the stub over $STREAMS_UPSTREAM"
STREAMS_HEAP=${BENCH_STREAMS_HEAP:-256m}
# The many-streams proxy gets a heap of this size at most (-Xmx), so the run shows the
# streams fit in it: with the JVM's default (a quarter of RAM) it lets garbage pile up,
# and the peak heap used says little about what the streams need.
PROXY_JAVA_OPTIONS="${PROXY_JAVA_OPTIONS:-} -Xmx$STREAMS_HEAP" start_proxy streams "$STREAMS_PORT" "{\"key1\":\"$(key)\"}" "$STREAMS_UPSTREAM"
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
stub_counts >/dev/null
MS=$(java -Xmx2g -cp "$BENCH_CP" bench.ManyStreams "http://127.0.0.1:$STREAMS_PORT/v1/chat/completions" "$STREAMS" 8 4000 1000 \
    127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5 120 2>"$WORK/many-streams.err")
UPSTREAM_COUNTS=$(stub_counts)
PEAK_RSS_KB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$STREAMS_PID/status")
stop "$JSTAT"
stop "$SAMPLER"
PEAK_THREADS=$(awk '{ if ($2 > m) m = $2 } END { print m + 0 }' "$WORK/proc-samples.log")
# jstat -gc: S0U S1U EU OU are columns 3, 4, 6, 8 (KB); heap used is their sum.
PEAK_HEAP_KB=$(awk 'NR > 1 && $1 ~ /^[0-9.]+$/ { u = $3 + $4 + $6 + $8; if (u > m) m = u } END { printf "%d", m }' "$WORK/jstat.log")
HEAP_MAX_KB=$(awk 'NR > 1 && $1 ~ /^[0-9.]+$/ { c = $1 + $2 + $5 + $7; if (c > m) m = c } END { printf "%d", m }' "$WORK/jstat.log")
stop "$STREAMS_PID"
head -5 "$WORK/many-streams.err" >&2 || true

# --- the tables ----------------------------------------------------------------------
label_of() {
    case $1 in
        direct) echo "direct to stub" ;;
        nginx) echo "nginx" ;;
        core) echo "core ProxyHandler" ;;
        stock) echo "stock ProxyServlet" ;;
        proxy) echo "cerebras-proxy" ;;
        proxy-h2) echo "cerebras-proxy, h2 upstream" ;;
        before*) echo "cerebras-proxy at ${BEFORES[$(before_index "$1")]}" ;;
    esac
}
REFS=()
for t in stock core nginx direct; do has_target "$t" && REFS+=("$t"); done
RATIO_HEAD="" RATIO_RULE=""
for r in "${REFS[@]}"; do RATIO_HEAD+=" | x $r"; RATIO_RULE+="|---:"; done
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "Jetty $JETTY_VERSION; upstream: $UPSTREAM ($UPSTREAM_URL); proxy upstream protocol: ${BENCH_UPSTREAM_PROTOCOL:-its default}$(has_target proxy-h2 && echo ", proxy-h2's: h2"); core handler's: ${BENCH_UPSTREAM_PROTOCOL:-auto}"
echo "${SECONDS_PER_POINT} s per point after ${WARMUP} s warm-up; 1 and 32 connections: median of $ROUNDS rounds, targets in turn"
echo
echo "1. Non-streaming POST /v1/chat/completions (wrk, keep-alive; 2 threads, 1 for 1 conn). Ratios are req/s over the reference's."
echo
echo "| target | conns | upstream | req/s | p50 (ms) | p99 (ms) | errors$RATIO_HEAD |"
echo "|---|---:|---|---:|---:|---:|---:$RATIO_RULE|"
for conns in 1 32 256; do
    for t in "${ORDER[@]}"; do
        r=(${R[$t:$conns]})
        line=$(printf '| %s | %s | %s | %.0f | %s | %s | %s' "$(label_of "$t")" "$conns" "${VIA[$t]:-?}" "${r[0]}" "${r[1]}" "${r[2]}" "${r[3]}")
        for ref in "${REFS[@]}"; do
            rr=(${R[$ref:$conns]})
            if [[ $ref == "$t" ]]; then line+=" | -"; else line+=" | $(ratio "${r[0]}" "${rr[0]}")"; fi
        done
        echo "$line |"
    done
done
echo
echo "Each round's req/s (1 and 32 connections), in the order measured:"
for conns in 1 32; do
    for t in "${ORDER[@]}"; do echo "- $(label_of "$t"), $conns conns: ${ROUND_RPS[$t:$conns]}"; done
done
added() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f", a - b }'; }
echo
for conns in 1 32; do
    d=(${R[direct:$conns]})
    line="Added p50 latency over direct at $conns conns (median p50 minus direct's):"
    for t in "${ORDER[@]}"; do
        [[ $t == direct ]] && continue
        r=(${R[$t:$conns]})
        line+=" $(label_of "$t") $(added "${r[1]}" "${d[1]}") ms;"
    done
    echo "${line%;}"
done
p=(${R[proxy:1]}) d=(${R[direct:1]})
line="1-conn p50 added by cerebras-proxy as a ratio of the reference's added:"
for ref in stock core nginx; do
    has_target "$ref" || continue
    rr=(${R[$ref:1]})
    line+=" x $ref $(awk -v a="${p[1]}" -v b="${rr[1]}" -v d="${d[1]}" 'BEGIN { if (b - d > 0) printf "%.2f", (a - d) / (b - d); else print "-" }');"
done
echo "${line%;}"
for t in "${BEFORE_TARGETS[@]}"; do
    line="cerebras-proxy over $(label_of "$t"), req/s:"
    for conns in 1 32 256; do
        p=(${R[proxy:$conns]}) b=(${R[$t:$conns]})
        line+=" ${conns} conns x$(ratio "${p[0]}" "${b[0]}");"
    done
    echo "${line%;}"
done
echo
echo "2. Streaming (30 streams x 20 events, 20 ms apart, targets in turn; microseconds). Ratios are the added per-event p50 over the reference's added."
echo
SREFS=()
for r in stock core nginx; do has_target "$r" && SREFS+=("$r"); done
head_="" rule_=""
for r in "${SREFS[@]}"; do head_+=" | x $r"; rule_+="|---:"; done
echo "| path | first event p50 | first event p99 | event travel p50 | event travel p99 | added per event p50 | errors$head_ |"
echo "|---|---:|---:|---:|---:|---:|---:$rule_|"
sd_p50=$(field "${S[direct]}" event_p50_us)
for t in "${ORDER[@]}"; do
    line=${S[$t]}
    add=$(($(field "$line" event_p50_us) - sd_p50))
    row=$(printf '| %s | %s | %s | %s | %s | %+d | %s' "$(label_of "$t")" "$(field "$line" ttfe_p50_us)" "$(field "$line" ttfe_p99_us)" \
        "$(field "$line" event_p50_us)" "$(field "$line" event_p99_us)" "$add" "$(field "$line" errors)")
    for ref in "${SREFS[@]}"; do
        radd=$(($(field "${S[$ref]}" event_p50_us) - sd_p50))
        if [[ $ref == "$t" || $t == direct ]]; then row+=" | -"; else row+=" | $(ratio "$add" "$radd")"; fi
    done
    echo "$row |"
done
echo
for t in proxy proxy-h2; do
    has_target "$t" || continue
    echo "Added by $(label_of "$t"): first event p50 +$(($(field "${S[$t]}" ttfe_p50_us) - $(field "${S[direct]}" ttfe_p50_us))) us, per event p50 +$(($(field "${S[$t]}" event_p50_us) - sd_p50)) us, p99 +$(($(field "${S[$t]}" event_p99_us) - $(field "${S[direct]}" event_p99_us))) us"
done
echo
echo "3. Many streams through the proxy (-Xmx$STREAMS_HEAP), opened 1,000 a second, each 8 events 4 s apart (28 s), upstream $STREAMS_UPSTREAM (the stub's ALPN: $STUB_ALPN, $STUB_H2_MAX_STREAMS streams per h2 connection)${STREAMS_NOTE:-}"
echo
up_label=plain
[[ $STREAMS_UPSTREAM == tls ]] && up_label=tls
echo "| streams | completed | errors | max open at once | upstream connections (opened / most open at once) | upstream requests h1 / h2 | proxy peak RSS | peak heap used (committed) | threads idle -> peak |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|"
printf '| %s | %s | %s | %s | %s / %s | %s / %s | %d MB | %d MB (%d MB) | %s -> %s |\n' "$(field "$MS" streams)" "$(field "$MS" completed)" \
    "$(field "$MS" errors)" "$(field "$MS" max_open)" "$(field "$UPSTREAM_COUNTS" ${up_label}_accepted)" "$(field "$UPSTREAM_COUNTS" ${up_label}_max_open)" \
    "$(field "$UPSTREAM_COUNTS" requests_http1)" "$(field "$UPSTREAM_COUNTS" requests_h2)" \
    $((PEAK_RSS_KB / 1024)) $((PEAK_HEAP_KB / 1024)) $((HEAP_MAX_KB / 1024)) "$IDLE_THREADS" "$PEAK_THREADS"
echo
echo "4. Replay cost at 32 conns (one always-429 key of five: 1 request in 5 is sent twice)"
echo
r=(${R[replay:32]}) a=(${R[proxy-again:32]})
echo "| proxy | req/s | p50 (ms) | p99 (ms) | errors | ratio |"
echo "|---|---:|---:|---:|---:|---|"
printf '| %s | %.0f | %s | %s | %s | %s |\n' "one key, all good" "${a[0]}" "${a[1]}" "${a[2]}" "${a[3]}" "-"
printf '| %s | %.0f | %s | %s | %s | %s |\n' "five keys, one always 429" "${r[0]}" "${r[1]}" "${r[2]}" "${r[3]}" "$(ratio "${r[0]}" "${a[0]}")x one key"
if ((${#H2C_LINES[@]})); then
    echo
    echo "5. Clients over h2c (h2load, 32 connections x 1 stream, median of 3 rounds, targets in turn)"
    echo
    declare -A H=()
    for l in "${H2C_LINES[@]}"; do read -r t rps bad <<<"$l"; H[$t]="$rps $bad"; done
    echo "| target | req/s | failed | x stock | x core | x direct |"
    echo "|---|---:|---:|---:|---:|---:|"
    for t in direct core stock proxy; do
        [[ -n ${H[$t]:-} ]] || continue
        h=(${H[$t]})
        row=$(printf '| %s | %.0f | %s' "$(label_of "$t")" "${h[0]}" "${h[1]}")
        for ref in stock core direct; do
            hr=(${H[$ref]:-0 0})
            if [[ $ref == "$t" ]]; then row+=" | -"; else row+=" | $(ratio "${h[0]}" "${hr[0]}")"; fi
        done
        echo "$row |"
    done
fi
