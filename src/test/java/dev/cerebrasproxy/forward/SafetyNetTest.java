package dev.cerebrasproxy.forward;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHARLIE;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whatever throws on whichever thread a request's step runs (the container's, the body
 * reader's, a timer's, the HTTP client's), the request still ends once: an answer in the
 * error shape, its one log line, and nothing more sent upstream.
 */
class SafetyNetTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().manualClock().servlet(CrashingProxyServlet.class);

    private static HttpRequest.Builder chat(String crash)
    {
        return HttpRequest.newBuilder(proxy.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(20))
            .header("Content-Type", "application/json").header(CrashingProxyServlet.HEADER, crash);
    }

    private static void assertEndedOnceWith500(HttpResponse<String> response, int mark)
    {
        assertEquals(500, response.statusCode(), response.body());
        assertEquals("proxy_error", Http.error(response).get("code").getAsString());
        String log = LogCapture.since(mark);
        assertEquals(1, log.lines().filter(line -> line.contains("/v1/chat/completions 500") && line.contains("the proxy failed on this request")).count(), log);
        assertFalse(log.contains("/v1/chat/completions 200"), log);
    }

    @Test
    void aFailureOnTheContainersThreadIsAnswered() throws Exception
    {
        int mark = LogCapture.mark();
        HttpResponse<String> response = Http.CLIENT.send(chat("request").GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEndedOnceWith500(response, mark);
        assertEquals(0, proxy.upstream().received().size());
    }

    @Test
    void aFailureAfterTheBodyIsReadIsAnswered() throws Exception
    {
        int mark = LogCapture.mark();
        HttpResponse<String> response = Http.CLIENT.send(chat("request").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(), HttpResponse.BodyHandlers.ofString());
        assertEndedOnceWith500(response, mark);
        assertEquals(0, proxy.upstream().received().size());
    }

    @Test
    void aFailureOnATimerIsAnswered() throws Exception
    {
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after-ms", "600"));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
        proxy.upstream().answer(CHARLIE, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
        assertEquals(503, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());
        proxy.upstream().reset();
        int mark = LogCapture.mark();
        CompletableFuture<HttpResponse<String>> waiting = Http.CLIENT.sendAsync(chat("request").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(), HttpResponse.BodyHandlers.ofString());
        proxy.clock().awaitPending(1, Duration.ofSeconds(10));
        proxy.clock().advance(Duration.ofMillis(600)); // the wait ends; the attempt it sends throws
        assertEndedOnceWith500(waiting.get(10, TimeUnit.SECONDS), mark);
        assertEquals(0, proxy.upstream().received().size());
    }

    @Test
    void aFailureOnTheHttpClientsThreadIsAnswered() throws Exception
    {
        int mark = LogCapture.mark();
        HttpResponse<String> response = Http.CLIENT.send(chat("header").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(), HttpResponse.BodyHandlers.ofString());
        assertEndedOnceWith500(response, mark);
        assertEquals(1, proxy.upstream().received().size(), "the attempt that failed, never replayed");
        assertTrue(proxy.upstream().lastReceived().key().contains("-SECRET-"));
    }

    /**
     * A crash after the key was taken (building the attempt throws) still gives back what
     * the request held: its reservation on the key's budget. Held for good, each crash
     * would have left the budget one request more in flight, and its tokens reserved.
     */
    @Test
    void aFailureGivesBackWhatTheRequestHeldOnItsBudget() throws Exception
    {
        int mark = LogCapture.mark();
        for (int i = 0; i < 3; i++)
            assertEquals(500, Http.CLIENT.send(chat("request").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
        assertEquals(0, proxy.pool().budgets().stream().mapToInt(dev.cerebrasproxy.pool.BudgetSnapshot::inFlight).sum(),
            proxy.pool().budgets() + "\n" + LogCapture.since(mark));
    }
}
