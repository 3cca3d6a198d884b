package dev.cerebrasproxy.access;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.EventStream;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.Scrape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ALICE_TOKEN;
import static dev.cerebrasproxy.support.TestData.CI_TOKEN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each kind of client limit at its edge, on a manual clock that starts at a UTC midnight:
 * the Nth request passes, the next gets the client's own 429 (or 403) without reaching
 * upstream, and the next window lets it in again.
 */
class ClientLimitsTest
{
    static final String TPM_TOKEN = "tok-tpm-SECRET-5555";
    static final String TPD_TOKEN = "tok-tpd-SECRET-6666";
    static final String MODELS_TOKEN = "tok-models-SECRET-7777";
    /** Both forms: ci has a bare token (no limits), the others an object each. */
    static final String CLIENTS = "{\"ci\":\"" + CI_TOKEN + "\","
        + "\"alice\":{\"token\":\"" + ALICE_TOKEN + "\",\"requests_per_minute\":3},"
        + "\"tpm\":{\"token\":\"" + TPM_TOKEN + "\",\"tokens_per_minute\":120},"
        + "\"tpd\":{\"token\":\"" + TPD_TOKEN + "\",\"tokens_per_day\":100},"
        + "\"models\":{\"token\":\"" + MODELS_TOKEN + "\",\"models\":[\"llama3.1-8b\"]}}";
    /** Its prompt's strings are "user" and "Hi", 6 characters: estimated at 2 prompt tokens plus its 10 completion tokens, 12 in all. */
    static final String SMALL = "{\"model\":\"llama3.1-8b\",\"max_completion_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    /** An answer whose usage says 40 tokens. */
    static final String USED_40 = "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":10,\"total_tokens\":40}}";

    /** A proxy per test: the counts belong to the webapp, and each test starts from none. */
    @RegisterExtension
    final ProxyExtension proxy = new ProxyExtension().manualClock().settings(ProxySettings.CLIENT_TOKENS, CLIENTS);

    private HttpResponse<String> chat(String token, String body) throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), body, "Authorization", "Bearer " + token);
    }

    private void assertRefused(HttpResponse<String> response, int status, String code, String param)
    {
        assertEquals(status, response.statusCode(), response.body());
        JsonObject error = Http.error(response);
        assertEquals(code, error.get("code").getAsString());
        assertEquals(param, error.get("param").getAsString());
        assertEquals(status == 429 ? "too_many_requests_error" : "permission_denied", error.get("type").getAsString());
        assertFalse(response.body().contains("SECRET"), response.body());
    }

    private void assertRetryAfter(HttpResponse<String> response, long seconds)
    {
        assertEquals(Long.toString(seconds), response.headers().firstValue("Retry-After").orElse(null));
        assertEquals(Long.toString(seconds * 1000), response.headers().firstValue("retry-after-ms").orElse(null));
    }

    @Test
    void theRequestAfterTheMinutesLastIsRefusedUntilTheNextMinute() throws Exception
    {
        for (int i = 0; i < 3; i++)
            assertEquals(200, chat(ALICE_TOKEN, SMALL).statusCode(), "request " + (i + 1) + " of 3");
        proxy.clock().advance(Duration.ofSeconds(20).plusMillis(500));
        HttpResponse<String> refused = chat(ALICE_TOKEN, SMALL);
        assertRefused(refused, 429, "client_request_limit_exceeded", "client");
        assertEquals("40", refused.headers().firstValue("Retry-After").orElse(null), "39.5 s left, rounded up");
        assertEquals("39500", refused.headers().firstValue("retry-after-ms").orElse(null));
        assertFalse(refused.headers().firstValue("x-should-retry").isPresent(), "the SDKs may wait for the next minute");
        assertEquals("0", refused.headers().firstValue("x-proxy-ratelimit-remaining-requests-minute").orElse(null));
        assertEquals(3, proxy.upstream().received().size(), "the refused request never went upstream");
        assertEquals(0, proxy.pool().snapshot().stream().mapToLong(k -> k.requests()).sum() - 3, "and took no key");

        proxy.clock().advance(Duration.ofMillis(39_500));
        assertEquals(200, chat(ALICE_TOKEN, SMALL).statusCode(), "a new minute");
        assertEquals(200, chat(CI_TOKEN, SMALL).statusCode(), "a client without limits is never refused");
    }

    @Test
    void concurrentRequestsGetNoMoreThanTheLimitBetweenThem() throws Exception
    {
        // The admitted ones are held upstream until every refusal is in, so all 20 overlap.
        java.util.concurrent.CountDownLatch refusalsIn = new java.util.concurrent.CountDownLatch(1);
        proxy.upstream().otherwise((request, response) ->
        {
            if (!refusalsIn.await(20, java.util.concurrent.TimeUnit.SECONDS))
                throw new AssertionError("the refusals never came");
            FakeCerebras.ok().write(request, response);
        });
        java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> all = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++)
        {
            all.add(Http.CLIENT.sendAsync(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions")).header("Authorization", "Bearer " + ALICE_TOKEN)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(SMALL)).build(), HttpResponse.BodyHandlers.ofString()));
        }
        dev.cerebrasproxy.support.Poll.untilTrue(Duration.ofSeconds(20), "17 refusals", () -> all.stream().filter(f -> f.isDone() && f.join().statusCode() == 429).count() == 17);
        refusalsIn.countDown();
        long served = 0;
        for (var each : all)
            served += each.get(30, java.util.concurrent.TimeUnit.SECONDS).statusCode() == 200 ? 1 : 0;
        assertEquals(3, served);
        assertEquals(3, proxy.upstream().received().size());
    }

    @Test
    void tokensPerMinuteHoldTheEstimateAtAdmissionAndSettleWithTheReportedUsage() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.json(200, USED_40));
        // Each holds 12 on admission and settles at 40: 40, 80, 120 of 120.
        for (int i = 0; i < 3; i++)
            assertEquals(200, chat(TPM_TOKEN, SMALL).statusCode(), "request " + (i + 1));
        HttpResponse<String> refused = chat(TPM_TOKEN, SMALL);
        assertRefused(refused, 429, "client_token_limit_exceeded", "client");
        assertRetryAfter(refused, 60);
        assertEquals(3, proxy.upstream().received().size());

        proxy.clock().advance(Duration.ofSeconds(60));
        HttpResponse<String> fresh = chat(TPM_TOKEN, SMALL);
        assertEquals(200, fresh.statusCode());
        assertEquals("120", fresh.headers().firstValue("x-proxy-ratelimit-limit-tokens-minute").orElse(null));
        assertEquals("108", fresh.headers().firstValue("x-proxy-ratelimit-remaining-tokens-minute").orElse(null), "120 less the 12 held");
        // 40 used: a request that may use 2 + 100 tokens does not fit the 80 left, whatever it would really use.
        assertRefused(chat(TPM_TOKEN, SMALL.replace("\"max_completion_tokens\":10", "\"max_completion_tokens\":100")), 429, "client_token_limit_exceeded", "client");
        assertEquals(200, chat(TPM_TOKEN, SMALL).statusCode(), "a smaller one still fits");
    }

    @Test
    void theDaysTokensCountWhatAnswersReportedAndASpentDayAsksNoRetry() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.json(200, USED_40));
        assertEquals(200, chat(TPD_TOKEN, SMALL).statusCode());
        assertEquals(200, chat(TPD_TOKEN, SMALL).statusCode());
        HttpResponse<String> third = chat(TPD_TOKEN, SMALL);
        assertEquals(200, third.statusCode(), "80 of 100 used: the day is not spent");
        assertEquals("20", third.headers().firstValue("x-proxy-ratelimit-remaining-tokens-day").orElse(null));
        proxy.clock().advance(Duration.ofHours(23));
        HttpResponse<String> refused = chat(TPD_TOKEN, SMALL);
        assertRefused(refused, 429, "client_daily_token_limit_exceeded", "client");
        assertRetryAfter(refused, 3600);
        assertEquals("false", refused.headers().firstValue("x-should-retry").orElse(null));
        assertEquals(3, proxy.upstream().received().size());

        proxy.clock().advance(Duration.ofHours(1));
        assertEquals(200, chat(TPD_TOKEN, SMALL).statusCode(), "a new UTC day");
    }

    @Test
    void aStreamsLastUsageEventCountsTowardsTheDay() throws Exception
    {
        String usage = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":30,\"total_tokens\":60}}";
        for (int i = 0; i < 2; i++)
        {
            EventStream events = new EventStream(3, usage);
            proxy.upstream().otherwise(events.reply());
            assertTimeoutPreemptively(Duration.ofSeconds(30), () ->
            {
                HttpResponse<InputStream> response = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                    .header("Authorization", "Bearer " + TPD_TOKEN).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"llama3.1-8b\",\"stream\":true,\"messages\":[]}")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
                assertEquals(200, response.statusCode());
                try (InputStream body = response.body())
                {
                    events.readAll(body);
                    assertEquals(-1, body.read());
                }
            });
        }
        // The second stream's end is counted once the proxy has ended it; the client may see [DONE] first.
        dev.cerebrasproxy.support.Poll.untilTrue(Duration.ofSeconds(10), "both streams counted",
            () -> proxy.context().clients().standings().stream().anyMatch(s -> s.name().equals("tpd") && s.use().tokensToday() == 120));
        assertRefused(chat(TPD_TOKEN, SMALL), 429, "client_daily_token_limit_exceeded", "client");
    }

    @Test
    void aModelOutsideTheClientsListIsForbiddenAndGoesNowhere() throws Exception
    {
        assertEquals(200, chat(MODELS_TOKEN, SMALL).statusCode());
        HttpResponse<String> refused = chat(MODELS_TOKEN, SMALL.replace("llama3.1-8b", "qwen-3-32b"));
        assertRefused(refused, 403, "model_not_allowed", "model");
        assertTrue(refused.body().contains("qwen-3-32b"), refused.body());
        HttpResponse<String> long_ = chat(MODELS_TOKEN, SMALL.replace("llama3.1-8b", "m".repeat(100_000)));
        assertRefused(long_, 403, "model_not_allowed", "model");
        assertTrue(long_.body().length() < 1000, "the model is not echoed whole: " + long_.body().length());
        // Named twice, upstream might take the other one; in gzip, the proxy cannot read it.
        assertRefused(chat(MODELS_TOKEN, "{\"model\":\"llama3.1-8b\",\"model\":\"qwen-3-32b\",\"messages\":[]}"), 403, "model_not_allowed", "model");
        HttpResponse<String> gzipped = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .header("Authorization", "Bearer " + MODELS_TOKEN).header("Content-Type", "application/json").header("Content-Encoding", "gzip")
            .POST(HttpRequest.BodyPublishers.ofByteArray(gzip(SMALL.replace("llama3.1-8b", "qwen-3-32b")))).build(), HttpResponse.BodyHandlers.ofString());
        assertRefused(gzipped, 403, "model_not_allowed", "model");
        assertEquals(1, proxy.upstream().received().size());
        assertEquals(200, chat(CI_TOKEN, SMALL.replace("llama3.1-8b", "qwen-3-32b")).statusCode(), "ci may use any model");
    }

    @Test
    void everyAnswerCarriesTheClientsOwnHeadersBesideCerebrasOnes() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.json(200, USED_40, "x-ratelimit-remaining-tokens-minute", "59000", "x-ratelimit-reset-requests-day", "3600.5",
            "x-proxy-ratelimit-remaining-requests-minute", "999"));
        HttpResponse<String> response = chat(ALICE_TOKEN, SMALL);
        assertEquals(200, response.statusCode());
        assertEquals("3", response.headers().firstValue("x-proxy-ratelimit-limit-requests-minute").orElse(null));
        assertEquals("2", response.headers().firstValue("x-proxy-ratelimit-remaining-requests-minute").orElse(null));
        assertEquals("60", response.headers().firstValue("x-proxy-ratelimit-reset-requests-minute").orElse(null));
        assertFalse(response.headers().firstValue("x-proxy-ratelimit-limit-tokens-minute").isPresent(), "only the limits alice has");
        assertEquals("59000", response.headers().firstValue("x-ratelimit-remaining-tokens-minute").orElse(null), "Cerebras's own pass unchanged");
        assertEquals("3600.5", response.headers().firstValue("x-ratelimit-reset-requests-day").orElse(null));
        HttpResponse<String> unlimited = chat(CI_TOKEN, SMALL);
        assertEquals(200, unlimited.statusCode());
        assertTrue(unlimited.headers().map().keySet().stream().noneMatch(h -> h.startsWith("x-proxy-ratelimit")), "ci has no limits to report, and upstream cannot speak for the proxy");

        proxy.upstream().otherwise(FakeCerebras.json(429, dev.cerebrasproxy.support.TestData.RATE_LIMITED));
        HttpResponse<String> noKey = chat(ALICE_TOKEN, SMALL);
        assertEquals(503, noKey.statusCode(), "every key answered 429: the proxy's own answer");
        assertEquals("1", noKey.headers().firstValue("x-proxy-ratelimit-remaining-requests-minute").orElse(null), "it carries them too");
    }

    @Test
    void operationsShowEachClientsLimitsUseAndRefusalsAndTheDaysUseByModelButNoToken() throws Exception
    {
        int mark = LogCapture.mark();
        proxy.upstream().otherwise(FakeCerebras.json(200, USED_40));
        for (int i = 0; i < 4; i++)
            chat(ALICE_TOKEN, SMALL);
        chat(MODELS_TOKEN, SMALL.replace("llama3.1-8b", "qwen-3-32b"));
        chat(CI_TOKEN, SMALL.replace("llama3.1-8b", "qwen-3-32b"));

        HttpResponse<String> json = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/_proxy/status.json")).build(), HttpResponse.BodyHandlers.ofString());
        JsonObject report = JsonParser.parseString(json.body()).getAsJsonObject();
        JsonObject alice = row(report.getAsJsonArray("limits"), "name", "alice");
        assertEquals(3, alice.get("requestsPerMinute").getAsLong());
        assertEquals(3, alice.get("requestsThisMinute").getAsLong());
        assertEquals(0, alice.get("requestsLeft").getAsLong());
        assertTrue(alice.get("tokensPerDay").isJsonNull(), "a limit alice does not have");
        assertEquals(120, alice.get("tokensToday").getAsLong(), "her three answers' usage");
        assertEquals("llama3.1-8b", row(report.getAsJsonArray("limits"), "name", "models").get("models").getAsString());
        assertEquals("any", row(report.getAsJsonArray("limits"), "name", "ci").get("models").getAsString());
        JsonObject day = row(report.getAsJsonArray("usageByDay"), "client", "alice");
        assertEquals("2026-01-01", day.get("day").getAsString());
        assertEquals("llama3.1-8b", day.get("model").getAsString());
        assertEquals(3, day.get("requests").getAsLong(), "the refused one used nothing");
        assertEquals(120, day.get("tokens").getAsLong());
        assertEquals(40, row(report.getAsJsonArray("usageByDay"), "client", "ci").get("tokens").getAsLong());
        assertEquals("qwen-3-32b", row(report.getAsJsonArray("usageByDay"), "client", "ci").get("model").getAsString());

        String page = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/_proxy/status")).build(), HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(page.contains("<h2>Client limits</h2>") && page.contains("<td class=\"requestsLeft\">0</td>") && page.contains("<td class=\"tokensPerDay\">-</td>"), page);

        String metrics = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/_proxy/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        Scrape scrape = new Scrape(metrics);
        assertEquals(1, scrape.require("cerebras_proxy_client_limit_refusals_total", "client", "alice", "reason", "client_request_limit_exceeded"));
        assertEquals(1, scrape.require("cerebras_proxy_client_limit_refusals_total", "client", "models", "reason", "model_not_allowed"));
        assertEquals(1, scrape.require("cerebras_proxy_requests_total", "key", "none", "client", "alice", "status", "429"));

        // Request lines are written off the request's thread, within RequestLog.BATCH_MILLIS.
        dev.cerebrasproxy.support.Poll.untilTrue(Duration.ofSeconds(10), "the refusal's one log line", () -> LogCapture.since(mark).contains("POST /v1/chat/completions 429 key=- attempts=0 client=alice "));
        assertTrue(LogCapture.since(mark).contains("refused=client_request_limit_exceeded"));
        for (String output : new String[] {json.body(), page, metrics, LogCapture.since(mark)})
            assertFalse(output.contains("SECRET"), output);
    }

    private static JsonObject row(com.google.gson.JsonArray rows, String field, String value)
    {
        for (var row : rows)
        {
            if (row.getAsJsonObject().get(field).getAsString().equals(value))
                return row.getAsJsonObject();
        }
        throw new AssertionError("no row with " + field + " " + value + " in " + rows);
    }

    private static byte[] gzip(String text) throws Exception
    {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream out = new java.util.zip.GZIPOutputStream(bytes))
        {
            out.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return bytes.toByteArray();
    }
}
