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
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The queue at saturation through the webapp, on the manual clock with one key: a request
 * that cannot be sent now waits holding no thread, is sent the moment an answer frees
 * capacity, gets 503 at once past the queue's bound, and gives up when its time is up.
 */
class QueueTest
{
    @RegisterExtension
    final ProxyExtension proxy = new ProxyExtension().manualClock()
        .settings(ProxySettings.API_KEYS, "{\"alpha\":\"" + ALPHA + "\"}", ProxySettings.QUEUE_MAX, "1");

    private static String chat(int maxTokens)
    {
        return "{\"model\":\"m\",\"max_completion_tokens\":" + maxTokens + ",\"messages\":[]}";
    }

    private CompletableFuture<HttpResponse<String>> send(String body)
    {
        return Http.CLIENT.sendAsync(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aRequestThatDoesNotFitWaitsAndIsSentTheMomentAnAnswerFreesItsReservation() throws Exception
    {
        // The first answer reports 1500 of 6000 tokens left; the second request is held until then.
        CountDownLatch release = new CountDownLatch(1);
        proxy.upstream().otherwise(FakeCerebras.json(200, COMPLETION, "x-ratelimit-limit-tokens-minute", "6000", "x-ratelimit-remaining-tokens-minute", "1500"));
        assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), chat(10)).statusCode());
        proxy.upstream().otherwise((request, response) ->
        {
            release.await(30, TimeUnit.SECONDS);
            FakeCerebras.json(200, COMPLETION, "x-ratelimit-limit-tokens-minute", "6000", "x-ratelimit-remaining-tokens-minute", "1500").write(request, response);
        });
        CompletableFuture<HttpResponse<String>> first = send(chat(1000));
        Poll.untilTrue(Duration.ofSeconds(10), "the first request upstream", () -> proxy.upstream().received().size() == 2);
        CompletableFuture<HttpResponse<String>> second = send(chat(1000));
        Poll.untilTrue(Duration.ofSeconds(10), "the second request queued", () -> proxy.context().queue().size() == 1);
        assertEquals(2, proxy.upstream().received().size(), "1000 of the 1500 are reserved: it does not fit");
        release.countDown();
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(200, second.get(10, TimeUnit.SECONDS).statusCode(), "sent without the clock moving");
        assertEquals(3, proxy.upstream().received().size());
        assertEquals(0, proxy.context().queue().size());
    }

    @Test
    void pastTheQueuesBoundTheClientGets503AtOnceWithRetryAfter() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.json(429, RATE_LIMITED, "retry-after", "10"));
        assertEquals(503, Http.post(proxy.uri("/v1/chat/completions"), chat(10)).statusCode());
        proxy.upstream().reset();
        CompletableFuture<HttpResponse<String>> waiting = send(chat(10));
        Poll.untilTrue(Duration.ofSeconds(10), "one request queued", () -> proxy.context().queue().size() == 1);
        HttpResponse<String> refused = Http.post(proxy.uri("/v1/chat/completions"), chat(10));
        assertEquals(503, refused.statusCode());
        assertEquals("10", refused.headers().firstValue("Retry-After").orElseThrow());
        assertEquals("10000", refused.headers().firstValue("retry-after-ms").orElseThrow());
        assertTrue(Http.error(refused).get("message").getAsString().contains("1 requests wait already, PROXY_QUEUE_MAX"), refused.body());
        assertFalse(waiting.isDone());
        proxy.clock().advance(Duration.ofSeconds(10));
        assertEquals(200, waiting.get(10, TimeUnit.SECONDS).statusCode());
    }

    @Test
    void aWaitEndsIn503WhenItsTimeIsUp() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.json(429, RATE_LIMITED, "retry-after", "20"));
        assertEquals(503, Http.post(proxy.uri("/v1/chat/completions"), chat(10)).statusCode());
        CompletableFuture<HttpResponse<String>> waiting = send(chat(10));
        Poll.untilTrue(Duration.ofSeconds(10), "queued", () -> proxy.context().queue().size() == 1);
        // Another 429 as it is sent at 20 s pushes recovery past its 30 s grace.
        proxy.upstream().otherwise(FakeCerebras.json(429, RATE_LIMITED, "retry-after", "20"));
        proxy.clock().advance(Duration.ofSeconds(20));
        HttpResponse<String> response = waiting.get(10, TimeUnit.SECONDS);
        assertEquals(503, response.statusCode());
        assertEquals(0, proxy.context().queue().size());
        assertEquals(0, proxy.clock().pending());
    }

    /**
     * A queued request whose client goes, told by the container itself (over h2 the client
     * resets its stream and its connection stays open, so no socket table can tell): it
     * leaves the queue at once, its place is free for the next request, nothing goes
     * upstream for it when its key recovers, and its one log line says 499.
     */
    @Test
    void aQueuedRequestWhoseClientResetsItsStreamLeavesTheQueueAndNeverGoesUpstream() throws Exception
    {
        java.net.http.HttpClient h2 = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_2).build();
        // The JDK upgrades its first clear-text connection to h2c with this request; what follows goes over h2.
        assertEquals(java.net.http.HttpClient.Version.HTTP_2,
            h2.send(HttpRequest.newBuilder(proxy.uri("/v1/models")).build(), HttpResponse.BodyHandlers.ofString()).version());
        proxy.upstream().otherwise(FakeCerebras.json(429, RATE_LIMITED, "retry-after", "10"));
        assertEquals(503, Http.post(proxy.uri("/v1/chat/completions"), chat(10)).statusCode());
        proxy.upstream().reset();
        int mark = dev.cerebrasproxy.support.LogCapture.mark();
        CompletableFuture<HttpResponse<String>> leaving = h2.sendAsync(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(chat(10))).build(), HttpResponse.BodyHandlers.ofString());
        Poll.untilTrue(Duration.ofSeconds(10), "queued", () -> proxy.context().queue().size() == 1);
        leaving.cancel(true); // the JDK resets the stream
        Poll.untilTrue(Duration.ofSeconds(10), "out of the queue", () -> proxy.context().queue().size() == 0);
        String[] line = new String[1];
        Poll.untilTrue(Duration.ofSeconds(10), "its log line", () -> (line[0] = dev.cerebrasproxy.support.LogCapture.since(mark).lines()
            .filter(l -> l.contains("POST /v1/chat/completions 499 ") || l.contains("POST /v1/chat/completions 200 ")).findFirst().orElse(null)) != null);
        assertTrue(line[0].contains("POST /v1/chat/completions 499 "), line[0]);
        // Its place is free: the next request waits instead of meeting a full queue.
        CompletableFuture<HttpResponse<String>> next = send(chat(10));
        Poll.untilTrue(Duration.ofSeconds(10), "the next one queued", () -> proxy.context().queue().size() == 1);
        proxy.clock().advance(Duration.ofSeconds(10));
        assertEquals(200, next.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(1, proxy.upstream().received().size(), "only the request whose client stayed went upstream");
    }
}
