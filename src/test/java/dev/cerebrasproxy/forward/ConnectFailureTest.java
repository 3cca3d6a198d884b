package dev.cerebrasproxy.forward;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.FlakyFront;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyUnderTest;
import dev.cerebrasproxy.support.UpstreamTransport;
import org.eclipse.jetty.client.Destination;
import org.eclipse.jetty.client.transport.HttpDestination;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A connection to upstream that fails before it carries anything fails every request
 * waiting for it (over h2, up to a connection's worth of streams: Jetty's destination
 * fails its whole queue). None of them reached upstream, so each goes again, on another
 * connection, with the same key: the key was never asked anything.
 *
 * <p>Over h2 only: an h2 connection is ready only after its TLS handshake (or h2c
 * preface) and upstream's SETTINGS, and requests wait for it meanwhile. An HTTP/1.1
 * connection carries its one request from the TCP connect on, so a connection closed
 * after that may have delivered it: that is a drop, never replayed (UpstreamFaultTest).
 */
class ConnectFailureTest
{
    /** One key: a replay with another key cannot hide a failed request. */
    private static final String ONE_KEY = "{\"alpha\":\"" + ALPHA + "\"}";

    @ParameterizedTest
    @EnumSource(value = UpstreamTransport.class, names = {"H2C", "H2"})
    void requestsQueuedOnAFailedConnectionGoOnAnother(UpstreamTransport transport) throws Exception
    {
        int requests = 20;
        try (FakeCerebras upstream = FakeCerebras.over(transport);
             FlakyFront front = new FlakyFront(upstream, 1);
             ProxyUnderTest proxy = ProxyUnderTest.startVia(front.baseUrl(), upstream, ProxySettings.API_KEYS, ONE_KEY))
        {
            List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
            for (int i = 0; i < requests; i++)
                answers.add(Http.CLIENT.sendAsync(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(), HttpResponse.BodyHandlers.ofString()));
            Poll.untilTrue(Duration.ofSeconds(20), "every request waits for the first connection",
                () -> front.accepted() == 1 && queued(proxy) == requests);
            front.release(); // the first connection closes without a byte
            for (CompletableFuture<HttpResponse<String>> answer : answers)
            {
                HttpResponse<String> response = answer.get(30, TimeUnit.SECONDS);
                assertEquals(200, response.statusCode(), response.body());
                assertEquals(COMPLETION, response.body());
            }
            assertEquals(requests, upstream.received().size());
            assertEquals(2, front.accepted(), "one connection failed, one more carried the requests");
        }
    }

    /** Upstream refusing every connection: the request still ends, after a bounded number of connects. */
    @ParameterizedTest
    @EnumSource(value = UpstreamTransport.class, names = {"H2C", "H2"})
    void anUpstreamThatRefusesEveryConnectionIsAnsweredBadGateway(UpstreamTransport transport) throws Exception
    {
        try (FakeCerebras upstream = FakeCerebras.over(transport);
             FlakyFront front = new FlakyFront(upstream, Integer.MAX_VALUE);
             ProxyUnderTest proxy = ProxyUnderTest.startVia(front.baseUrl(), upstream, ProxySettings.API_KEYS, ONE_KEY))
        {
            front.release();
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
            assertEquals(502, response.statusCode(), response.body());
            assertEquals("upstream_unreachable", Http.error(response).get("code").getAsString());
            assertTrue(front.accepted() <= 1 + Attempts.RECONNECTS, "connects: " + front.accepted());
            assertEquals(0, upstream.received().size());
        }
    }

    private static int queued(ProxyUnderTest proxy) throws Exception
    {
        int queued = 0;
        for (Destination destination : proxy.servlet().upstreamClient().getDestinations())
            queued += ((HttpDestination)destination).getQueuedRequestCount();
        return queued;
    }
}
