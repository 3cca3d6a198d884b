package dev.cerebrasproxy.pool;

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

import dev.cerebrasproxy.support.Codings;
import dev.cerebrasproxy.support.EventStream;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHARLIE;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static dev.cerebrasproxy.support.TestData.QUEUE_EXCEEDED;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static dev.cerebrasproxy.support.TestData.WRONG_KEY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What upstream's answers teach the pool ({@link KeyFeedback}), through the real webapp on
 * the proxy's manual clock: which answers quarantine a key, cool it, or leave it alone.
 */
class KeyFeedbackTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().manualClock();

    private static HttpResponse<String> chat() throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), CHAT);
    }

    /** Sends requests until this key has been called {@code times} in all (at most one round of the pool per call). */
    private static void callUntil(String key, long times) throws Exception
    {
        for (int i = 0; i < 3 * times && proxy.upstream().countFor(key) < times; i++)
            assertEquals(200, chat().statusCode());
        assertEquals(times, proxy.upstream().countFor(key));
    }

    private static KeySnapshot snapshotOf(String name)
    {
        return proxy.pool().snapshot().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void aCapacity429GoesToTheClientWithAShortRetryAfterWithoutTryingOtherKeysOrCoolingTheKey() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.bytes(429, "application/json", Codings.gzip(QUEUE_EXCEEDED.getBytes(StandardCharsets.UTF_8)), "Content-Encoding", "gzip"));
        HttpResponse<String> response = chat();
        assertEquals(429, response.statusCode());
        assertEquals(QUEUE_EXCEEDED, response.body(), "upstream's body, decoded for a client that did not accept gzip");
        assertEquals("1", response.headers().firstValue("Retry-After").orElseThrow());
        assertEquals("1000", response.headers().firstValue("retry-after-ms").orElseThrow());
        assertEquals(1, proxy.upstream().received().size(), "another key would not help");
        assertTrue(proxy.pool().snapshot().stream().allMatch(s -> s.state() == KeyState.AVAILABLE));
        assertEquals(1, proxy.pool().snapshot().stream().filter(s -> "queue_exceeded".equals(s.lastError())).count());
    }

    @Test
    void anInvalidKeyIsQuarantinedWithOneWarningAndTheRequestMovesOn() throws Exception
    {
        int mark = LogCapture.mark();
        proxy.upstream().answer(ALPHA, FakeCerebras.json(401, WRONG_KEY));
        for (int i = 0; i < 9; i++)
            assertEquals(200, chat().statusCode());
        assertEquals(1, proxy.upstream().countFor(ALPHA));
        assertEquals(10, proxy.upstream().received().size());
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
        proxy.upstream().answer(ALPHA, FakeCerebras.json(401, WRONG_KEY));
        callUntil(ALPHA, 1);
        proxy.upstream().reset(); // the key works again, e.g. the account was fixed
        proxy.clock().advance(Duration.ofMillis(CooldownPolicy.DEFAULTS.quarantineRecheck().toMillis() - 1));
        for (int i = 0; i < 6; i++)
            chat();
        assertEquals(0, proxy.upstream().countFor(ALPHA), "not before the re-check is due");
        proxy.clock().advance(Duration.ofMillis(1));
        callUntil(ALPHA, 1);
        assertEquals(KeyState.AVAILABLE, snapshotOf("alpha").state());
        callUntil(ALPHA, 2);
    }

    @ParameterizedTest
    @CsvSource({"402, payment_required"})
    void unpaidAndForbiddenKeysAreQuarantinedToo(int status, String code) throws Exception
    {
        proxy.upstream().answer(BRAVO, FakeCerebras.json(status, "{\"message\":\"m\",\"type\":\"t\",\"param\":null,\"code\":\"" + code + "\"}"));
        for (int i = 0; i < 6; i++)
            assertEquals(200, chat().statusCode());
        assertEquals(1, proxy.upstream().countFor(BRAVO));
        assertEquals(status + " " + code, snapshotOf("bravo").lastError());
    }

    @Test
    void aForbiddenModelRestsThatKeyForThatModelOnly() throws Exception
    {
        String forbidden = "{\"message\":\"m\",\"type\":\"t\",\"param\":null,\"code\":\"permission_denied\"}";
        proxy.upstream().route(r -> r.key().equals(BRAVO) && new String(r.body()).contains("llama3.1-8b") ? FakeCerebras.json(403, forbidden) : null);
        for (int i = 0; i < 6; i++)
            assertEquals(200, chat().statusCode());
        assertEquals(1, proxy.upstream().countFor(BRAVO), "another key served it: bravo may not use this model");
        for (int i = 0; i < 6; i++)
            assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), "{\"model\":\"qwen-3-32b\",\"messages\":[]}").statusCode());
        assertEquals(3, proxy.upstream().countFor(BRAVO), "bravo still serves the other model");
        assertEquals(KeyState.AVAILABLE, snapshotOf("bravo").state());
    }

    @Test
    void a403FromEveryKeyIsAboutTheRequestAndPassesOnBenchingNothing() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.json(403, "{\"message\":\"no\",\"code\":\"permission_denied\"}"));
        HttpResponse<String> response = chat();
        assertEquals(403, response.statusCode());
        assertEquals("{\"message\":\"no\",\"code\":\"permission_denied\"}", response.body());
        proxy.upstream().reset();
        for (int i = 0; i < 3; i++)
            assertEquals(200, chat().statusCode());
        assertEquals(1, proxy.upstream().countFor(ALPHA), "alpha serves again at once");
    }

    @Test
    void aSuccessThatSpendsAWindowRestsTheKeyUntilItResets() throws Exception
    {
        proxy.upstream().answer(BRAVO, FakeCerebras.json(200, COMPLETION,
            "x-ratelimit-remaining-tokens-minute", "0", "x-ratelimit-reset-tokens-minute", "12.5"));
        callUntil(BRAVO, 1);
        for (int i = 0; i < 6; i++)
            assertEquals(200, chat().statusCode());
        assertEquals(1, proxy.upstream().countFor(BRAVO), "never met a 429: its headers said it was spent");
        proxy.clock().advance(Duration.ofMillis(12_499));
        chat();
        chat();
        assertEquals(1, proxy.upstream().countFor(BRAVO));
        proxy.clock().advance(Duration.ofMillis(1));
        callUntil(BRAVO, 2);
    }

    @Test
    void aStreamWhoseHeadersSayTheKeyIsSpentStillFlowsEventByEvent() throws Exception
    {
        EventStream events = new EventStream(5);
        proxy.upstream().otherwise((request, response) ->
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
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(401, WRONG_KEY));
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
        assertTrue(proxy.upstream().countFor(ALPHA) <= threads, "alpha: " + proxy.upstream().countFor(ALPHA));
        assertTrue(proxy.upstream().countFor(BRAVO) <= threads, "bravo: " + proxy.upstream().countFor(BRAVO));
        assertEquals(threads * perThread, proxy.upstream().countFor(CHARLIE));
    }
}
