package dev.cerebrasproxy.forward;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.google.gson.JsonObject;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.ProxyUnderTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHARLIE;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * When no key can serve ({@link NoKeyAvailable}): the 503 comes at once and says when the
 * soonest key is back, or, for a key that recovers within PROXY_WAIT_FOR_KEY_MS, the
 * request waits for it on a timer. Through the real webapp, on the proxy's manual clock.
 */
class NoKeyAvailableTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().manualClock().settings(ProxySettings.WAIT_FOR_KEY_MS, "1000");

    private static HttpResponse<String> chat() throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), CHAT);
    }

    /** Every key gets a 429 with these Retry-After seconds, from one request that tries them all. */
    private static void coolAllKeys(String alpha, String bravo, String charlie) throws Exception
    {
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after", alpha));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(429, RATE_LIMITED, "retry-after", bravo));
        proxy.upstream().answer(CHARLIE, FakeCerebras.json(429, RATE_LIMITED, "retry-after", charlie));
        assertEquals(503, chat().statusCode());
        assertEquals(3, proxy.upstream().received().size());
    }

    @Test
    void withEveryKeyCoolingTheClientGets503AtOnceWithTheSoonestRecovery() throws Exception
    {
        coolAllKeys("30", "20", "10");
        proxy.clock().advance(Duration.ofMillis(3_500));
        HttpResponse<String> response = chat();
        assertEquals(503, response.statusCode());
        assertEquals(3, proxy.upstream().received().size(), "no upstream call");
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
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after-ms", "600"));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
        proxy.upstream().answer(CHARLIE, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
        assertEquals(503, chat().statusCode());
        proxy.upstream().reset();

        CompletableFuture<HttpResponse<String>> waiting = Http.CLIENT.sendAsync(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(), HttpResponse.BodyHandlers.ofString());
        proxy.clock().awaitPending(1, Duration.ofSeconds(10));
        assertFalse(waiting.isDone());
        assertEquals(0, proxy.upstream().received().size());
        proxy.clock().advance(Duration.ofMillis(600));
        HttpResponse<String> response = waiting.get(10, TimeUnit.SECONDS);
        assertEquals(200, response.statusCode());
        assertEquals(1, proxy.upstream().countFor(ALPHA));
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
            fake.answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after-ms", "1000"));
            fake.answer(BRAVO, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
            fake.answer(CHARLIE, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
            assertEquals(503, Http.post(real.uri("/v1/chat/completions"), CHAT).statusCode());
            fake.reset();
            HttpResponse<String> response = Http.post(real.uri("/v1/chat/completions"), CHAT);
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
