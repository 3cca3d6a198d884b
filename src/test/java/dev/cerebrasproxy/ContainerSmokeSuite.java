package dev.cerebrasproxy;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What must hold wherever users deploy the WAR, checked through a real container process
 * configured by environment variables as in production, in front of a fake Cerebras in
 * this JVM. Each subclass names one container; the container runs once for the class
 * (plus once more with bad settings).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ContainerSmokeSuite
{
    private static final List<String> KEY_VALUES = List.of(ReplayTest.ALPHA, ReplayTest.BRAVO, ReplayTest.CHARLIE);
    private static final String REQUEST_LOG_LINE = "POST /v1/chat/completions 200 key=";

    private final ServletContainer container;
    private FakeCerebras upstream;
    private RunningProxy proxy;

    ContainerSmokeSuite(ServletContainer container)
    {
        this.container = container;
    }

    @BeforeAll
    void start() throws Exception
    {
        upstream = new FakeCerebras();
        proxy = container.start(settings(ProxyUnderTest.KEYS));
    }

    @AfterAll
    void stop() throws Exception
    {
        try
        {
            if (proxy != null)
            {
                proxy.close();
                assertTrue(proxy.log().contains(container.stoppedInOrderLine()), container.name() + " did not shut down in order");
                assertNoKeyValueIn(proxy.log(), KEY_VALUES);
            }
        }
        finally
        {
            upstream.close();
        }
    }

    @BeforeEach
    void reset()
    {
        upstream.reset();
    }

    /** The proxy's settings as environment variables: these keys, in front of the fake. */
    private Map<String, String> settings(String keys)
    {
        return Map.of(ProxySettings.API_KEYS, keys, ProxySettings.UPSTREAM_URL, upstream.baseUrl().toString());
    }

    @Test
    void aCompletionGoesThroughWithAKeyFromThePool() throws Exception
    {
        HttpResponse<String> response = proxy.post("/v1/chat/completions", Http.CHAT);
        assertEquals(200, response.statusCode(), response.body());
        assertEquals(FakeCerebras.COMPLETION, response.body());
        FakeCerebras.Received sent = upstream.lastReceived();
        assertEquals("/v1/chat/completions", sent.target());
        assertTrue(KEY_VALUES.contains(sent.key()), "upstream got a key of the pool");
        assertArrayEquals(Http.CHAT.getBytes(StandardCharsets.UTF_8), sent.body());
    }

    @Test
    void streamedEventsReachTheClientBeforeUpstreamSendsTheNext() throws Exception
    {
        EventStream events = new EventStream(10);
        upstream.otherwise(events.reply());
        assertTimeoutPreemptively(Duration.ofSeconds(30), () ->
        {
            HttpResponse<InputStream> response = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"llama3.1-8b\",\"stream\":true,\"messages\":[]}"))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, response.statusCode());
            assertTrue(response.headers().firstValue("Content-Type").orElseThrow().startsWith("text/event-stream"));
            try (InputStream body = response.body())
            {
                events.readAll(body);
            }
        });
        assertFalse(events.gateTimedOut());
    }

    @Test
    void a429FromOneKeyIsAbsorbedByTheNext() throws Exception
    {
        // Whichever key the shared rotation hands out first is rate limited.
        AtomicBoolean first = new AtomicBoolean(true);
        upstream.route(request -> first.getAndSet(false) ? FakeCerebras.json(429, ReplayTest.RATE_LIMITED) : null);
        HttpResponse<String> response = proxy.post("/v1/chat/completions", Http.CHAT);
        assertEquals(200, response.statusCode(), response.body());
        assertEquals(FakeCerebras.COMPLETION, response.body());
        List<FakeCerebras.Received> attempts = upstream.received();
        assertEquals(2, attempts.size());
        assertEquals(2, attempts.stream().map(FakeCerebras.Received::key).collect(Collectors.toSet()).size(), "the replay used another key");
    }

    @Test
    void whenEveryKeyFailsTheClientGets503InCerebrasErrorShape() throws Exception
    {
        upstream.answer(ReplayTest.ALPHA, FakeCerebras.json(429, ReplayTest.RATE_LIMITED, "retry-after", "30"));
        upstream.answer(ReplayTest.BRAVO, FakeCerebras.json(429, ReplayTest.RATE_LIMITED, "retry-after", "12"));
        upstream.answer(ReplayTest.CHARLIE, FakeCerebras.json(500, "{\"message\":\"boom\"}"));
        HttpResponse<String> response = proxy.post("/v1/chat/completions", Http.CHAT);
        assertEquals(503, response.statusCode(), response.body());
        assertEquals("12", response.headers().firstValue("Retry-After").orElseThrow());
        assertTrue(response.headers().firstValue("Content-Type").orElseThrow().startsWith("application/json"));
        JsonObject error = Http.json(response);
        assertEquals(Set.of("message", "type", "param", "code"), error.keySet());
        assertEquals("server_error", error.get("type").getAsString());
        assertEquals("no_key_available", error.get("code").getAsString());
        assertTrue(error.get("param").isJsonNull());
        assertEquals(3, upstream.received().size(), "each key tried once");
    }

    @Test
    void eachRequestLeavesAnInfoLineInTheContainersLog() throws Exception
    {
        int before = proxy.countInLog(REQUEST_LOG_LINE);
        assertEquals(200, proxy.post("/v1/chat/completions", Http.CHAT).statusCode());
        // The line is written as the exchange completes, possibly after the client has the answer.
        Poll.untilTrue(Duration.ofSeconds(10), "the request's log line in " + container.name() + "'s output", () -> proxy.countInLog(REQUEST_LOG_LINE) > before);
        String line = proxy.log().lines().filter(l -> l.contains(REQUEST_LOG_LINE)).reduce((a, b) -> b).orElseThrow();
        assertTrue(line.contains("INFO") && line.contains("attempts=1"), line);
    }

    @Test
    void theLogNeverShowsAKeysValueEvenWhenUpstreamEchoesIt() throws Exception
    {
        AtomicBoolean first = new AtomicBoolean(true);
        upstream.route(request -> first.getAndSet(false)
            ? FakeCerebras.json(429, "{\"message\":\"Key " + request.key() + " is over quota\",\"code\":\"request_quota_exceeded\"}")
            : null);
        assertEquals(200, proxy.post("/v1/chat/completions", Http.CHAT).statusCode());
        Poll.untilTrue(Duration.ofSeconds(10), "the replay's log line", () -> proxy.log().contains("is over quota"));
        assertNoKeyValueIn(proxy.log(), KEY_VALUES);
    }

    @Test
    void withInvalidKeysTheWebappDoesNotStartAndOneLineSaysWhy() throws Exception
    {
        String twin = "sk-twin-SECRET-0009";
        try (RunningProxy broken = container.start(settings("{\"first\":\"" + twin + "\",\"second\":\"" + twin + "\"}")))
        {
            int status = broken.post("/v1/chat/completions", Http.CHAT).statusCode();
            assertTrue(status == 404 || status == 503, "the proxy must not be serving, got " + status);
            assertTrue(upstream.received().isEmpty(), "nothing was proxied");
            String log = broken.log();
            List<String> lines = log.lines().filter(l -> l.contains("cerebras-proxy cannot start: ")).collect(Collectors.toList());
            assertEquals(1, lines.size(), "one line says why:\n" + log);
            assertTrue(lines.get(0).contains("CEREBRAS_API_KEYS entries \"first\" and \"second\" hold the same key"), lines.get(0));
            assertNoKeyValueIn(log, List.of(twin));
        }
    }

    private void assertNoKeyValueIn(String log, List<String> values)
    {
        for (String value : values)
            assertFalse(log.contains(value), container.name() + "'s log shows a key's value");
    }
}
