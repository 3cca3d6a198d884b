package dev.cerebrasproxy;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.function.Predicate;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /_proxy/metrics: what the proxy did, in Prometheus's text format, behind the admin token. */
class MetricsTest
{
    static final String ADMIN_TOKEN = "adm-SECRET-3333";
    private static final String STREAM_USAGE = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
        + "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":13,\"total_tokens\":24},\"time_info\":{\"queue_time\":0.0001}}";

    private FakeCerebras upstream;
    private ProxyUnderTest proxy;

    @BeforeEach
    void start() throws Exception
    {
        upstream = new FakeCerebras();
        proxy = ProxyUnderTest.start(upstream, ProxySettings.CLIENT_TOKENS, ClientTokenTest.TOKENS, ProxySettings.ADMIN_TOKEN, ADMIN_TOKEN);
    }

    @AfterEach
    void stop() throws Exception
    {
        proxy.close();
        upstream.close();
    }

    private static HttpResponse<String> get(URI uri, String... headers) throws Exception
    {
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri).GET();
        for (int i = 0; i + 1 < headers.length; i += 2)
            builder.header(headers[i], headers[i + 1]);
        return Http.CLIENT.send(builder.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private Scrape scrape() throws Exception
    {
        return scrape(proxy);
    }

    private static Scrape scrape(ProxyUnderTest proxy) throws Exception
    {
        HttpResponse<String> response = get(proxy.uri("/_proxy/metrics"), "Authorization", "Bearer " + ADMIN_TOKEN);
        assertEquals(200, response.statusCode(), response.body());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        assertFalse(response.body().contains("SECRET"), "a key's or token's value in the metrics");
        assertFalse(response.body().contains("tok-"), "a client token in the metrics");
        return new Scrape(response.body());
    }

    /**
     * A scrape in which {@code settled} holds: a request is counted as its call completes,
     * which may be just after the client has its answer.
     */
    private Scrape scrapeWhen(Predicate<Scrape> settled)
    {
        return scrapeWhen(proxy, settled);
    }

    private static Scrape scrapeWhen(ProxyUnderTest proxy, Predicate<Scrape> settled)
    {
        Scrape[] last = new Scrape[1];
        Poll.until(Duration.ofSeconds(10), () -> settled.test(last[0] = unchecked(() -> scrape(proxy))));
        return last[0];
    }

    private HttpResponse<String> chat(String token) throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), Http.CHAT, "Authorization", "Bearer " + token);
    }

    @Test
    void metricsNeedTheAdminToken() throws Exception
    {
        for (HttpResponse<String> refused : new HttpResponse[] {
            get(proxy.uri("/_proxy/metrics")),
            get(proxy.uri("/_proxy/metrics"), "Authorization", "Bearer adm-wrong-SECRET-0000"),
            get(proxy.uri("/_proxy/metrics"), "Authorization", "Bearer " + ClientTokenTest.CI_TOKEN)})
        {
            assertEquals(401, refused.statusCode(), refused.body());
            JsonObject error = Http.json(refused);
            assertEquals(Set.of("message", "type", "param", "code"), error.keySet());
            assertEquals("invalid_admin_token", error.get("code").getAsString());
            assertEquals("authentication_error", error.get("type").getAsString());
            assertFalse(refused.body().contains("SECRET"));
        }
        // What a browser can send: the query parameter or the cookie.
        assertEquals(200, get(proxy.uri("/_proxy/metrics?token=" + ADMIN_TOKEN)).statusCode());
        assertEquals(200, get(proxy.uri("/_proxy/metrics"), "Cookie", AdminAccess.COOKIE + "=" + ADMIN_TOKEN).statusCode());
        assertEquals(0, upstream.received().size(), "metrics never go upstream");
    }

    @Test
    void metricsAreOpenWithoutAnAdminToken() throws Exception
    {
        try (ProxyUnderTest open = ProxyUnderTest.start(upstream))
        {
            HttpResponse<String> response = get(open.uri("/_proxy/metrics"));
            assertEquals(200, response.statusCode());
            // A registry of its own: the other webapp's figures are not in it.
            assertEquals(0, new Scrape(response.body()).sum("cerebras_proxy_requests_total"));
        }
    }

    @Test
    void requestsAreCountedByKeyClientAndStatus() throws Exception
    {
        assertEquals(200, chat(ClientTokenTest.CI_TOKEN).statusCode());
        assertEquals(200, chat(ClientTokenTest.ALICE_TOKEN).statusCode());
        assertEquals(401, chat("tok-wrong-SECRET-0000").statusCode());
        Scrape scrape = scrapeWhen(s -> s.sum("cerebras_proxy_requests_total") == 3);
        String ciKey = keyNameOf(upstream.received().get(0).key());
        assertEquals(1, scrape.require("cerebras_proxy_requests_total", "key", ciKey, "client", "ci", "status", "200"));
        assertEquals(1, scrape.sum("cerebras_proxy_requests_total", "client", "alice", "status", "200"));
        assertEquals(1, scrape.require("cerebras_proxy_requests_total", "key", "none", "client", "unauthenticated", "status", "401"));
        // The ledger the status page reads counted the same.
        UsageLedger ledger = proxy.context().ledger();
        assertNotNull(ledger);
        assertEquals(1, ledger.byClient().stream().filter(u -> u.name().equals("ci")).findFirst().orElseThrow().requests());
    }

    private static String keyNameOf(String secret)
    {
        return secret.equals(ReplayTest.ALPHA) ? "alpha" : secret.equals(ReplayTest.BRAVO) ? "bravo" : "charlie";
    }

    @Test
    void retriesAreCountedWithTheirReasons() throws Exception
    {
        upstream.answer(ReplayTest.ALPHA, FakeCerebras.json(429, ReplayTest.RATE_LIMITED, "retry-after", "30"));
        upstream.answer(ReplayTest.BRAVO, FakeCerebras.json(500, "{\"message\":\"boom\",\"code\":\"internal\"}"));
        // Rotation order depends on the shared cursor: go on until both failing keys were met.
        for (int i = 0; i < 10 && (upstream.countFor(ReplayTest.ALPHA) == 0 || upstream.countFor(ReplayTest.BRAVO) == 0); i++)
        {
            assertEquals(200, chat(ClientTokenTest.CI_TOKEN).statusCode());
            proxy.pool().reset();
        }
        Scrape scrape = scrape();
        assertEquals(upstream.countFor(ReplayTest.ALPHA), scrape.require("cerebras_proxy_retries_total", "key", "alpha", "reason", "answered_429"));
        assertEquals(upstream.countFor(ReplayTest.BRAVO), scrape.require("cerebras_proxy_retries_total", "key", "bravo", "reason", "answered_500"));
        UsageLedger ledger = proxy.context().ledger();
        assertEquals("request_quota_exceeded", ledger.byKey().stream().filter(u -> u.name().equals("alpha")).findFirst().orElseThrow().lastError());
    }

    @Test
    void anUnreachableUpstreamIsARetryReason() throws Exception
    {
        FakeCerebras gone = new FakeCerebras();
        URI closed = gone.baseUrl();
        gone.close();
        try (ProxyUnderTest cut = ProxyUnderTest.start(closed))
        {
            assertEquals(502, Http.post(cut.uri("/v1/chat/completions"), Http.CHAT).statusCode());
            Scrape scrape = scrapeWhen(cut, s -> s.sum("cerebras_proxy_requests_total") == 1);
            assertEquals(3, scrape.sum("cerebras_proxy_retries_total", "reason", "unreachable"));
            assertEquals(1, scrape.require("cerebras_proxy_requests_total", "key", "none", "client", "anonymous", "status", "502"));
        }
    }

    @Test
    void upstreamLatencyIsAHistogramPerKey() throws Exception
    {
        chat(ClientTokenTest.CI_TOKEN);
        chat(ClientTokenTest.CI_TOKEN);
        Scrape scrape = scrape();
        assertEquals(2, scrape.sum("cerebras_proxy_upstream_latency_seconds_count"));
        assertEquals(2, scrape.sum("cerebras_proxy_upstream_latency_seconds_bucket", "le", "+Inf"));
        assertTrue(scrape.sum("cerebras_proxy_upstream_latency_seconds_sum") > 0);
        assertTrue(scrape.text.contains("# TYPE cerebras_proxy_upstream_latency_seconds histogram"), scrape.text);
    }

    @Test
    void tokensOfAPlainAnswerAreCountedFromItsUsage() throws Exception
    {
        chat(ClientTokenTest.CI_TOKEN); // FakeCerebras.COMPLETION used 5 prompt and 2 completion tokens
        Scrape scrape = scrapeWhen(s -> s.sum("cerebras_proxy_requests_total") == 1);
        assertEquals(5, scrape.sum("cerebras_proxy_tokens_total", "client", "ci", "kind", "prompt"));
        assertEquals(2, scrape.sum("cerebras_proxy_tokens_total", "client", "ci", "kind", "completion"));
        String key = keyNameOf(upstream.lastReceived().key());
        assertEquals(5, scrape.require("cerebras_proxy_tokens_total", "key", key, "client", "ci", "kind", "prompt"));
        UsageLedger ledger = proxy.context().ledger();
        assertEquals(7, ledger.byKey().stream().filter(u -> u.name().equals(key)).findFirst().orElseThrow().totalTokens());
    }

    @Test
    void tokensOfAnAnswerTheProxyDecodedForTheClientAreCounted() throws Exception
    {
        // The client sent no Accept-Encoding, upstream answered in gzip anyway: the proxy decodes, and reads usage from that.
        upstream.otherwise(FakeCerebras.bytes(200, "application/json", CompressionTest.gzip(FakeCerebras.COMPLETION.getBytes(StandardCharsets.UTF_8)), "Content-Encoding", "gzip"));
        HttpResponse<String> response = chat(ClientTokenTest.CI_TOKEN);
        assertEquals(FakeCerebras.COMPLETION, response.body());
        Scrape scrape = scrapeWhen(s -> s.sum("cerebras_proxy_requests_total") == 1);
        assertEquals(5, scrape.sum("cerebras_proxy_tokens_total", "client", "ci", "kind", "prompt"));
        assertEquals(2, scrape.sum("cerebras_proxy_tokens_total", "client", "ci", "kind", "completion"));
    }

    @Test
    void tokensOfAGzipAnswerPassedThroughCompressedAreCounted() throws Exception
    {
        // What SDKs do: accept gzip. The client gets upstream's bytes as they are; usage is read from a decoded copy.
        byte[] gzipped = CompressionTest.gzip(FakeCerebras.COMPLETION.getBytes(StandardCharsets.UTF_8));
        upstream.otherwise(FakeCerebras.bytes(200, "application/json", gzipped, "Content-Encoding", "gzip"));
        HttpResponse<byte[]> response = Http.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .header("Content-Type", "application/json")
            .header("Accept-Encoding", "gzip")
            .header("Authorization", "Bearer " + ClientTokenTest.CI_TOKEN)
            .POST(HttpRequest.BodyPublishers.ofString(Http.CHAT)).build());
        assertEquals("gzip", response.headers().firstValue("Content-Encoding").orElse(null));
        org.junit.jupiter.api.Assertions.assertArrayEquals(gzipped, response.body());
        Scrape scrape = scrapeWhen(s -> s.sum("cerebras_proxy_requests_total") == 1);
        assertEquals(5, scrape.sum("cerebras_proxy_tokens_total", "client", "ci", "kind", "prompt"));
        assertEquals(2, scrape.sum("cerebras_proxy_tokens_total", "client", "ci", "kind", "completion"));
    }

    @Test
    void aStreamWithUsageStillFlowsEventByEventAndItsTokensAreCounted() throws Exception
    {
        EventStream events = new EventStream(5, STREAM_USAGE);
        upstream.otherwise(events.reply());
        assertTimeoutPreemptively(Duration.ofSeconds(30), () ->
        {
            HttpResponse<InputStream> response = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .header("x-api-key", ClientTokenTest.ALICE_TOKEN)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"llama3.1-8b\",\"stream\":true,\"messages\":[]}"))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, response.statusCode());
            try (InputStream body = response.body())
            {
                events.readAll(body);
            }
        });
        assertFalse(events.gateTimedOut());
        // The call completes on the proxy's side just after the client read the end.
        Scrape scrape = scrapeWhen(s -> s.sum("cerebras_proxy_tokens_total", "client", "alice", "kind", "completion") == 13);
        assertEquals(13, scrape.sum("cerebras_proxy_tokens_total", "client", "alice", "kind", "completion"));
        assertEquals(11, scrape.sum("cerebras_proxy_tokens_total", "client", "alice", "kind", "prompt"));
        assertEquals(1, scrape.sum("cerebras_proxy_stream_first_event_seconds_count"));
    }

    @Test
    void eachKeysStateIsAGauge() throws Exception
    {
        ApiKey bravo = proxy.pool().keys().stream().filter(k -> k.name().equals("bravo")).findFirst().orElseThrow();
        proxy.pool().quarantine(bravo, "401 wrong_api_key");
        Scrape scrape = scrape();
        assertEquals(1, scrape.require("cerebras_proxy_key_state", "key", "bravo", "state", "quarantined"));
        assertEquals(0, scrape.require("cerebras_proxy_key_state", "key", "bravo", "state", "available"));
        assertEquals(1, scrape.require("cerebras_proxy_key_state", "key", "alpha", "state", "available"));
        assertEquals(0, scrape.require("cerebras_proxy_key_state", "key", "alpha", "state", "cooling"));
        assertEquals(2, scrape.require("cerebras_proxy_keys", "state", "available"));
        assertEquals(1, scrape.require("cerebras_proxy_keys", "state", "quarantined"));
    }

    private interface Check<T>
    {
        T get() throws Exception;
    }

    private static <T> T unchecked(Check<T> check)
    {
        try
        {
            return check.get();
        }
        catch (Exception e)
        {
            throw new AssertionError(e);
        }
    }
}
