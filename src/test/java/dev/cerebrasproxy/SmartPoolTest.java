package dev.cerebrasproxy;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.cerebrasproxy.ReplayTest.ALPHA;
import static dev.cerebrasproxy.ReplayTest.BRAVO;
import static dev.cerebrasproxy.ReplayTest.CHARLIE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pool learns from upstream's answers: through the real webapp, on the proxy's manual clock. */
class SmartPoolTest
{
    static final String QUEUE_EXCEEDED = "{\"message\":\"We're experiencing high traffic right now! Please try again soon.\",\"type\":\"too_many_requests_error\",\"param\":\"queue\",\"code\":\"queue_exceeded\"}";
    static final String WRONG_KEY = "{\"message\":\"Wrong API Key\",\"type\":\"invalid_request_error\",\"param\":\"api_key\",\"code\":\"wrong_api_key\"}";

    private static FakeCerebras upstream;
    private static ProxyUnderTest proxy;

    @BeforeAll
    static void start() throws Exception
    {
        upstream = new FakeCerebras();
        proxy = ProxyUnderTest.startOnManualClock(upstream);
    }

    @AfterAll
    static void stop() throws Exception
    {
        proxy.close();
        upstream.close();
    }

    @BeforeEach
    void reset()
    {
        upstream.reset();
        proxy.pool().reset();
    }

    private static HttpResponse<String> chat() throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), Http.CHAT);
    }

    /** Sends requests until this key has been called {@code times} in all (at most one round of the pool per call). */
    private static void callUntil(String key, long times) throws Exception
    {
        for (int i = 0; i < 3 * times && upstream.countFor(key) < times; i++)
            assertEquals(200, chat().statusCode());
        assertEquals(times, upstream.countFor(key));
    }

    private static KeySnapshot snapshotOf(String name)
    {
        return proxy.pool().snapshot().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    private static byte[] gzip(String text) throws Exception
    {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(bytes))
        {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return bytes.toByteArray();
    }

    @Test
    void aCapacity429GoesToTheClientWithAShortRetryAfterWithoutTryingOtherKeysOrCoolingTheKey() throws Exception
    {
        upstream.otherwise(FakeCerebras.bytes(429, "application/json", gzip(QUEUE_EXCEEDED), "Content-Encoding", "gzip"));
        HttpResponse<String> response = chat();
        assertEquals(429, response.statusCode());
        assertEquals(QUEUE_EXCEEDED, response.body(), "upstream's body, decoded for a client that did not accept gzip");
        assertEquals("1", response.headers().firstValue("Retry-After").orElseThrow());
        assertEquals("1000", response.headers().firstValue("retry-after-ms").orElseThrow());
        assertEquals(1, upstream.received().size(), "another key would not help");
        assertTrue(proxy.pool().snapshot().stream().allMatch(s -> s.state() == KeyState.AVAILABLE));
        assertEquals(1, proxy.pool().snapshot().stream().filter(s -> "queue_exceeded".equals(s.lastError())).count());
    }

    @Test
    void anInvalidKeyIsQuarantinedWithOneWarningAndTheRequestMovesOn() throws Exception
    {
        int mark = LogCapture.mark();
        upstream.answer(ALPHA, FakeCerebras.json(401, WRONG_KEY));
        for (int i = 0; i < 9; i++)
            assertEquals(200, chat().statusCode());
        assertEquals(1, upstream.countFor(ALPHA));
        assertEquals(10, upstream.received().size());
        KeySnapshot alpha = snapshotOf("alpha");
        assertEquals(KeyState.QUARANTINED, alpha.state());
        assertEquals("401 wrong_api_key", alpha.lastError());
        String log = LogCapture.since(mark);
        assertEquals(1, log.split("key alpha is quarantined", -1).length - 1, log);
        assertTrue(log.contains("WARN"), log);
        assertFalse(log.contains("SECRET"), log);
    }

    @Test
    void aQuarantinedKeyReturnsWhenItsRecheckSucceeds() throws Exception
    {
        upstream.answer(ALPHA, FakeCerebras.json(401, WRONG_KEY));
        callUntil(ALPHA, 1);
        upstream.reset(); // the key works again, e.g. the account was fixed
        proxy.clock().advance(Duration.ofMillis(CooldownPolicy.DEFAULTS.quarantineRecheck().toMillis() - 1));
        for (int i = 0; i < 6; i++)
            chat();
        assertEquals(0, upstream.countFor(ALPHA), "not before the re-check is due");
        proxy.clock().advance(Duration.ofMillis(1));
        callUntil(ALPHA, 1);
        assertEquals(KeyState.AVAILABLE, snapshotOf("alpha").state());
        callUntil(ALPHA, 2);
    }

    @ParameterizedTest
    @CsvSource({"402, payment_required", "403, permission_denied"})
    void unpaidAndForbiddenKeysAreQuarantinedToo(int status, String code) throws Exception
    {
        upstream.answer(BRAVO, FakeCerebras.json(status, "{\"message\":\"m\",\"type\":\"t\",\"param\":null,\"code\":\"" + code + "\"}"));
        for (int i = 0; i < 6; i++)
            assertEquals(200, chat().statusCode());
        assertEquals(1, upstream.countFor(BRAVO));
        assertEquals(status + " " + code, snapshotOf("bravo").lastError());
    }

    @Test
    void aSuccessThatSpendsAWindowRestsTheKeyUntilItResets() throws Exception
    {
        upstream.answer(BRAVO, FakeCerebras.json(200, FakeCerebras.COMPLETION,
            "x-ratelimit-remaining-tokens-minute", "0", "x-ratelimit-reset-tokens-minute", "12.5"));
        callUntil(BRAVO, 1);
        for (int i = 0; i < 6; i++)
            assertEquals(200, chat().statusCode());
        assertEquals(1, upstream.countFor(BRAVO), "never met a 429: its headers said it was spent");
        proxy.clock().advance(Duration.ofMillis(12_499));
        chat();
        chat();
        assertEquals(1, upstream.countFor(BRAVO));
        proxy.clock().advance(Duration.ofMillis(1));
        callUntil(BRAVO, 2);
    }

    @Test
    void aStreamWhoseHeadersSayTheKeyIsSpentStillFlowsEventByEvent() throws Exception
    {
        EventStream events = new EventStream(5);
        upstream.otherwise((request, response) ->
        {
            response.setHeader("x-ratelimit-remaining-requests-day", "0");
            response.setHeader("x-ratelimit-reset-requests-day", "33011.38");
            events.reply().write(request, response);
        });
        assertTimeoutPreemptively(Duration.ofSeconds(30), () ->
        {
            HttpResponse<InputStream> response = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"llama3.1-8b\",\"stream\":true,\"messages\":[]}"))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, response.statusCode());
            try (InputStream body = response.body())
            {
                events.readAll(body);
            }
        });
        assertEquals(1, proxy.pool().snapshot().stream().filter(s -> s.state() == KeyState.COOLING).count());
    }

    /**
     * Concurrent clients while one key is rate limited and one is invalid: every request
     * succeeds, and the bad keys cost only the calls that were in flight before the pool
     * learnt about them.
     */
    @Test
    void concurrentClientsAllSucceedAndBadKeysAreLearntOnce() throws Exception
    {
        upstream.answer(ALPHA, FakeCerebras.json(429, ReplayTest.RATE_LIMITED));
        upstream.answer(BRAVO, FakeCerebras.json(401, WRONG_KEY));
        int threads = 8;
        int perThread = 25;
        List<CompletableFuture<Integer>> results = new ArrayList<>();
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        try
        {
            for (int t = 0; t < threads; t++)
            {
                results.add(CompletableFuture.supplyAsync(() ->
                {
                    int ok = 0;
                    for (int i = 0; i < perThread; i++)
                    {
                        try
                        {
                            if (chat().statusCode() == 200)
                                ok++;
                        }
                        catch (Exception e)
                        {
                            throw new IllegalStateException(e);
                        }
                    }
                    return ok;
                }, executor));
            }
            int ok = 0;
            for (CompletableFuture<Integer> result : results)
                ok += result.get(60, TimeUnit.SECONDS);
            assertEquals(threads * perThread, ok);
        }
        finally
        {
            executor.shutdown();
        }
        assertTrue(upstream.countFor(ALPHA) <= threads, "alpha: " + upstream.countFor(ALPHA));
        assertTrue(upstream.countFor(BRAVO) <= threads, "bravo: " + upstream.countFor(BRAVO));
        assertEquals(threads * perThread, upstream.countFor(CHARLIE));
    }

    /** Every key gets a 429 with these Retry-After seconds, from one request that tries them all. */
    private static void coolAllKeys(String alpha, String bravo, String charlie) throws Exception
    {
        upstream.answer(ALPHA, FakeCerebras.json(429, ReplayTest.RATE_LIMITED, "retry-after", alpha));
        upstream.answer(BRAVO, FakeCerebras.json(429, ReplayTest.RATE_LIMITED, "retry-after", bravo));
        upstream.answer(CHARLIE, FakeCerebras.json(429, ReplayTest.RATE_LIMITED, "retry-after", charlie));
        assertEquals(503, chat().statusCode());
        assertEquals(3, upstream.received().size());
    }

    @Test
    void withEveryKeyCoolingTheClientGets503AtOnceWithTheSoonestRecovery() throws Exception
    {
        coolAllKeys("30", "20", "10");
        proxy.clock().advance(Duration.ofMillis(3_500));
        HttpResponse<String> response = chat();
        assertEquals(503, response.statusCode());
        assertEquals(3, upstream.received().size(), "no upstream call");
        assertEquals("7", response.headers().firstValue("Retry-After").orElseThrow(), "6.5 s rounded up");
        assertEquals("6500", response.headers().firstValue("retry-after-ms").orElseThrow());
        assertFalse(response.headers().firstValue("x-should-retry").isPresent());
        JsonObject error = Http.json(response);
        assertEquals("no_key_available", error.get("code").getAsString());
        assertEquals("No API key of the proxy's pool could serve this request (none tried: 3 cooling). Retry after 7 s.", error.get("message").getAsString());
    }

    @Test
    void aRecoveryBeyondWhatSdksWaitTellsThemNotToRetry() throws Exception
    {
        coolAllKeys("3600", "7200", "900");
        HttpResponse<String> response = chat();
        assertEquals("900", response.headers().firstValue("Retry-After").orElseThrow());
        assertEquals("false", response.headers().firstValue("x-should-retry").orElseThrow());
    }

    @Test
    void aKeyRecoveringWithinTheGraceIsWaitedForOnATimer() throws Exception
    {
        upstream.answer(ALPHA, FakeCerebras.json(429, ReplayTest.RATE_LIMITED, "retry-after-ms", "600"));
        upstream.answer(BRAVO, FakeCerebras.json(429, ReplayTest.RATE_LIMITED, "retry-after", "30"));
        upstream.answer(CHARLIE, FakeCerebras.json(429, ReplayTest.RATE_LIMITED, "retry-after", "30"));
        assertEquals(503, chat().statusCode());
        upstream.reset();

        CompletableFuture<HttpResponse<String>> waiting = Http.CLIENT.sendAsync(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .POST(HttpRequest.BodyPublishers.ofString(Http.CHAT)).build(), HttpResponse.BodyHandlers.ofString());
        proxy.clock().awaitPending(1, Duration.ofSeconds(10));
        assertFalse(waiting.isDone());
        assertEquals(0, upstream.received().size());
        proxy.clock().advance(Duration.ofMillis(600));
        HttpResponse<String> response = waiting.get(10, TimeUnit.SECONDS);
        assertEquals(200, response.statusCode());
        assertEquals(1, upstream.countFor(ALPHA));
    }

    /**
     * The same wait on the system clock and the HTTP client's own timer, as in production.
     * The grace is generous so that a slow machine still sends the second request while
     * alpha rests; either way the request must succeed with alpha.
     */
    @Test
    void onSystemTimeTheWaitRunsOnTheProxysOwnTimer() throws Exception
    {
        try (FakeCerebras fake = new FakeCerebras();
             ProxyUnderTest real = ProxyUnderTest.start(fake, ProxySettings.WAIT_FOR_KEY_MS, "5000"))
        {
            fake.answer(ALPHA, FakeCerebras.json(429, ReplayTest.RATE_LIMITED, "retry-after-ms", "1000"));
            fake.answer(BRAVO, FakeCerebras.json(429, ReplayTest.RATE_LIMITED, "retry-after", "30"));
            fake.answer(CHARLIE, FakeCerebras.json(429, ReplayTest.RATE_LIMITED, "retry-after", "30"));
            assertEquals(503, Http.post(real.uri("/v1/chat/completions"), Http.CHAT).statusCode());
            fake.reset();
            HttpResponse<String> response = Http.post(real.uri("/v1/chat/completions"), Http.CHAT);
            assertEquals(200, response.statusCode());
            assertEquals(1, fake.countFor(ALPHA));
            assertEquals(1, fake.received().size());
        }
    }

    @Test
    void aKeyRecoveringAfterTheGraceIsNotWaitedFor() throws Exception
    {
        coolAllKeys("2", "30", "30");
        HttpResponse<String> response = chat();
        assertEquals(503, response.statusCode());
        assertEquals("2", response.headers().firstValue("Retry-After").orElseThrow());
        assertEquals(0, proxy.clock().pending());
    }
}
