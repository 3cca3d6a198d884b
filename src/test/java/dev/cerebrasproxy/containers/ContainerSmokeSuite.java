package dev.cerebrasproxy.containers;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import com.google.gson.JsonObject;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.config.RedisSettings;
import dev.cerebrasproxy.support.EventStream;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.RedisServer;
import dev.cerebrasproxy.support.Scrape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHARLIE;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static dev.cerebrasproxy.support.TestData.KEYS;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
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
    private static final List<String> KEY_VALUES = List.of(ALPHA, BRAVO, CHARLIE);
    private static final String REQUEST_LOG_LINE = "POST /v1/chat/completions 200 key=";

    /** The fake Cerebras the container's proxy is configured to call; reset before each test. */
    @RegisterExtension
    static final ProxyExtension fake = new ProxyExtension().upstreamOnly();
    /** A real Redis the container's proxy shares its counts in: the Redis client must load and connect inside the WAR. */
    @RegisterExtension
    static final RedisServer redis = new RedisServer();

    private final ServletContainer container;
    private RunningProxy proxy;

    ContainerSmokeSuite(ServletContainer container)
    {
        this.container = container;
    }

    /** The container the class's tests share, for a subclass's own tests. */
    RunningProxy proxy()
    {
        return proxy;
    }

    @BeforeAll
    void start() throws Exception
    {
        proxy = container.start(settings(KEYS));
    }

    @AfterAll
    void stop() throws Exception
    {
        if (proxy == null)
            return;
        proxy.close();
        assertTrue(proxy.log().contains(container.stoppedInOrderLine()), container.name() + " did not shut down in order");
        assertNoKeyValueIn(proxy.log(), KEY_VALUES);
    }

    /**
     * The proxy's settings as environment variables: these keys, in front of the fake.
     * One container serves every test of the class, and its pool remembers failures: keys
     * that fail in one test rest only briefly, so the next test finds them back (or waits
     * for them within PROXY_WAIT_FOR_KEY_MS). A "minute" of a second: a budget that met a
     * 429 request_quota_exceeded learns its requests per minute and paces below them until
     * the window ends, which with real minutes held the next tests' requests for up to 59 s.
     * Still needed now that an announced recovery frees the window sooner: most of these
     * 429s announce none, and without the short minute three tests got 503 (tried on
     * JettyDistributionIT: "3 cooling. Retry after 58 s").
     */
    private Map<String, String> settings(String keys)
    {
        return Map.of(ProxySettings.API_KEYS, keys, ProxySettings.UPSTREAM_URL, fake.upstream().baseUrl().toString(),
            ProxySettings.RATE_LIMIT_COOLDOWN_MS, "200",
            ProxySettings.SERVER_ERROR_COOLDOWN_MS, "200",
            ProxySettings.MAX_COOLDOWN_MS, "400",
            ProxySettings.MINUTE_MS, "1000",
            RedisSettings.URL, redis.url());
    }

    @Test
    void aCompletionGoesThroughWithAKeyFromThePool() throws Exception
    {
        HttpResponse<String> response = proxy.post("/v1/chat/completions", CHAT);
        assertEquals(200, response.statusCode(), response.body());
        assertEquals(COMPLETION, response.body());
        FakeCerebras.Received sent = fake.upstream().lastReceived();
        assertEquals("/v1/chat/completions", sent.target());
        assertTrue(KEY_VALUES.contains(sent.key()), "upstream got a key of the pool");
        assertArrayEquals(CHAT.getBytes(StandardCharsets.UTF_8), sent.body());
        assertOneDateAndNoServerVersion(response);
    }

    /** Upstream's Date and the container's would be two (the Vercel AI SDK merges them into garbage); a version invites exploits. */
    private void assertOneDateAndNoServerVersion(HttpResponse<?> response)
    {
        assertEquals(1, response.headers().allValues("Date").size(), container.name() + ": " + response.headers().map());
        for (String server : response.headers().allValues("Server"))
            assertFalse(server.matches(".*\\d.*"), container.name() + " announces a version: " + server);
    }

    /** Over h2 a body needs no Content-Length; the container must hand it to the proxy, and the proxy upstream. */
    @Test
    void aPostOverH2cWithoutContentLengthKeepsItsBody() throws Exception
    {
        Assumptions.assumeTrue(container.offersH2c(), container.name() + " offers no h2c as deployed");
        java.net.http.HttpClient h2 = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_2).build();
        // The JDK upgrades its first clear-text connection (Upgrade: h2c) with a request without a body.
        HttpResponse<String> first = h2.send(HttpRequest.newBuilder(proxy.uri("/_proxy/health")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(java.net.http.HttpClient.Version.HTTP_2, first.version(), container.name() + " did not upgrade to h2c");
        byte[] body = CHAT.getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> response = h2.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(java.net.http.HttpClient.Version.HTTP_2, response.version());
        assertEquals(200, response.statusCode(), response.body());
        assertEquals(COMPLETION, response.body());
        assertArrayEquals(body, fake.upstream().lastReceived().body());
    }

    @Test
    void theOperationsEndpointsAnswerAndStayOffUpstream() throws Exception
    {
        // Exact-path servlets must win over the proxy's /* on every container. No request of
        // its own here: the other tests expect the shared rotation where they left it, and the
        // start-up probe (GET /) is already a request to count.
        HttpResponse<String> ready = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/_proxy/health/ready")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ready.statusCode(), ready.body());
        assertTrue(ready.body().contains("\"status\":\"ready\""), ready.body());
        assertTrue(ready.body().contains("\"redis\":\"ok\""), "Jedis works inside the WAR here: " + ready.body());
        assertTrue(proxy.log().contains("shares client counts and what its key pool learns with its other replicas through Redis"), proxy.log());
        Poll.untilTrue(Duration.ofSeconds(10), "a request counted in /_proxy/metrics", () ->
        {
            HttpResponse<String> metrics = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/_proxy/metrics")).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, metrics.statusCode(), metrics.body());
            return new Scrape(metrics.body()).sum("cerebras_proxy_requests_total", "client", "anonymous") >= 1;
        });
        assertEquals(0, fake.upstream().received().size(), "operations endpoints never go upstream");
    }

    @Test
    void streamedEventsReachTheClientBeforeUpstreamSendsTheNext() throws Exception
    {
        EventStream events = new EventStream(10);
        fake.upstream().otherwise(events.reply());
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
        fake.upstream().route(request -> first.getAndSet(false) ? FakeCerebras.json(429, RATE_LIMITED) : null);
        HttpResponse<String> response = proxy.post("/v1/chat/completions", CHAT);
        assertEquals(200, response.statusCode(), response.body());
        assertEquals(COMPLETION, response.body());
        List<FakeCerebras.Received> attempts = fake.upstream().received();
        assertEquals(2, attempts.size());
        assertEquals(2, attempts.stream().map(FakeCerebras.Received::key).collect(Collectors.toSet()).size(), "the replay used another key");
    }

    @Test
    void whenEveryKeyFailsTheClientGets503InCerebrasErrorShape() throws Exception
    {
        // Announced recoveries under a second, so the keys are back for the next test.
        fake.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after-ms", "900"));
        fake.upstream().answer(BRAVO, FakeCerebras.json(429, RATE_LIMITED, "retry-after-ms", "700"));
        fake.upstream().answer(CHARLIE, FakeCerebras.json(429, RATE_LIMITED, "retry-after-ms", "800"));
        HttpResponse<String> response = proxy.post("/v1/chat/completions", CHAT);
        assertEquals(503, response.statusCode(), response.body());
        // The soonest recovery (bravo's 700 ms, less the time since), rounded up to whole seconds.
        assertEquals("1", response.headers().firstValue("Retry-After").orElseThrow());
        long millis = Long.parseLong(response.headers().firstValue("retry-after-ms").orElseThrow());
        assertTrue(millis > 0 && millis <= 700, "retry-after-ms " + millis);
        JsonObject error = Http.error(response);
        assertEquals("server_error", error.get("type").getAsString());
        assertEquals("no_key_available", error.get("code").getAsString());
        assertEquals("", error.get("param").getAsString(), "a string, as Cerebras sends: @ai-sdk/cerebras drops a body with null");
        assertOneDateAndNoServerVersion(response);
        assertEquals(3, fake.upstream().received().size(), "each key tried once");
    }

    /**
     * A client that hangs up while upstream works: the container never tells the webapp,
     * the socket table does (ClientDepartures), on every container. Counted 499 within a
     * second, and upstream's exchange abandoned.
     */
    @Test
    void aClientLeavingWhileUpstreamWorksIsCountedAsItsDeparture() throws Exception
    {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        fake.upstream().otherwise((request, response) -> release.await(20, java.util.concurrent.TimeUnit.SECONDS));
        try
        {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", proxy.uri("/").getPort()))
            {
                dev.cerebrasproxy.support.RawHttp.writeRequest(socket, "POST", "/v1/chat/completions", CHAT);
                Poll.untilTrue(Duration.ofSeconds(10), "upstream got the request", () -> fake.upstream().received().size() == 1);
            }
            // Issue 12: within a second of the client leaving (the line is written 50 ms after the count at most).
            Poll.untilTrue(Duration.ofSeconds(1), container.name() + " counting the client's departure within a second", () -> proxy.log().contains("POST /v1/chat/completions 499 "));
        }
        finally
        {
            release.countDown();
        }
    }

    @Test
    void eachRequestLeavesAnInfoLineInTheContainersLog() throws Exception
    {
        int before = proxy.countInLog(REQUEST_LOG_LINE);
        assertEquals(200, proxy.post("/v1/chat/completions", CHAT).statusCode());
        // The line is written as the exchange completes, possibly after the client has the answer.
        Poll.untilTrue(Duration.ofSeconds(10), "the request's log line in " + container.name() + "'s output", () -> proxy.countInLog(REQUEST_LOG_LINE) > before);
        String line = proxy.log().lines().filter(l -> l.contains(REQUEST_LOG_LINE)).reduce((a, b) -> b).orElseThrow();
        assertTrue(line.contains("INFO") && line.contains("attempts=1"), line);
    }

    @Test
    void theLogNeverShowsAKeysValueEvenWhenUpstreamEchoesIt() throws Exception
    {
        AtomicBoolean first = new AtomicBoolean(true);
        fake.upstream().route(request -> first.getAndSet(false)
            ? FakeCerebras.json(429, "{\"message\":\"Key " + request.key() + " is over quota\",\"code\":\"request_quota_exceeded\"}")
            : null);
        assertEquals(200, proxy.post("/v1/chat/completions", CHAT).statusCode());
        Poll.untilTrue(Duration.ofSeconds(10), "the replay's log line", () -> proxy.log().contains("is over quota"));
        assertNoKeyValueIn(proxy.log(), KEY_VALUES);
    }

    /** web.xml's exact-path mapping must win over the proxy's /* on every container. */
    @Test
    void theStatusPageAndItsJsonAnswerOnThisContainer() throws Exception
    {
        HttpResponse<String> page = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/_proxy/status")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, page.statusCode(), page.body());
        assertTrue(page.headers().firstValue("Content-Type").orElseThrow().startsWith("text/html"));
        for (String name : List.of("alpha", "bravo", "charlie"))
            assertTrue(page.body().contains("<td class=\"name\">" + name + "</td>"), page.body());
        assertNoKeyValueIn(page.body(), KEY_VALUES);
        HttpResponse<String> json = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/_proxy/status.json")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, json.statusCode(), json.body());
        assertEquals(3, Http.json(json).getAsJsonArray("keys").size());
        assertTrue(fake.upstream().received().isEmpty(), "nothing under /_proxy/ goes upstream");
    }

    /** The listener registers the host check itself (no web.xml entry): it must guard on every container. */
    @Test
    void anOpenPoolRefusesARebindingHostOnThisContainer() throws Exception
    {
        String answer = dev.cerebrasproxy.support.RawHttp.exchange(proxy.port(), "POST /v1/chat/completions HTTP/1.1\r\nHost: attacker.example\r\n"
            + "Content-Type: application/json\r\nContent-Length: " + CHAT.length() + "\r\nConnection: close\r\n\r\n" + CHAT);
        assertTrue(answer.startsWith("HTTP/1.1 403"), answer);
        assertTrue(answer.contains("\"code\":\"host_not_allowed\""), answer);
        assertTrue(fake.upstream().received().isEmpty(), "nothing went upstream");
    }

    @Test
    void withInvalidKeysTheWebappDoesNotStartAndOneLineSaysWhy() throws Exception
    {
        String twin = "sk-twin-SECRET-0009";
        try (RunningProxy broken = container.start(settings("{\"first\":\"" + twin + "\",\"second\":\"" + twin + "\"}")))
        {
            int status = broken.post("/v1/chat/completions", CHAT).statusCode();
            assertTrue(status == 404 || status == 503, "the proxy must not be serving, got " + status);
            assertTrue(fake.upstream().received().isEmpty(), "nothing was proxied");
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
