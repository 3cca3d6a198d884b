package dev.cerebrasproxy.forward;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import com.google.gson.JsonObject;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.pool.KeyState;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.UpstreamTransport;
import dev.cerebrasproxy.support.ProxyUnderTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHARLIE;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** 429 and 500 are absorbed by the next key; the client sees them only when no key is left. */
@ParameterizedClass
@EnumSource(UpstreamTransport.class)
class ReplayTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension();

    @Parameter
    UpstreamTransport transport;

    @BeforeParameterizedClassInvocation
    static void over(UpstreamTransport transport) throws Exception
    {
        proxy.over(transport);
    }

    @Test
    void a429IsAbsorbedByTheNextKey() throws Exception
    {
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "7"));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(429, RATE_LIMITED));
        for (int i = 0; i < 6; i++)
        {
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
            assertEquals(200, response.statusCode());
            assertEquals(COMPLETION, response.body());
            assertFalse(response.headers().firstValue("retry-after").isPresent());
        }
        assertEquals(6, proxy.upstream().countFor(CHARLIE));
    }

    @Test
    void a500IsAbsorbedByTheNextKey() throws Exception
    {
        proxy.upstream().answer(BRAVO, FakeCerebras.json(500, "{\"message\":\"Internal server error\",\"type\":\"server_error\",\"param\":null,\"code\":null}"));
        for (int i = 0; i < 6; i++)
            assertEquals(200, Http.post(proxy.uri("/chat/completions"), CHAT).statusCode());
        assertTrue(proxy.upstream().countFor(BRAVO) >= 1);
        assertEquals(6 + proxy.upstream().countFor(BRAVO), proxy.upstream().received().size());
    }

    @Test
    void everyAttemptSendsIdenticalBytesAndHeaders() throws Exception
    {
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(500, "{}"));
        byte[] body = new byte[200_000];
        new java.util.Random(7).nextBytes(body);
        HttpResponse<byte[]> response = Http.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .header("Content-Type", "application/vnd.msgpack")
            .header("X-Trace", "t-1")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build());
        assertEquals(200, response.statusCode());
        List<FakeCerebras.Received> attempts = proxy.upstream().received();
        assertEquals(3, attempts.size());
        String expected = sha256(body);
        for (FakeCerebras.Received attempt : attempts)
        {
            assertEquals(expected, sha256(attempt.body()));
            assertEquals("application/vnd.msgpack", attempt.header("Content-Type"));
            assertEquals("t-1", attempt.header("X-Trace"));
            assertEquals("/v1/chat/completions", attempt.target());
        }
        assertEquals(Set.of(ALPHA, BRAVO, CHARLIE), attempts.stream().map(FakeCerebras.Received::key).collect(Collectors.toSet()));
    }

    @Test
    void whenEveryKeyFailsTheClientGets503InCerebrasErrorShape() throws Exception
    {
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "12"));
        proxy.upstream().answer(CHARLIE, FakeCerebras.json(500, "{\"message\":\"boom\"}"));
        HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
        assertEquals(503, response.statusCode());
        // charlie's 500 benches nothing (no other key served this request), so charlie could take
        // the retry at once: the shortest Retry-After, a second
        assertEquals("1", response.headers().firstValue("Retry-After").orElseThrow(), "the soonest any key recovers");
        long retryAfterMs = Long.parseLong(response.headers().firstValue("retry-after-ms").orElseThrow());
        assertTrue(retryAfterMs > 0 && retryAfterMs <= 1000, "retry-after-ms " + retryAfterMs);
        JsonObject error = Http.error(response);
        assertEquals("server_error", error.get("type").getAsString());
        assertEquals("no_key_available", error.get("code").getAsString());
        assertEquals("", error.get("param").getAsString());
        assertEquals("No API key of the proxy's pool could serve this request (3 tried: 2 answered 429, 1 answered 500). Retry after 1 s.", error.get("message").getAsString());
        assertEquals(3, proxy.upstream().received().size(), "each key tried exactly once");
        assertFalse(response.body().contains("SECRET"));
    }

    @Test
    void a500FromEveryKeyIsAboutTheRequestAndReachesTheClientWithoutBenchingAKey() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.json(500, "{\"message\":\"boom\"}"));
        HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
        assertEquals(500, response.statusCode());
        assertEquals("{\"message\":\"boom\"}", response.body());
        assertEquals(3, proxy.upstream().received().size(), "each key tried once");
        assertTrue(proxy.pool().snapshot().stream().allMatch(s -> s.state() == KeyState.AVAILABLE));
    }

    @Test
    void workingKeysShareTheLoadEvenlyWhileOthersFail() throws Exception
    {
        try (FakeCerebras fake = new FakeCerebras();
             ProxyUnderTest fiveKeys = ProxyUnderTest.start(fake, ProxySettings.API_KEYS,
                 "{\"ok1\":\"k-ok1\",\"ok2\":\"k-ok2\",\"bad1\":\"k-bad1\",\"bad2\":\"k-bad2\",\"ok3\":\"k-ok3\"}"))
        {
            fake.answer("k-bad1", FakeCerebras.json(429, RATE_LIMITED));
            fake.answer("k-bad2", FakeCerebras.json(500, "{}"));
            for (int i = 0; i < 30; i++)
                assertEquals(200, Http.post(fiveKeys.uri("/v1/chat/completions"), CHAT).statusCode());
            Map<String, Long> served = new HashMap<>();
            for (String key : List.of("k-ok1", "k-ok2", "k-ok3"))
                served.put(key, fake.countFor(key));
            for (long n : served.values())
                assertTrue(n >= 8 && n <= 12, "each working key serves 10 +- 2: " + served);
        }
    }

    @Test
    void aReplayIsLoggedWithTheKeyNameAndUpstreamsReasonButNoSecret() throws Exception
    {
        int mark = LogCapture.mark();
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(429, RATE_LIMITED));
        Http.post(proxy.uri("/v1/chat/completions"), CHAT);
        Http.post(proxy.uri("/v1/chat/completions"), CHAT);
        // The request lines are written off the request's thread, within RequestLog.BATCH_MILLIS.
        Poll.untilTrue(Duration.ofSeconds(10), "the request line", () -> LogCapture.since(mark).contains("POST /v1/chat/completions 200 key=charlie attempts="));
        String log = LogCapture.since(mark);
        assertTrue(log.contains("key alpha answered 429 (request_quota_exceeded: Requests per minute limit exceeded - too many requests sent.); replaying with the next key"), log);
        assertTrue(log.contains("POST /v1/chat/completions 200 key=charlie attempts="), log);
        assertFalse(log.contains("SECRET"), log);
    }

    @Test
    void anUpstreamErrorThatEchoesTheKeyIsRedactedInTheLog() throws Exception
    {
        int mark = LogCapture.mark();
        proxy.upstream().route(r -> r.key().equals(ALPHA) ? FakeCerebras.json(429, "{\"message\":\"Key " + ALPHA + " is over quota\",\"code\":\"request_quota_exceeded\"}") : null);
        Http.post(proxy.uri("/v1/chat/completions"), CHAT);
        Http.post(proxy.uri("/v1/chat/completions"), CHAT);
        String log = LogCapture.since(mark);
        assertTrue(log.contains("Key <key alpha> is over quota"), log);
        assertFalse(log.contains(ALPHA), log);
    }

    static String sha256(byte[] bytes) throws Exception
    {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
