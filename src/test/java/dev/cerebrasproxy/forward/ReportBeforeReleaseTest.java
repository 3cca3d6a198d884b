package dev.cerebrasproxy.forward;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * An answer's report of the tokens left is taken before its request's reservation ends:
 * ending it offers the freed capacity to the queue at once, and a waiter sent on the report
 * before (more tokens than upstream has) meets a token 429. On the manual clock, one key,
 * 6000 tokens a minute (100 a second).
 */
class ReportBeforeReleaseTest
{
    private static final String TOKENS_REFUSED = "{\"message\":\"Tokens per minute limit exceeded - too many tokens processed.\",\"type\":\"too_many_requests_error\","
        + "\"param\":\"quota\",\"code\":\"token_quota_exceeded\"}";

    @RegisterExtension
    final ProxyExtension proxy = new ProxyExtension().manualClock()
        .settings(ProxySettings.API_KEYS, "{\"alpha\":\"" + ALPHA + "\"}", ProxySettings.QUEUE_MAX, "10");

    private static String chat(int maxTokens)
    {
        return "{\"model\":\"m\",\"max_completion_tokens\":" + maxTokens + ",\"messages\":[]}";
    }

    private CompletableFuture<HttpResponse<String>> send(String body)
    {
        return Http.CLIENT.sendAsync(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * The budget last said 1500 left; a request holding 1000 of them is on its way and a
     * second of 1000 waits. The first's answer says 100 are left: the second stays queued
     * until 900 more have refilled (9 s), instead of going on the 1500 the moment the first's
     * reservation ends.
     */
    @Test
    void aServedAnswersReportDecidesWhetherTheNextWaiterFits() throws Exception
    {
        CountDownLatch release = new CountDownLatch(1);
        proxy.upstream().otherwise(FakeCerebras.json(200, COMPLETION, "x-ratelimit-limit-tokens-minute", "6000", "x-ratelimit-remaining-tokens-minute", "1500"));
        assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), chat(10)).statusCode());
        proxy.upstream().otherwise((request, response) ->
        {
            release.await(30, TimeUnit.SECONDS);
            FakeCerebras.json(200, COMPLETION, "x-ratelimit-limit-tokens-minute", "6000", "x-ratelimit-remaining-tokens-minute", "100").write(request, response);
        });
        CompletableFuture<HttpResponse<String>> first = send(chat(1000));
        Poll.untilTrue(Duration.ofSeconds(10), "the first request upstream", () -> proxy.upstream().received().size() == 2);
        CompletableFuture<HttpResponse<String>> second = send(chat(1000));
        Poll.untilTrue(Duration.ofSeconds(10), "the second request queued", () -> proxy.context().queue().size() == 1);
        release.countDown();
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(2, proxy.upstream().received().size(), "100 left: the second does not fit");
        assertEquals(1, proxy.context().queue().size());
        proxy.clock().advance(Duration.ofMillis(8_999));
        assertFalse(second.isDone());
        assertEquals(2, proxy.upstream().received().size());
        proxy.upstream().otherwise(FakeCerebras.json(200, COMPLETION, "x-ratelimit-limit-tokens-minute", "6000", "x-ratelimit-remaining-tokens-minute", "0"));
        // A waiter's timer is never shorter than Parking.SHORTEST_TIMER.
        proxy.clock().advance(Parking.SHORTEST_TIMER);
        assertEquals(200, second.get(10, TimeUnit.SECONDS).statusCode(), "sent once 900 tokens refilled");
        assertEquals(3, proxy.upstream().received().size());
    }

    /**
     * As above, for a token 429 (the one key refused the first request, which has no other
     * key to try): its report (100 left) is taken before its reservation ends, so the waiter
     * is not sent into the refusing bucket, and it goes once 900 tokens have refilled (9 s),
     * not at the bucket's reset (59 s).
     */
    @Test
    void aToken429sReportDecidesWhetherTheNextWaiterFits() throws Exception
    {
        CountDownLatch release = new CountDownLatch(1);
        proxy.upstream().otherwise(FakeCerebras.json(200, COMPLETION, "x-ratelimit-limit-tokens-minute", "6000", "x-ratelimit-remaining-tokens-minute", "1500"));
        assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), chat(10)).statusCode());
        proxy.upstream().otherwise((request, response) ->
        {
            release.await(30, TimeUnit.SECONDS);
            FakeCerebras.json(429, TOKENS_REFUSED, "x-ratelimit-limit-tokens-minute", "6000", "x-ratelimit-remaining-tokens-minute", "100",
                "x-ratelimit-reset-tokens-minute", "59").write(request, response);
        });
        CompletableFuture<HttpResponse<String>> first = send(chat(1000));
        Poll.untilTrue(Duration.ofSeconds(10), "the first request upstream", () -> proxy.upstream().received().size() == 2);
        CompletableFuture<HttpResponse<String>> second = send(chat(1000));
        Poll.untilTrue(Duration.ofSeconds(10), "the second request queued", () -> proxy.context().queue().size() == 1);
        release.countDown();
        first.get(10, TimeUnit.SECONDS);
        assertEquals(2, proxy.upstream().received().size(), "100 left: the waiter does not fit");
        assertEquals(1, proxy.context().queue().size());
        proxy.upstream().otherwise(FakeCerebras.json(200, COMPLETION, "x-ratelimit-limit-tokens-minute", "6000", "x-ratelimit-remaining-tokens-minute", "0"));
        proxy.clock().advance(Duration.ofMillis(8_999));
        assertFalse(second.isDone());
        assertEquals(2, proxy.upstream().received().size());
        proxy.clock().advance(Parking.SHORTEST_TIMER);
        assertEquals(200, second.get(10, TimeUnit.SECONDS).statusCode(), "sent once 900 tokens refilled");
        assertEquals(3, proxy.upstream().received().size());
    }
}
