package dev.cerebrasproxy.ops;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Predicate;

import com.google.gson.JsonObject;
import dev.cerebrasproxy.access.AdminAccess;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.pool.ApiKey;
import dev.cerebrasproxy.support.Codings;
import dev.cerebrasproxy.support.EventStream;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.ProxyUnderTest;
import dev.cerebrasproxy.support.Scrape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ADMIN_TOKEN;
import static dev.cerebrasproxy.support.TestData.ALICE_TOKEN;
import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.CI_TOKEN;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static dev.cerebrasproxy.support.TestData.TOKENS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /_proxy/metrics: what the proxy did, in Prometheus's text format, behind the admin token. */
class MetricsTest
{
    @RegisterExtension
    final ProxyExtension proxy = new ProxyExtension().settings(ProxySettings.CLIENT_TOKENS, TOKENS, ProxySettings.ADMIN_TOKEN, ADMIN_TOKEN);

    private static final String STREAM_USAGE = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
        + "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":13,\"total_tokens\":24},\"time_info\":{\"queue_time\":0.0001}}";

    private static HttpResponse<String> get(URI uri, String... headers) throws Exception
    {
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri).GET();
        for (int i = 0; i + 1 < headers.length; i += 2)
            builder.header(headers[i], headers[i + 1]);
        return Http.CLIENT.send(builder.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private Scrape scrape() throws Exception
    {
        return scrape(proxy.proxy());
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
        return scrapeWhen(proxy.proxy(), settled);
    }

    private static Scrape scrapeWhen(ProxyUnderTest proxy, Predicate<Scrape> settled)
    {
        Scrape[] last = new Scrape[1];
        Poll.untilTrue(Duration.ofSeconds(10), "the counts to settle", () -> settled.test(last[0] = scrape(proxy)));
        return last[0];
    }

    private HttpResponse<String> chat(String token) throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), CHAT, "Authorization", "Bearer " + token);
    }

    @Test
    void metricsNeedTheAdminToken() throws Exception
    {
        for (HttpResponse<String> refused : new HttpResponse[] {
            get(proxy.uri("/_proxy/metrics")),
            get(proxy.uri("/_proxy/metrics"), "Authorization", "Bearer adm-wrong-SECRET-0000"),
            get(proxy.uri("/_proxy/metrics"), "Authorization", "Bearer " + CI_TOKEN)})
        {
            assertEquals(401, refused.statusCode(), refused.body());
            JsonObject error = Http.error(refused);
            assertEquals("invalid_admin_token", error.get("code").getAsString());
            assertEquals("authentication_error", error.get("type").getAsString());
            assertFalse(refused.body().contains("SECRET"));
        }
        // What a browser can send: the query parameter, once, for the cookie; never the token as the cookie.
        assertEquals(303, get(proxy.uri("/_proxy/metrics?token=" + ADMIN_TOKEN)).statusCode());
        assertEquals(200, get(proxy.uri("/_proxy/metrics"), "Cookie", AdminAccess.COOKIE + "=" + proxy.context().settings().adminToken().cookieValue()).statusCode());
        assertEquals(401, get(proxy.uri("/_proxy/metrics"), "Cookie", AdminAccess.COOKIE + "=" + ADMIN_TOKEN).statusCode());
        assertEquals(0, proxy.upstream().received().size(), "metrics never go upstream");
    }

    @Test
    void metricsAreOpenWithoutAnAdminToken() throws Exception
    {
        try (ProxyUnderTest open = ProxyUnderTest.start(proxy.upstream()))
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
        assertEquals(200, chat(CI_TOKEN).statusCode());
        assertEquals(200, chat(ALICE_TOKEN).statusCode());
        assertEquals(401, chat("tok-wrong-SECRET-0000").statusCode());
        Scrape scrape = scrapeWhen(s -> s.sum("cerebras_proxy_requests_total") == 3);
        String ciKey = keyNameOf(proxy.upstream().received().get(0).key());
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
        return secret.equals(ALPHA) ? "alpha" : secret.equals(BRAVO) ? "bravo" : "charlie";
    }

    @Test
    void retriesAreCountedWithTheirReasons() throws Exception
    {
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(500, "{\"message\":\"boom\",\"code\":\"internal\"}"));
        // Rotation order depends on the shared cursor: go on until both failing keys were met.
        for (int i = 0; i < 10 && (proxy.upstream().countFor(ALPHA) == 0 || proxy.upstream().countFor(BRAVO) == 0); i++)
        {
            assertEquals(200, chat(CI_TOKEN).statusCode());
            proxy.pool().reset();
        }
        Scrape scrape = scrape();
        assertEquals(proxy.upstream().countFor(ALPHA), scrape.require("cerebras_proxy_retries_total", "key", "alpha", "reason", "answered_429"));
        assertEquals(proxy.upstream().countFor(BRAVO), scrape.require("cerebras_proxy_retries_total", "key", "bravo", "reason", "answered_500"));
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
            assertEquals(502, Http.post(cut.uri("/v1/chat/completions"), CHAT).statusCode());
            Scrape scrape = scrapeWhen(cut, s -> s.sum("cerebras_proxy_requests_total") == 1);
            assertEquals(3, scrape.sum("cerebras_proxy_retries_total", "reason", "unreachable"));
            assertEquals(1, scrape.require("cerebras_proxy_requests_total", "key", "none", "client", "anonymous", "status", "502"));
        }
    }

    @Test
    void upstreamLatencyIsAHistogramPerKey() throws Exception
    {
        chat(CI_TOKEN);
        chat(CI_TOKEN);
        Scrape scrape = scrape();
        assertEquals(2, scrape.sum("cerebras_proxy_upstream_latency_seconds_count"));
        assertEquals(2, scrape.sum("cerebras_proxy_upstream_latency_seconds_bucket", "le", "+Inf"));
        assertTrue(scrape.sum("cerebras_proxy_upstream_latency_seconds_sum") > 0);
        assertTrue(scrape.text.contains("# TYPE cerebras_proxy_upstream_latency_seconds histogram"), scrape.text);
    }

    @Test
    void tokensOfAPlainAnswerAreCountedFromItsUsage() throws Exception
    {
        chat(CI_TOKEN); // COMPLETION used 5 prompt and 2 completion tokens
        Scrape scrape = scrapeWhen(s -> s.sum("cerebras_proxy_requests_total") == 1);
        assertEquals(5, scrape.sum("cerebras_proxy_tokens_total", "client", "ci", "kind", "prompt"));
        assertEquals(2, scrape.sum("cerebras_proxy_tokens_total", "client", "ci", "kind", "completion"));
        String key = keyNameOf(proxy.upstream().lastReceived().key());
        assertEquals(5, scrape.require("cerebras_proxy_tokens_total", "key", key, "client", "ci", "kind", "prompt"));
        UsageLedger ledger = proxy.context().ledger();
        assertEquals(7, ledger.byKey().stream().filter(u -> u.name().equals(key)).findFirst().orElseThrow().totalTokens());
    }

    @Test
    void tokensOfAnAnswerTheProxyDecodedForTheClientAreCounted() throws Exception
    {
        // The client sent no Accept-Encoding, upstream answered in gzip anyway: the proxy decodes, and reads usage from that.
        proxy.upstream().otherwise(FakeCerebras.bytes(200, "application/json", Codings.gzip(COMPLETION.getBytes(StandardCharsets.UTF_8)), "Content-Encoding", "gzip"));
        HttpResponse<String> response = chat(CI_TOKEN);
        assertEquals(COMPLETION, response.body());
        Scrape scrape = scrapeWhen(s -> s.sum("cerebras_proxy_requests_total") == 1);
        assertEquals(5, scrape.sum("cerebras_proxy_tokens_total", "client", "ci", "kind", "prompt"));
        assertEquals(2, scrape.sum("cerebras_proxy_tokens_total", "client", "ci", "kind", "completion"));
    }

    @Test
    void tokensOfAGzipAnswerPassedThroughCompressedAreCounted() throws Exception
    {
        // What SDKs do: accept gzip. The client gets upstream's bytes as they are; usage is read from a decoded copy.
        byte[] gzipped = Codings.gzip(COMPLETION.getBytes(StandardCharsets.UTF_8));
        proxy.upstream().otherwise(FakeCerebras.bytes(200, "application/json", gzipped, "Content-Encoding", "gzip"));
        HttpResponse<byte[]> response = Http.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .header("Content-Type", "application/json")
            .header("Accept-Encoding", "gzip")
            .header("Authorization", "Bearer " + CI_TOKEN)
            .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build());
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
        proxy.upstream().otherwise(events.reply());
        assertTimeoutPreemptively(Duration.ofSeconds(30), () ->
        {
            HttpResponse<InputStream> response = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .header("x-api-key", ALICE_TOKEN)
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
    void eachBudgetAndTheQueueAreGauges() throws Exception
    {
        ApiKey alpha = proxy.pool().keys().get(0);
        proxy.pool().tokensReported(alpha, "llama3.1-8b", 60_000, 12_000);
        proxy.pool().rateLimited(alpha, "qwen-3-32b", java.time.Duration.ofSeconds(30), "request_quota_exceeded");
        Scrape scrape = scrape();
        double left = scrape.require("cerebras_proxy_budget_tokens_left", "organization", "alpha", "model", "llama3.1-8b");
        assertTrue(left >= 12_000 && left <= 60_000, "reported, refilled since: " + left);
        double resting = scrape.require("cerebras_proxy_budget_resting_seconds", "organization", "alpha", "model", "qwen-3-32b");
        assertTrue(resting > 0 && resting <= 30, "resting " + resting);
        assertEquals(0, scrape.require("cerebras_proxy_budget_resting_seconds", "organization", "alpha", "model", "llama3.1-8b"));
        assertEquals(0, scrape.require("cerebras_proxy_budget_in_flight", "organization", "alpha", "model", "llama3.1-8b"));
        assertEquals(0, scrape.require("cerebras_proxy_queue_length"));
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
}
