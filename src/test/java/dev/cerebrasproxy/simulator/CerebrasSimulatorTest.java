package dev.cerebrasproxy.simulator;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static dev.cerebrasproxy.simulator.Calls.chat;
import static dev.cerebrasproxy.simulator.Calls.header;
import static dev.cerebrasproxy.simulator.Calls.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The simulator over real HTTP on loopback, its time moved by hand. */
class CerebrasSimulatorTest
{
    static final String MODEL = "llama3.1-8b";
    static final String OTHER_MODEL = "qwen-3-32b";
    static final String A1 = "csk-a1-SECRET-1111";
    static final String A2 = "csk-a2-SECRET-2222";
    static final String B1 = "csk-b1-SECRET-3333";
    static final String RPM_EXCEEDED = "{\"message\":\"Requests per minute limit exceeded - too many requests sent.\",\"type\":\"too_many_requests_error\",\"param\":\"quota\",\"code\":\"request_quota_exceeded\"}";
    static final String TPM_EXCEEDED = "{\"message\":\"Tokens per minute limit exceeded - too many tokens processed.\",\"type\":\"too_many_requests_error\",\"param\":\"quota\",\"code\":\"token_quota_exceeded\"}";

    private final ManualTime clock = new ManualTime();
    private final List<CerebrasSimulator> started = new ArrayList<>();

    @AfterEach
    void stop() throws Exception
    {
        for (CerebrasSimulator simulator : started)
            simulator.close();
    }

    /** Org "org-a" with keys a1, a2 and org "org-b" with b1; both models at these limits, answering 10 tokens. */
    private CerebrasSimulator start(Limits limits, double scale) throws Exception
    {
        CerebrasSimulator simulator = CerebrasSimulator.builder()
            .model(new Model(MODEL, limits, 1000, 10))
            .model(new Model(OTHER_MODEL, limits, 1000, 10))
            .organization(Organization.named("org-a").key("a1", A1).key("a2", A2))
            .organization(Organization.named("org-b").key("b1", B1))
            .clock(clock)
            .timeScale(scale)
            .build()
            .start();
        started.add(simulator);
        return simulator;
    }

    private CerebrasSimulator start(Limits limits) throws Exception
    {
        return start(limits, 1);
    }

    /** 40 characters (10 prompt tokens) and a 10-token maximum: an estimate of 20 that uses all 20. */
    private static String twenty()
    {
        return chat(MODEL, 40, 10L, false);
    }

    @Test
    void anUnknownKeyGetsCerebrasWrongApiKeyAndNoRateLimitHeaders() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(10, 1000, 100));
        for (String secret : new String[] {"csk-unknown-SECRET-0", null})
        {
            HttpResponse<String> response = post(simulator, secret, twenty());
            assertEquals(401, response.statusCode());
            assertEquals("{\"message\":\"Wrong API Key\",\"type\":\"invalid_request_error\",\"param\":\"api_key\",\"code\":\"wrong_api_key\"}", response.body());
            assertNull(header(response, "x-ratelimit-remaining-tokens-minute"));
        }
        assertEquals(2, simulator.counts().code("wrong_api_key"));
        assertEquals(401, Calls.get(simulator, null, "/v1/models").statusCode());
    }

    @Test
    void anUnknownModelGets404InCerebrasShape() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(10, 1000, 100));
        HttpResponse<String> response = post(simulator, A1, chat("no-such-model", 4, null, false));
        assertEquals(404, response.statusCode());
        JsonObject error = JsonParser.parseString(response.body()).getAsJsonObject();
        assertEquals("not_found_error", error.get("type").getAsString());
        assertEquals("model", error.get("param").getAsString());
        assertEquals("model_not_found", error.get("code").getAsString());
        assertEquals(1, simulator.countsForKey("a1").status(404));
    }

    @Test
    void aCompletionCarriesItsUsageAndTheDocumentedHeaders() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(10, 2000, 100));
        // 41 characters: 11 prompt tokens; no maximum: the estimate counts the model's 1000.
        HttpResponse<String> response = post(simulator, A1, chat(MODEL, 41, null, false));
        assertEquals(200, response.statusCode());
        JsonObject completion = JsonParser.parseString(response.body()).getAsJsonObject();
        JsonObject usage = completion.getAsJsonObject("usage");
        assertEquals(11, usage.get("prompt_tokens").getAsLong());
        assertEquals(10, usage.get("completion_tokens").getAsLong());
        assertEquals(21, usage.get("total_tokens").getAsLong());
        assertEquals("tok tok tok tok tok tok tok tok tok tok",
            completion.getAsJsonArray("choices").get(0).getAsJsonObject().getAsJsonObject("message").get("content").getAsString());
        // The headers are taken at admission: the whole estimate (11 + 1000) reserved.
        assertEquals("100", header(response, "x-ratelimit-limit-requests-day"));
        assertEquals("99", header(response, "x-ratelimit-remaining-requests-day"));
        assertEquals("86400.000", header(response, "x-ratelimit-reset-requests-day"));
        assertEquals("2000", header(response, "x-ratelimit-limit-tokens-minute"));
        assertEquals("989", header(response, "x-ratelimit-remaining-tokens-minute"));
        assertEquals("30.330", header(response, "x-ratelimit-reset-tokens-minute"), "1011 tokens refill in 30.33 s");
        assertNull(header(response, "retry-after"));
        assertNull(header(response, "x-ratelimit-limit-requests-minute"), "Cerebras sends nothing about requests per minute");
        // Once answered, only the 21 used stay charged.
        assertEquals("1979", simulator.headers("org-a", MODEL).get("x-ratelimit-remaining-tokens-minute"));
        assertEquals("0.630", simulator.headers("org-a", MODEL).get("x-ratelimit-reset-tokens-minute"));
        clock.advance(Duration.ofSeconds(3));
        assertEquals("86397.000", simulator.headers("org-a", MODEL).get("x-ratelimit-reset-requests-day"));
        Counts counts = simulator.countsFor("org-a", MODEL);
        assertEquals(1, counts.answered());
        assertEquals(21, counts.tokensCharged());
    }

    @Test
    void anEstimateIsAdmittedWhenItFitsExactlyAndRefusedOneTokenOver() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(100, 100, 1000));
        for (int i = 0; i < 4; i++)
            assertEquals(200, post(simulator, A1, twenty()).statusCode());
        // 20 remain: 21 characters make 6 prompt tokens, + 15 = 21 does not fit; + 14 = 20 does.
        HttpResponse<String> over = post(simulator, A1, chat(MODEL, 21, 15L, false));
        assertEquals(429, over.statusCode());
        assertEquals(TPM_EXCEEDED, over.body());
        assertEquals("20", header(over, "x-ratelimit-remaining-tokens-minute"));
        assertEquals("48.000", header(over, "x-ratelimit-reset-tokens-minute"));
        assertEquals("996", header(over, "x-ratelimit-remaining-requests-day"), "a refused request counts in no window");
        assertEquals(200, post(simulator, A1, chat(MODEL, 21, 14L, false)).statusCode());
        assertEquals(1, simulator.countsFor("org-a", MODEL).code("token_quota_exceeded"));
    }

    @Test
    void theTokenBucketRefillsContinuously() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(100, 60, 1000));
        for (int i = 0; i < 3; i++)
            assertEquals(200, post(simulator, A1, twenty()).statusCode());
        assertEquals(429, post(simulator, A1, twenty()).statusCode());
        // 60 a minute is one a second: 19 s give back 19 tokens, one short.
        clock.advance(Duration.ofSeconds(19));
        assertEquals(429, post(simulator, A1, twenty()).statusCode());
        clock.advance(Duration.ofSeconds(1));
        HttpResponse<String> refilled = post(simulator, A1, twenty());
        assertEquals(200, refilled.statusCode());
        assertEquals("0", header(refilled, "x-ratelimit-remaining-tokens-minute"));
    }

    @Test
    void aRequestLargerThanTheWholeBucketIsNeverAdmitted() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(100, 50, 1000));
        HttpResponse<String> response = post(simulator, A1, chat(MODEL, 4, 50L, false));
        assertEquals(429, response.statusCode());
        assertEquals(TPM_EXCEEDED, response.body());
        assertEquals("50", header(response, "x-ratelimit-remaining-tokens-minute"));
    }

    @Test
    void requestsPerMinuteAreCountedInFixedMinuteWindowsFromTheOrigin() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(3, 10_000, 1000));
        clock.advance(Duration.ofSeconds(50));
        for (int i = 0; i < 3; i++)
            assertEquals(200, post(simulator, A1, twenty()).statusCode());
        HttpResponse<String> fourth = post(simulator, A1, twenty());
        assertEquals(429, fourth.statusCode());
        assertEquals(RPM_EXCEEDED, fourth.body());
        assertEquals("997", header(fourth, "x-ratelimit-remaining-requests-day"));
        clock.advance(Duration.ofSeconds(10).minusNanos(1));
        assertEquals(429, post(simulator, A1, twenty()).statusCode(), "the window ends at 60 s after the origin");
        clock.advance(Duration.ofNanos(1));
        assertEquals(200, post(simulator, A1, twenty()).statusCode());
        assertEquals(2, simulator.countsFor("org-a", MODEL).code("request_quota_exceeded"));
    }

    @Test
    void requestsPerDayAreCountedInADayWindowAndReportedInTheHeaders() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(100, 10_000, 2));
        assertEquals(200, post(simulator, A1, twenty()).statusCode());
        clock.advance(Duration.ofHours(6));
        HttpResponse<String> second = post(simulator, A1, twenty());
        assertEquals("0", header(second, "x-ratelimit-remaining-requests-day"));
        assertEquals("64800.000", header(second, "x-ratelimit-reset-requests-day"));
        HttpResponse<String> third = post(simulator, A1, twenty());
        assertEquals(429, third.statusCode());
        assertEquals("{\"message\":\"Requests per day limit exceeded - too many requests sent.\",\"type\":\"too_many_requests_error\",\"param\":\"quota\",\"code\":\"request_quota_exceeded\"}", third.body());
        clock.advance(Duration.ofHours(18).minusSeconds(1));
        assertEquals(429, post(simulator, A1, twenty()).statusCode());
        clock.advance(Duration.ofSeconds(1));
        HttpResponse<String> nextDay = post(simulator, A1, twenty());
        assertEquals(200, nextDay.statusCode());
        assertEquals("1", header(nextDay, "x-ratelimit-remaining-requests-day"));
    }

    @Test
    void keysOfOneOrganizationShareOneBudgetPerModel() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(2, 10_000, 1000));
        assertEquals(200, post(simulator, A1, twenty()).statusCode());
        HttpResponse<String> twin = post(simulator, A2, twenty());
        assertEquals(200, twin.statusCode());
        assertEquals("998", header(twin, "x-ratelimit-remaining-requests-day"), "a2 sees a1's request in its budget");
        assertEquals(429, post(simulator, A1, twenty()).statusCode());
        assertEquals(429, post(simulator, A2, twenty()).statusCode());
        assertEquals(200, post(simulator, B1, twenty()).statusCode(), "another organization has its own budget");
        assertEquals(200, post(simulator, A1, chat(OTHER_MODEL, 40, 10L, false)).statusCode(), "another model has its own budget");
        assertEquals(2, simulator.countsFor("org-a", MODEL).admitted());
        assertEquals(2, simulator.countsFor("org-a", MODEL).code("request_quota_exceeded"));
        assertEquals(1, simulator.countsForKey("a2").admitted());
        assertEquals(1, simulator.countsForKey("a2").tooManyRequests());
        assertEquals(6, simulator.counts().calls());
        assertEquals(4, simulator.counts().answered());
    }

    @Test
    void anOrganizationMayHaveItsOwnLimitsForAModel() throws Exception
    {
        CerebrasSimulator simulator = CerebrasSimulator.builder()
            .model(new Model(MODEL, Limits.of(1, 10_000, 1000), 1000, 10))
            .organization(Organization.named("org-a").key("a1", A1).limits(MODEL, Limits.of(2, 10_000, 1000)))
            .organization(Organization.named("org-b").key("b1", B1))
            .clock(clock)
            .build()
            .start();
        started.add(simulator);
        assertEquals(200, post(simulator, A1, twenty()).statusCode());
        assertEquals(200, post(simulator, A1, twenty()).statusCode());
        assertEquals(200, post(simulator, B1, twenty()).statusCode());
        assertEquals(429, post(simulator, B1, twenty()).statusCode());
    }

    @Test
    void aStreamEndsWithItsUsageThenDone() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(10, 1000, 100));
        HttpResponse<String> response = post(simulator, A1, chat(MODEL, 40, 7L, true));
        assertEquals(200, response.statusCode());
        assertTrue(header(response, "content-type").startsWith("text/event-stream"));
        assertEquals("983", header(response, "x-ratelimit-remaining-tokens-minute"));
        String[] events = response.body().split("\n\n");
        assertEquals("data: [DONE]", events[events.length - 1]);
        StringBuilder content = new StringBuilder();
        JsonObject usage = null;
        String finish = null;
        for (int i = 0; i < events.length - 1; i++)
        {
            assertTrue(events[i].startsWith("data: "), events[i]);
            JsonObject chunk = JsonParser.parseString(events[i].substring(6)).getAsJsonObject();
            assertEquals("chat.completion.chunk", chunk.get("object").getAsString());
            JsonObject choice = chunk.getAsJsonArray("choices").get(0).getAsJsonObject();
            if (choice.getAsJsonObject("delta").has("content"))
                content.append(choice.getAsJsonObject("delta").get("content").getAsString());
            if (chunk.has("usage"))
            {
                assertEquals(events.length - 2, i, "usage comes in the last event before [DONE]");
                usage = chunk.getAsJsonObject("usage");
                finish = choice.get("finish_reason").getAsString();
            }
        }
        assertEquals(4 + 1 + 1, events.length, "four content events, the usage event, [DONE]");
        assertEquals("tok tok tok tok tok tok tok", content.toString());
        assertEquals(10, usage.get("prompt_tokens").getAsLong());
        assertEquals(7, usage.get("completion_tokens").getAsLong());
        assertEquals("length", finish, "the request's maximum cut the model's 10 tokens to 7");
        assertEquals(17, simulator.countsFor("org-a", MODEL).tokensCharged());
        assertEquals("983", simulator.headers("org-a", MODEL).get("x-ratelimit-remaining-tokens-minute"));
    }

    @Test
    void theTimeScaleMakesAMinuteLastSecondsAndTheHeadersSayRealSeconds() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(1, 600, 1000), 60);
        HttpResponse<String> first = post(simulator, A1, twenty());
        assertEquals("1440.000", header(first, "x-ratelimit-reset-requests-day"), "a day lasts 1440 real seconds");
        assertEquals("0.033", header(first, "x-ratelimit-reset-tokens-minute"), "20 of 600 tokens refill in 2 simulated seconds");
        assertEquals(429, post(simulator, A1, twenty()).statusCode());
        clock.advance(Duration.ofMillis(999));
        assertEquals(429, post(simulator, A1, twenty()).statusCode());
        clock.advance(Duration.ofMillis(1));
        HttpResponse<String> nextMinute = post(simulator, A1, twenty());
        assertEquals(200, nextMinute.statusCode());
        assertEquals("1439.000", header(nextMinute, "x-ratelimit-reset-requests-day"));
        assertEquals(2, simulator.allowed("org-a", MODEL, simulator.origin(), simulator.origin().plusMillis(1500), 20, 20),
            "1.5 real seconds touch two simulated minutes");
    }

    @Test
    void faultsAreScriptedPerKeyAndSpendNoBudget() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(2, 10_000, 1000));
        simulator.fault("a1", Fault.next(Fault.Kind.SERVER_ERROR, null, Fault.Kind.QUEUE_EXCEEDED));
        simulator.fault("a2", MODEL, Fault.always(Fault.Kind.FORBIDDEN));
        HttpResponse<String> first = post(simulator, A1, twenty());
        assertEquals(500, first.statusCode());
        assertNull(header(first, "x-ratelimit-remaining-requests-day"));
        assertEquals(200, post(simulator, A1, twenty()).statusCode());
        HttpResponse<String> queue = post(simulator, A1, twenty());
        assertEquals(429, queue.statusCode());
        assertEquals("{\"message\":\"We're experiencing high traffic right now! Please try again soon.\",\"type\":\"too_many_requests_error\",\"param\":\"queue\",\"code\":\"queue_exceeded\"}",
            queue.body());
        assertEquals(403, post(simulator, A2, twenty()).statusCode());
        assertEquals(200, post(simulator, A2, chat(OTHER_MODEL, 40, 10L, false)).statusCode(), "a2's fault is for one model");
        assertEquals(200, post(simulator, A1, twenty()).statusCode(), "after its script a1 answers; faults spent nothing of the two a minute");
        Counts a1 = simulator.countsForKey("a1");
        assertEquals(4, a1.calls());
        assertEquals(1, a1.code("internal_server_error"));
        assertEquals(1, a1.code("queue_exceeded"));
        assertEquals(2, a1.answered());
        simulator.clearFaults();
        clock.advance(Duration.ofMinutes(1));
        assertEquals(200, post(simulator, A2, twenty()).statusCode());
    }

    @Test
    void aFaultWithAProbabilityIsDrawnFromItsSeed() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(1000, 100_000, 10_000));
        simulator.fault("b1", Fault.sometimes(Fault.Kind.SERVICE_UNAVAILABLE, 0.3, 42));
        java.util.Random same = new java.util.Random(42);
        for (int i = 0; i < 40; i++)
        {
            int expected = same.nextDouble() < 0.3 ? 503 : 200;
            assertEquals(expected, post(simulator, B1, twenty()).statusCode());
        }
        assertTrue(simulator.countsForKey("b1").status(503) > 0);
    }

    @Test
    void theEstimateCountsEveryMessagesTextAndFallsBackToMaxTokens() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(10, 1000, 100));
        String body = "{\"model\":\"" + MODEL + "\",\"max_tokens\":5,\"messages\":[{\"role\":\"system\",\"content\":\"abcd\"},"
            + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"efgh\"},{\"type\":\"text\",\"text\":\"ij\"}]}]}";
        HttpResponse<String> response = post(simulator, A1, body);
        assertEquals(200, response.statusCode());
        // 10 characters: 3 prompt tokens; max_tokens 5: an estimate of 8.
        assertEquals("992", header(response, "x-ratelimit-remaining-tokens-minute"));
        assertEquals(3, JsonParser.parseString(response.body()).getAsJsonObject().getAsJsonObject("usage").get("prompt_tokens").getAsLong());
    }

    @Test
    void aBodyThatIsNotAChatRequestGets400AndSpendsNothing() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(10, 1000, 100));
        for (String body : new String[] {"not json", "[1]", "{\"messages\":[]}", "{\"model\":\"" + MODEL + "\"}",
            "{\"model\":\"" + MODEL + "\",\"messages\":[],\"max_completion_tokens\":-1}"})
        {
            HttpResponse<String> response = post(simulator, A1, body);
            assertEquals(400, response.statusCode(), body);
            assertEquals("invalid_request_error", JsonParser.parseString(response.body()).getAsJsonObject().get("type").getAsString());
        }
        assertEquals("1000", simulator.headers("org-a", MODEL).get("x-ratelimit-remaining-tokens-minute"));
        assertEquals(5, simulator.countsForKey("a1").status(400));
    }

    @Test
    void modelsAreListedForAKnownKey() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(10, 1000, 100));
        HttpResponse<String> response = Calls.get(simulator, A1, "/v1/models");
        assertEquals(200, response.statusCode());
        JsonObject list = JsonParser.parseString(response.body()).getAsJsonObject();
        assertEquals(MODEL, list.getAsJsonArray("data").get(0).getAsJsonObject().get("id").getAsString());
        assertEquals(OTHER_MODEL, list.getAsJsonArray("data").get(1).getAsJsonObject().get("id").getAsString());
        assertEquals(404, Calls.get(simulator, A1, "/v1/models/nope").statusCode());
        assertEquals(0, simulator.counts().calls(), "listing models is no chat completion");
    }

    @Test
    void theStatsEndpointNamesKeysAndNeverShowsTheirValues() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(10, 1000, 100));
        post(simulator, A1, twenty());
        HttpResponse<String> stats = Calls.get(simulator, null, "/_simulator/stats");
        assertEquals(200, stats.statusCode());
        assertFalse(stats.body().contains("SECRET"));
        JsonObject json = JsonParser.parseString(stats.body()).getAsJsonObject();
        assertEquals(1, json.getAsJsonObject("keys").getAsJsonObject("a1").get("answered").getAsLong());
        assertEquals("org-a", json.getAsJsonObject("keys").getAsJsonObject("a2").get("organization").getAsString());
        assertEquals(20, json.getAsJsonObject("budgets").getAsJsonObject("org-a").getAsJsonObject(MODEL).get("tokens_charged").getAsLong());
        assertEquals(clock.instant().toEpochMilli(), json.get("origin_ms").getAsLong());
    }

    @Test
    void theAllowedEndpointSumsTheFormulaOverBudgets() throws Exception
    {
        CerebrasSimulator simulator = start(Limits.of(10, 1000, 100));
        Instant from = simulator.origin();
        String query = "{\"from_ms\":" + from.toEpochMilli() + ",\"to_ms\":" + from.plusSeconds(90).toEpochMilli()
            + ",\"requests\":{\"" + MODEL + "\":{\"estimate\":100,\"cost\":50}}}";
        java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + simulator.port() + "/_simulator/allowed"))
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(query)).build();
        HttpResponse<String> response = java.net.http.HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
        JsonObject answer = JsonParser.parseString(response.body()).getAsJsonObject();
        // Each of the two organizations: two minute windows touched, 20; tokens 1000 + 1500 allow 49.
        assertEquals(20, answer.getAsJsonObject("budgets").getAsJsonObject("org-a").get(MODEL).getAsLong());
        assertEquals(40, answer.getAsJsonObject("by_model").get(MODEL).getAsLong());
        assertEquals(40, answer.get("total").getAsLong());
    }

    @Test
    void aGreedyClientGetsWhatTheFormulaAllows() throws Exception
    {
        // Tokens bind (60 requests a minute would allow 120): 600 + 600 tokens at 20 each.
        CerebrasSimulator simulator = start(Limits.of(60, 600, 10_000));
        Instant from = clock.instant();
        int admitted = 0;
        for (int second = 0; second < 60; second++)
        {
            while (post(simulator, A1, twenty()).statusCode() == 200)
                admitted++;
            clock.advance(Duration.ofSeconds(1));
        }
        long allowed = simulator.allowed("org-a", MODEL, from, clock.instant(), 20, 20);
        assertEquals(60, allowed);
        // Asking once a second, the greedy client misses at most the last second's refill.
        assertTrue(admitted == allowed || admitted == allowed - 1, admitted + " of " + allowed);
    }

    @Test
    void anAnswerInFlightHoldsItsWholeEstimateUntilItIsDone() throws Exception
    {
        CerebrasSimulator simulator = CerebrasSimulator.builder()
            .model(new Model(MODEL, Limits.of(10, 1000, 100), 1000, 10))
            .organization(Organization.named("org-a").key("a1", A1))
            .clock(clock)
            .latency(Duration.ofMillis(300))
            .build()
            .start();
        started.add(simulator);
        long sent = System.nanoTime();
        java.util.concurrent.CompletableFuture<HttpResponse<String>> answer = java.util.concurrent.CompletableFuture.supplyAsync(() ->
        {
            try
            {
                return post(simulator, A1, chat(MODEL, 40, 100L, false));
            }
            catch (Exception e)
            {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (simulator.countsFor("org-a", MODEL).admitted() == 0 && System.nanoTime() < deadline)
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000); // polling for the admission, bounded
        assertEquals(1, simulator.countsFor("org-a", MODEL).admitted());
        assertEquals(0, simulator.countsFor("org-a", MODEL).answered());
        assertEquals("890", simulator.headers("org-a", MODEL).get("x-ratelimit-remaining-tokens-minute"), "10 + 100 reserved");
        assertEquals(200, answer.get(5, java.util.concurrent.TimeUnit.SECONDS).statusCode());
        assertTrue(System.nanoTime() - sent >= Duration.ofMillis(300).toNanos(), "the answer waited its latency");
        assertEquals("980", simulator.headers("org-a", MODEL).get("x-ratelimit-remaining-tokens-minute"), "10 + 10 charged");
    }
}
