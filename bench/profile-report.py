#!/usr/bin/env python3
"""CPU per request from two async-profiler collapsed profiles (bench/profile.sh).

profile-report.py INTERVAL_MS STOCK.collapsed STOCK_REQUESTS PROXY.collapsed PROXY_REQUESTS

Each sample stands for INTERVAL_MS of CPU; divided by the requests that JVM served, it
gives microseconds per request: first by where the time went (the thread's entry), then,
for the proxy, its own code (the deepest dev.cerebrasproxy frame of a sample with no
Jetty I/O below it) by method.
"""
import collections
import sys

# First match wins: a sample belongs to the first entry its stack names.
PLACES = [
    ("JIT compiler", "CompileBroker"),
    ("GC", "GangWorker"), ("GC", "ConcurrentGCThread"),
    ("server thread: request, servlet, upstream send", "server/internal/HttpConnection.onFillable"),
    ("client thread: upstream answer, write to client", "HttpConnectionOverHTTP.onFillable"),
    ("client thread: upstream answer, write to client", "HTTP2Connection"),
    ("request log (timer)", "RequestLog"),
    ("departures (timer)", "ClientDepartures"),
    ("selectors", "ManagedSelector"),
    ("demand, completion (client's executor)", "HttpReceiver$$Lambda"),
    ("demand, completion (client's executor)", "ServletChannelState"),
    ("demand, completion (client's executor)", "AsyncContentListener$$Lambda"),
    ("reserved threads", "ReservedThread"),
    ("idle threads polling", "idleJobPoll"),
]
OWN = "dev/cerebrasproxy/"
JETTY_IO = ("org/eclipse/jetty/client/", "org/eclipse/jetty/server/", "org/eclipse/jetty/ee10/", "org/eclipse/jetty/io/", "org/eclipse/jetty/http2/")


def samples(path):
    with open(path) as lines:
        for line in lines:
            stack, _, count = line.rstrip().rpartition(" ")
            yield [frame.split(".0x")[0] for frame in stack.split(";")], int(count)


def places(path):
    found = collections.Counter()
    for frames, count in samples(path):
        stack = ";".join(frames)
        found[next((name for name, mark in PLACES if mark in stack), "other")] += count
    return found


def own_code(path):
    found = collections.Counter()
    for frames, count in samples(path):
        ours = [i for i, frame in enumerate(frames) if OWN in frame]
        if ours and not any(frame.startswith(JETTY_IO) for frame in frames[ours[-1] + 1:]):
            found[frames[ours[-1]].split("/")[-1]] += count
    return found


def main():
    interval_us = float(sys.argv[1]) * 1000
    stock, stock_requests, proxy, proxy_requests = sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    per = lambda count, requests: count * interval_us / requests
    a, b = places(stock), places(proxy)
    print(f"CPU per request (us), from {stock_requests} and {proxy_requests} requests, a sample every {sys.argv[1]} ms\n")
    print("| where | stock ProxyServlet | cerebras-proxy |\n|---|---:|---:|")
    for name in sorted(set(a) | set(b), key=lambda n: -per(b[n], proxy_requests)):
        print(f"| {name} | {per(a[name], stock_requests):.1f} | {per(b[name], proxy_requests):.1f} |")
    jit = "JIT compiler"
    print(f"| **all but the JIT** | **{per(sum(a.values()) - a[jit], stock_requests):.1f}** | **{per(sum(b.values()) - b[jit], proxy_requests):.1f}** |\n")
    own = own_code(proxy)
    print(f"The proxy's own code: {per(sum(own.values()), proxy_requests):.1f} us per request; by method:\n")
    print("| method | us per request |\n|---|---:|")
    for method, count in own.most_common(15):
        print(f"| {method} | {per(count, proxy_requests):.2f} |")


if __name__ == "__main__":
    main()
