package dev.cerebrasproxy.forward;

import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.EventStream;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.RawHttp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
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
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A client that leaves while its request waits (for a key, for upstream's headers,
 * between two events of a stream) has its upstream exchange aborted within a second,
 * and its request is logged and counted as its departure (499), never as 200.
 */
class ClientDepartureTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().manualClock().settings(ProxySettings.WAIT_FOR_KEY_MS, "10000");

    /** Issue 12: upstream's exchange aborted within a second of the client's departure (the call aborts it before it counts the 499). */
    private static final Duration BOUND = Duration.ofMillis(1_000);

    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void needsTheSocketTable()
    {
        assumeTrue(TcpTable.available(), "departures while waiting are told by Linux's /proc/net/tcp");
    }

    @AfterEach
    void releaseUpstream()
    {
        release.countDown();
    }

    private static Socket send(String body) throws Exception
    {
        Socket socket = new Socket("127.0.0.1", proxy.port());
        socket.setSoTimeout(20_000);
        RawHttp.writeRequest(socket, "POST", "/v1/chat/completions", body);
        return socket;
    }

    private static double departures() throws Exception
    {
        java.net.http.HttpResponse<String> metrics = dev.cerebrasproxy.support.Http.CLIENT.send(
            java.net.http.HttpRequest.newBuilder(proxy.uri("/_proxy/metrics")).GET().build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        return new dev.cerebrasproxy.support.Scrape(metrics.body()).sum("cerebras_proxy_requests_total", "status", "499");
    }

    /**
     * Closes the client's socket; its request is soon counted as a departure (499). The
     * watcher reads the socket table every 100 ms and takes a FIN at once, a reset on a
     * second read 50 ms later, so a departure is told within about 150 ms: the second the
     * issue allows leaves the rest for a loaded shared machine, whose timers run late.
     * Returns the request's log line.
     */
    private static String leaveAndAwaitTheRequestLine(Socket socket, int mark) throws Exception
    {
        double before = departures();
        socket.close();
        long left = System.nanoTime();
        boolean seen = Poll.until(BOUND, Duration.ofMillis(20), () ->
        {
            try
            {
                return departures() > before;
            }
            catch (Exception e)
            {
                throw new AssertionError(e);
            }
        });
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - left);
        assertTrue(seen, "not counted as a departure within " + BOUND.toMillis() + " ms of the client leaving");
        assertTrue(took < BOUND.toMillis(), took + " ms");
        String[] line = new String[1];
        Poll.untilTrue(Duration.ofSeconds(10), "the request's log line", () -> (line[0] = LogCapture.since(mark).lines()
            .filter(l -> l.contains("POST /v1/chat/completions 499 ") || l.contains("POST /v1/chat/completions 200 ")).findFirst().orElse(null)) != null);
        return line[0];
    }

    @Test
    void aClientLeavingWhileUpstreamWorksIsNoticedWithinASecond() throws Exception
    {
        proxy.upstream().otherwise((request, response) -> release.await(20, TimeUnit.SECONDS));
        int mark = LogCapture.mark();
        Socket socket = send(CHAT);
        Poll.untilTrue(Duration.ofSeconds(10), "upstream got the request", () -> proxy.upstream().received().size() == 1);
        String line = leaveAndAwaitTheRequestLine(socket, mark);
        assertTrue(line.contains("POST /v1/chat/completions 499 "), line);
    }

    @Test
    void aClientLeavingWhileItWaitsForAKeyIsNoticedAndNothingGoesUpstream() throws Exception
    {
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after-ms", "5000"));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
        proxy.upstream().answer(CHARLIE, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
        // Rests are per key and model: cool them for the model the waiting request names.
        assertEquals(503, dev.cerebrasproxy.support.Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());
        proxy.upstream().reset();
        int mark = LogCapture.mark();
        Socket socket = send(CHAT);
        proxy.clock().awaitPending(1, Duration.ofSeconds(10));
        String line = leaveAndAwaitTheRequestLine(socket, mark);
        assertTrue(line.contains("POST /v1/chat/completions 499 "), line);
        proxy.clock().advance(Duration.ofSeconds(5)); // alpha is back: nobody waits for it any more
        assertEquals(0, proxy.upstream().received().size(), "nothing went upstream for a client that left");
    }

    @Test
    void aClientLeavingBetweenEventsIsNoticedBeforeTheNextEvent() throws Exception
    {
        CountDownLatch aborted = new CountDownLatch(1);
        proxy.upstream().otherwise((request, response) ->
        {
            response.setContentType("text/event-stream");
            FakeCerebras.writeAndFlush(response.getOutputStream(), EventStream.event(0) + "\n\n");
            release.await(20, TimeUnit.SECONDS); // a model that pauses (reasoning, a tool call)
            try
            {
                // The first write after the proxy closed may still fit the socket; the next ones meet the reset.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                for (int i = 1; System.nanoTime() < deadline; i++)
                    FakeCerebras.writeAndFlush(response.getOutputStream(), EventStream.event(i) + "\n\n");
            }
            catch (java.io.IOException cut)
            {
                aborted.countDown();
                throw cut;
            }
        });
        int mark = LogCapture.mark();
        Socket socket = send("{\"stream\":true}");
        RawHttp.readUntil(socket.getInputStream(), EventStream.event(0));
        // Closing with the chunk's last bytes unread resets the connection: the table loses it
        // at once, which tells only once a connection was ever found there.
        Poll.untilTrue(Duration.ofSeconds(5), "the watcher found a connection", () -> proxy.proxy().servlet().departures().addressesMatch());
        String line = leaveAndAwaitTheRequestLine(socket, mark);
        assertTrue(line.contains("POST /v1/chat/completions 499 "), line);
        assertFalse(line.contains(" 200 "), line);
        release.countDown();
        assertTrue(aborted.await(10, TimeUnit.SECONDS), "upstream's exchange was aborted");
    }
}
