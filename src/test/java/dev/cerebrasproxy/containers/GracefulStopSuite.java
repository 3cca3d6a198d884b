package dev.cerebrasproxy.containers;

import java.io.InputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.EventStream;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.KEYS;
import static dev.cerebrasproxy.support.TestData.STREAM_CHAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A rolling deploy on one container: SIGTERM arrives while a stream is in flight. The
 * container must stop accepting at once, answer readiness with 503, let the stream end
 * whole (every event, then [DONE]) within PROXY_DRAIN_SECONDS, and then exit by itself.
 * Each subclass names one container, started for the test alone.
 */
abstract class GracefulStopSuite
{
    private static final int EVENTS = 16;
    /** SIGTERM comes after this event; upstream sends the rest only after it. */
    private static final int SIGTERM_AFTER = 4;
    private static final int DRAIN_SECONDS = 20;

    @RegisterExtension
    static final ProxyExtension fake = new ProxyExtension().upstreamOnly();

    private final ServletContainer container;
    /** Whether a request on a connection opened before the stop is still answered (with 503) rather than the connection closed. */
    private final boolean answersOnOpenConnections;

    /** What the container logs once it is waiting for requests in flight. */
    private final String waitingLine;

    GracefulStopSuite(ServletContainer container, boolean answersOnOpenConnections, String waitingLine)
    {
        this.container = container;
        this.answersOnOpenConnections = answersOnOpenConnections;
        this.waitingLine = waitingLine;
    }

    @Test
    void aStreamInFlightEndsWholeAfterSigtermAndNothingNewGetsIn() throws Exception
    {
        EventStream stream = new EventStream(EVENTS);
        try (RunningProxy proxy = container.start(Map.of(ProxySettings.API_KEYS, KEYS,
            ProxySettings.UPSTREAM_URL, fake.upstream().baseUrl().toString(),
            ProxySettings.DRAIN_SECONDS, Integer.toString(DRAIN_SECONDS))))
        {
            // Only now: the start-up probe (GET /) goes upstream too.
            fake.upstream().otherwise(stream.reply());
            assertTimeoutPreemptively(Duration.ofSeconds(DRAIN_SECONDS + 40), () ->
            {
                // A load balancer's connection, open before the stop: readiness is asked on it afterwards.
                try (Socket balancer = new Socket("127.0.0.1", proxy.port()))
                {
                    HttpResponse<InputStream> response = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                        .header("Content-Type", "application/json")
                        .header("Accept", "text/event-stream")
                        .POST(HttpRequest.BodyPublishers.ofString(STREAM_CHAT))
                        .build(), HttpResponse.BodyHandlers.ofInputStream());
                    assertEquals(200, response.statusCode());
                    try (InputStream body = response.body())
                    {
                        stream.readAll(body, SIGTERM_AFTER, () ->
                        {
                            proxy.terminate();
                            Poll.untilTrue(Duration.ofSeconds(15), container.name() + " to begin its stop", () -> proxy.log().contains(container.stoppedInOrderLine()));
                            // Past the point where the stop used to cut the stream (Tomcat: the proxy servlet waits).
                            Poll.untilTrue(Duration.ofSeconds(15), container.name() + " to be waiting for the stream", () -> proxy.log().contains(waitingLine));
                            Poll.untilTrue(Duration.ofSeconds(10), "new connections to be refused", () -> refused(proxy.port()));
                            balancer.getOutputStream().write("GET /_proxy/health/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                            String ready = new String(balancer.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                            // Tomcat closes connections waiting for a request once it pauses: not ready either.
                            assertTrue(ready.startsWith("HTTP/1.1 503") || (!answersOnOpenConnections && ready.isEmpty()), "readiness while draining: " + ready);
                        });
                    }
                }
                assertFalse(stream.gateTimedOut());
                assertTrue(proxy.exitsWithin(Duration.ofSeconds(DRAIN_SECONDS + 15)), container.name() + " exits by itself once the stream is done");
            });
        }
    }

    private static boolean refused(int port)
    {
        try (Socket ignored = new Socket("127.0.0.1", port))
        {
            return false;
        }
        catch (ConnectException refused)
        {
            return true;
        }
        catch (java.io.IOException other)
        {
            return false;
        }
    }
}
