package dev.cerebrasproxy.forward;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyUnderTest;
import jakarta.servlet.ServletOutputStream;
import org.junit.jupiter.api.Test;

import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bounded soak: tens of thousands of mixed requests, half of them streams, about one in
 * ten with an injected fault of every kind, through a pool whose keys cool: one always
 * answers 429, the others now and then. Every request must end in a well-formed answer or a well-formed abnormal
 * end, and afterwards threads, upstream connections and heap must be back at baseline.
 */
class SoakTest
{
    private static final int REQUESTS = Integer.getInteger("soak.requests", 20_000);
    private static final int CONCURRENCY = 64;
    private static final int EVENTS = 5;
    private static final String LIMITED_KEY = "soak-limited";
    private static final String BUSY = "{\"message\":\"We're experiencing high traffic right now! Please try again soon.\",\"type\":\"too_many_requests_error\",\"param\":\"queue\",\"code\":\"queue_exceeded\"}";
    /** Long enough that a loaded 2-core machine never starves a healthy stream that long. */
    private static final long IDLE_TIMEOUT_MS = 8_000;

    /** What a request asks the fake upstream to do, and so what its client must see. */
    enum Kind
    {
        NORMAL, FIRST_429, FIRST_500, FIRST_CLOSE, CLIENT_ERROR, UPSTREAM_BUSY, SILENT, RESET_MID_STREAM, CLIENT_LEAVES
    }

    private final Map<String, AtomicInteger> attemptsById = new ConcurrentHashMap<>();
    /** A silent upstream's wait, ended when its client has its answer. */
    private final Map<String, CountDownLatch> silences = new ConcurrentHashMap<>();

    @Test
    void tensOfThousandsOfMixedRequestsWithFaultsAllEndWellFormedAndLeaveNothingBehind() throws Exception
    {
        try (FakeCerebras upstream = new FakeCerebras();
             // Real time, as in production: the always-429 key cools and comes back every second,
             // and a key that fails once rests briefly.
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream,
                 ProxySettings.API_KEYS, "{\"k1\":\"soak-1\",\"k2\":\"soak-2\",\"k3\":\"soak-3\",\"k4\":\"soak-4\",\"limited\":\"" + LIMITED_KEY + "\"}",
                 ProxySettings.IDLE_TIMEOUT_MS, Long.toString(IDLE_TIMEOUT_MS),
                 ProxySettings.RATE_LIMIT_COOLDOWN_MS, "100",
                 ProxySettings.SERVER_ERROR_COOLDOWN_MS, "50",
                 ProxySettings.MAX_COOLDOWN_MS, "500"))
        {
            upstream.otherwise(this::reply);
            Snapshot atRest = Snapshot.take(proxy, upstream);
            // Warm up (classes loaded, code compiled, caches filled), then let it settle: the baseline.
            run(proxy, 2_000, new Random(1), new TreeMap<>());
            forgetTestRecords(upstream);
            Snapshot baseline = Snapshot.settle(proxy, upstream, atRest);

            Map<String, Integer> outcomes = new TreeMap<>();
            long start = System.nanoTime();
            Map<String, Integer> problems = run(proxy, REQUESTS, new Random(42), outcomes);
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);

            forgetTestRecords(upstream);
            Snapshot after = Snapshot.settle(proxy, upstream, baseline);
            System.out.printf("SOAK %d requests in %d s; outcomes %s; problems %s%nSOAK baseline %s%nSOAK after    %s%n",
                REQUESTS, seconds, outcomes, problems, baseline, after);
            assertEquals(Map.of(), problems);
            // Issue 12 asks for no degraded answer: none closed before any answer byte (those
            // were the test client's; see leave), none stalled until the idle timeout without a
            // silent upstream (those were Jetty's client; see ChunkDemand and SerializedHttp11).
            int degraded = outcomes.entrySet().stream().filter(e -> e.getKey().contains(DEGRADED)).mapToInt(Map.Entry::getValue).sum();
            assertEquals(0, degraded, degraded + " answers were degraded: " + outcomes);
            assertTrue(after.serverThreads <= baseline.serverThreads + 8, "server threads " + baseline.serverThreads + " -> " + after.serverThreads);
            assertTrue(after.busyClientThreads <= baseline.busyClientThreads + 2, "busy client threads " + baseline.busyClientThreads + " -> " + after.busyClientThreads);
            assertTrue(after.upstreamConnections <= Math.max(baseline.upstreamConnections, CONCURRENCY) + 8,
                "upstream connections " + baseline.upstreamConnections + " -> " + after.upstreamConnections);
            assertTrue(after.heapMb <= baseline.heapMb + 32, "heap MB " + baseline.heapMb + " -> " + after.heapMb);
        }
    }

    /** What the test itself keeps per request would otherwise count as the proxy's heap. */
    private void forgetTestRecords(FakeCerebras upstream)
    {
        upstream.forgetReceived();
        attemptsById.clear();
        silences.clear();
    }

    /** Runs n requests, at most CONCURRENCY at a time; returns unexpected outcomes by description. */
    private Map<String, Integer> run(ProxyUnderTest proxy, int n, Random random, Map<String, Integer> outcomes) throws Exception
    {
        Map<String, Integer> problems = new ConcurrentHashMap<>();
        Map<String, Integer> seen = new ConcurrentHashMap<>();
        // A client of its own per run: a connection left idle between runs may be closed by the
        // server just as the client reuses it, which java.net.http reports as a failure for a POST.
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        Semaphore inFlight = new Semaphore(CONCURRENCY);
        ExecutorService readers = Executors.newFixedThreadPool(CONCURRENCY);
        CompletableFuture<?>[] all = new CompletableFuture<?>[n];
        for (int i = 0; i < n; i++)
        {
            Kind kind = pick(random);
            boolean stream = kind == Kind.RESET_MID_STREAM || kind == Kind.CLIENT_LEAVES || random.nextBoolean();
            String id = "r" + i + "-" + random.nextInt(1_000_000);
            String body = "{\"user\":\"" + id + "\",\"fault\":\"" + kind + "\",\"stream\":" + stream + "}";
            inFlight.acquire();
            if (kind == Kind.CLIENT_LEAVES)
            {
                // On a socket of its own: see leave.
                all[i] = CompletableFuture.supplyAsync(() -> leave(proxy, body), readers).handle((outcome, failure) ->
                {
                    String result = failure != null ? "problem: " + failure : outcome;
                    (result.startsWith("problem") ? problems : seen).merge(kind + " " + result, 1, Integer::sum);
                    inFlight.release();
                    return null;
                });
                continue;
            }
            HttpRequest request = HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
            // Bodies are read with blocking calls: on readers of our own, never on the client's I/O threads.
            all[i] = client.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream())
                .handleAsync((response, failure) ->
                {
                    String outcome = failure != null ? failed(failure) : check(id, kind, stream, response);
                    if (kind == Kind.SILENT)
                        silences.computeIfAbsent(id, k -> new CountDownLatch(1)).countDown();
                    (outcome.startsWith("problem") ? problems : seen).merge(kind + " " + outcome, 1, Integer::sum);
                    inFlight.release();
                    return null;
                }, readers);
        }
        CompletableFuture.allOf(all).get(5, TimeUnit.MINUTES);
        readers.shutdown();
        outcomes.putAll(seen);
        return new TreeMap<>(problems);
    }

    private static Kind pick(Random random)
    {
        int roll = random.nextInt(1000);
        if (roll >= 100)
            return Kind.NORMAL; // 90%
        Kind[] faults = {Kind.FIRST_429, Kind.FIRST_500, Kind.FIRST_CLOSE, Kind.CLIENT_ERROR, Kind.UPSTREAM_BUSY, Kind.SILENT, Kind.RESET_MID_STREAM, Kind.CLIENT_LEAVES};
        return faults[roll % faults.length];
    }

    /** The fake upstream's side of each kind of fault. */
    private void reply(FakeCerebras.Received request, jakarta.servlet.http.HttpServletResponse response) throws Exception
    {
        JsonObject body = JsonParser.parseString(new String(request.body(), StandardCharsets.UTF_8)).getAsJsonObject();
        String id = body.get("user").getAsString();
        Kind kind = Kind.valueOf(body.get("fault").getAsString());
        boolean stream = body.get("stream").getAsBoolean();
        if (LIMITED_KEY.equals(request.key()))
        {
            FakeCerebras.json(429, RATE_LIMITED, "retry-after", "1").write(request, response);
            return;
        }
        if (kind == Kind.UPSTREAM_BUSY)
        {
            FakeCerebras.json(429, BUSY).write(request, response);
            return;
        }
        boolean first = attemptsById.computeIfAbsent(id, k -> new AtomicInteger()).getAndIncrement() == 0;
        switch (kind)
        {
            case FIRST_429 -> { if (first) { FakeCerebras.json(429, RATE_LIMITED).write(request, response); return; } }
            case FIRST_500 -> { if (first) { FakeCerebras.json(500, "{\"message\":\"boom\"}").write(request, response); return; } }
            case FIRST_CLOSE -> { if (first) { response.sendError(-1); return; } }
            case CLIENT_ERROR -> { FakeCerebras.json(400, "{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"bad\"}").write(request, response); return; }
            case SILENT -> { response.setContentType("application/json"); response.flushBuffer(); silentUntilTheClientHasItsAnswer(id); return; }
            default -> { }
        }
        if (!stream)
        {
            FakeCerebras.json(200, "{\"user\":\"" + id + "\"}").write(request, response);
            return;
        }
        response.setContentType("text/event-stream");
        ServletOutputStream output = response.getOutputStream();
        for (int i = 0; i < EVENTS; i++)
        {
            FakeCerebras.writeAndFlush(output, "data: {\"user\":\"" + id + "\",\"n\":" + i + "}\n\n");
            if (kind == Kind.RESET_MID_STREAM && i == 1)
            {
                response.sendError(-1);
                return;
            }
        }
        FakeCerebras.writeAndFlush(output, "data: [DONE]\n\n");
    }

    /**
     * Silent until the client has its answer (the proxy's 504 once its idle timeout fired),
     * bounded well under the client's own timeout. A fixed wait just past the idle timeout
     * lost the race now and then on a loaded machine, whose timers run late: upstream's
     * empty 200 came first and the test took it for the proxy's fault.
     */
    private void silentUntilTheClientHasItsAnswer(String id) throws InterruptedException
    {
        silences.computeIfAbsent(id, k -> new CountDownLatch(1)).await(3 * IDLE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        silences.remove(id);
    }

    /**
     * A well-formed answer or abnormal end that a healthy run should not need: the proxy's
     * idle timeout fired on a request that was not meant to be silent, or a connection
     * ended before any answer byte. The aim is none (the idle timeout is long enough that a
     * loaded 2-core machine never starves a healthy exchange that long).
     */
    private static final String DEGRADED = "ok but degraded: ";

    /**
     * A request that got no answer at all. A connection closed before any byte of the answer
     * is an abnormal end a client can tell and retry (the SDKs do), but a healthy proxy
     * never needs it: counted as degraded, and none may be. Anything else is a problem. (The
     * last ones were the test client's, see leave.) A long run: -Dsoak.requests=200000.
     */
    private static String failed(Throwable failure)
    {
        Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
        if (cause instanceof IOException && String.valueOf(cause.getMessage()).contains("header parser received no bytes"))
            return DEGRADED + "connection closed before any answer byte";
        return "problem: " + failure;
    }

    /** "ok ..." for a well-formed answer or a well-formed abnormal end; "problem ..." otherwise. */
    private static String check(String id, Kind kind, boolean stream, HttpResponse<InputStream> response)
    {
        try (InputStream body = response.body())
        {
            int status = response.statusCode();
            switch (kind)
            {
                case CLIENT_ERROR:
                    return status == 400 && errorCode(body).equals("bad") ? "ok 400 passed through" : "problem: status " + status;
                case UPSTREAM_BUSY:
                    return status == 429 && response.headers().firstValue("Retry-After").isPresent() && errorCode(body).equals("queue_exceeded")
                        ? "ok 429 queue_exceeded with Retry-After" : "problem: status " + status;
                case SILENT:
                    return status == 504 && errorCode(body).equals("upstream_timeout") ? "ok 504 upstream_timeout" : "problem: status " + status;
                case FIRST_CLOSE:
                    // Upstream had the request whole: it may have processed it, so it is never replayed.
                    return status == 502 && errorCode(body).equals("upstream_dropped") ? "ok 502 upstream_dropped" : "problem: status " + status;
                default:
                    break;
            }
            if (kind != Kind.RESET_MID_STREAM && status == 504 && errorCode(body).equals("upstream_timeout"))
                return DEGRADED + "504 upstream_timeout";
            if (kind == Kind.RESET_MID_STREAM && status == 502 && errorCode(body).equals("upstream_failed"))
                return "ok 502 upstream_failed (the reset beat the first byte)";
            if (status != 200)
                return "problem: status " + status;
            if (!stream)
            {
                String text = new String(body.readAllBytes(), StandardCharsets.UTF_8);
                return text.equals("{\"user\":\"" + id + "\"}") ? "ok 200" : "problem: body " + text;
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
            for (int i = 0; i < EVENTS; i++)
            {
                String line;
                try
                {
                    line = reader.readLine();
                }
                catch (IOException cut)
                {
                    // A reset can also discard what the proxy had not read yet: an earlier cut is still a cut.
                    return kind == Kind.RESET_MID_STREAM ? "ok abnormal end after " + i + " events" : DEGRADED + "abnormal end after " + i + " events";
                }
                if (line == null)
                    return "problem: the stream ended cleanly after " + i + " events";
                if (!("data: {\"user\":\"" + id + "\",\"n\":" + i + "}").equals(line))
                    return "problem: event " + i + " was " + line;
                reader.readLine();
            }
            if (kind == Kind.RESET_MID_STREAM)
                return "problem: the reset never reached the client";
            if (!"data: [DONE]".equals(reader.readLine()))
                return "problem: no [DONE]";
            // To the end of the body (its terminal chunk), as a client that reuses the
            // connection must: see leave.
            for (String rest = reader.readLine(); rest != null; rest = reader.readLine())
            {
                if (!rest.isEmpty())
                    return "problem: after [DONE]: " + rest;
            }
            return "ok 200 stream";
        }
        catch (IOException e)
        {
            return "problem: " + e;
        }
    }

    /**
     * A client that reads the first event and hangs up, on a socket of its own rather than
     * through the shared java.net.http client; and every other answer is read to its end.
     * The soak's last degraded requests (about one in 20,000, 2026-12-02) were the shared
     * client's. Traced by request id through the proxy's log lines, three of four never
     * reached the proxy at all and the fourth was answered whole by it in 6 ms, each failing
     * in the client with "header parser received no bytes" on a pooled connection; no
     * departure had been noticed, nothing cut upstream. The test stopped reading answers early
     * then (closing a stream's body after its first event, or after [DONE] before its
     * terminal chunk, and a 400's body unread), which makes java.net.http close a connection
     * its pool may be handing to the next request. Read to the end, with leavers on their own
     * sockets, the runs since had none (a 200,000-request run included). The other degraded
     * kind, an answer stalled until the proxy's idle timeout, was Jetty's client: see
     * ChunkDemand and SerializedHttp11.
     */
    private static String leave(ProxyUnderTest proxy, String body)
    {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", proxy.port()))
        {
            socket.setSoTimeout(30_000);
            dev.cerebrasproxy.support.RawHttp.writeRequest(socket, "POST", "/v1/chat/completions", body);
            String read = dev.cerebrasproxy.support.RawHttp.readUntil(socket.getInputStream(), "\"n\":0}");
            return read.startsWith("HTTP/1.1 200 ") ? "ok client left after the first event" : "problem: " + read.lines().findFirst().orElse("");
        }
        catch (IOException e)
        {
            return "problem: " + e;
        }
    }

    private static String errorCode(InputStream body) throws IOException
    {
        JsonObject error = JsonParser.parseString(new String(body.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        return error.keySet().equals(java.util.Set.of("message", "type", "param", "code")) ? error.get("code").getAsString() : "not in the error shape";
    }

    /**
     * The server's threads (its pool returns idle ones after a second), the proxy's busy
     * upstream-client threads, all live threads of the JVM (for the record), the fake's
     * open connections from the proxy, and used heap after a full GC.
     */
    record Snapshot(int serverThreads, int busyClientThreads, int jvmThreads, int upstreamConnections, long heapMb)
    {
        static Snapshot take(ProxyUnderTest proxy, FakeCerebras upstream)
        {
            MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
            memory.gc();
            return new Snapshot(proxy.serverThreads(), proxy.busyClientThreads(), ManagementFactory.getThreadMXBean().getThreadCount(),
                upstream.openConnections(), memory.getHeapMemoryUsage().getUsed() / (1024 * 1024));
        }

        /** Polls, with a bound, for the counts to come back down to a reference; returns the last snapshot. */
        static Snapshot settle(ProxyUnderTest proxy, FakeCerebras upstream, Snapshot reference)
        {
            Snapshot[] last = {take(proxy, upstream)};
            Poll.until(Duration.ofSeconds(40), Duration.ofMillis(250), () ->
            {
                last[0] = take(proxy, upstream);
                return last[0].serverThreads <= reference.serverThreads + 8
                    && last[0].busyClientThreads <= reference.busyClientThreads + 2
                    && last[0].heapMb <= reference.heapMb + 32;
            });
            return last[0];
        }
    }
}
