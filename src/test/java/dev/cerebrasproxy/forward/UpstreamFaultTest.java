package dev.cerebrasproxy.forward;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.google.gson.JsonObject;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.EventStream;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.MisbehavingUpstream;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyUnderTest;
import dev.cerebrasproxy.support.RawHttp;
import jakarta.servlet.ServletOutputStream;
import dev.cerebrasproxy.support.UpstreamTransport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An upstream that is not there, goes silent, or misbehaves on cue, and a client that
 * leaves or reads slowly: no request is lost, hung or charged twice.
 */
class UpstreamFaultTest
{
    @Test
    void anUnreachableUpstreamIs502InCerebrasErrorShape() throws Exception
    {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0))
        {
            closedPort = socket.getLocalPort();
        }
        try (FakeCerebras unused = new FakeCerebras();
             ProxyUnderTest proxy = ProxyUnderTest.start(unused, ProxySettings.UPSTREAM_URL, "http://127.0.0.1:" + closedPort + "/v1"))
        {
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
            assertEquals(502, response.statusCode());
            JsonObject error = Http.error(response);
            assertEquals("upstream_unreachable", error.get("code").getAsString());
            assertEquals("server_error", error.get("type").getAsString());
        }
    }

    /** 16 MB: more than the socket buffers between the proxy and upstream hold, so a reset stops it half sent. */
    private static final String LARGE_CHAT = "{\"model\":\"llama3.1-8b\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(16 << 20) + "\"}]}";

    private static final String TOO_LARGE = "{\"message\":\"Request body too large\",\"type\":\"invalid_request_error\",\"param\":\"\",\"code\":\"too_large\"}";

    /** Upstream may answer before it has read the request's body (RFC 9110, 9.3.3), as a front refusing a body too large does: the client gets that answer whole, once. */
    @ParameterizedTest
    @EnumSource(UpstreamTransport.class)
    void anAnswerBeforeTheBodyWasReadReachesTheClientWhole(UpstreamTransport transport) throws Exception
    {
        try (FakeCerebras upstream = FakeCerebras.over(transport);
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream))
        {
            upstream.answerUnread(FakeCerebras.json(413, TOO_LARGE), FakeCerebras.AfterAnswer.READ_BODY);
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), LARGE_CHAT);
            assertEquals(413, response.statusCode(), response.body());
            assertEquals(TOO_LARGE, response.body());
            assertEquals(1, upstream.received().size());
        }
    }

    /**
     * Upstream answers whole before it read the body, then reads no more and keeps the
     * stream open. The client gets the answer at once, not when the stalled upload meets
     * the idle timeout: Jetty's client completes an exchange only once its request is done,
     * so the proxy ends the upload when the answer is whole.
     */
    @ParameterizedTest
    @EnumSource(UpstreamTransport.class)
    void anAnswerBeforeTheBodyWasReadIsNotHeldByTheStalledUpload(UpstreamTransport transport) throws Exception
    {
        try (FakeCerebras upstream = FakeCerebras.over(transport);
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream))
        {
            upstream.answerUnread(FakeCerebras.json(413, TOO_LARGE), FakeCerebras.AfterAnswer.STALL);
            // Well within the proxy's idle timeout (120 s), the time a stalled upload would take to fail.
            HttpResponse<String> response = Http.CLIENT.send(java.net.http.HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                .timeout(Duration.ofSeconds(20)).POST(java.net.http.HttpRequest.BodyPublishers.ofString(LARGE_CHAT)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(413, response.statusCode(), response.body());
            assertEquals(TOO_LARGE, response.body());
            upstream.answerUnread(null, FakeCerebras.AfterAnswer.READ_BODY);
            assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode(), "the proxy serves on");
        }
    }

    /**
     * Upstream answers before it read the body and then cuts the upload (the container
     * closes, or resets the h2 stream). Jetty's client fails the whole exchange with the
     * upload, and which it sees first, the answer or the cut, is a race:
     * <ul>
     * <li>the answer whole first: it stands, with upstream's own message;</li>
     * <li>its status first, its body lost: the client gets the status with the proxy's
     * word for it, not a 502 (upstream_failed) that its SDK would retry with the whole
     * body again;</li>
     * <li>nothing of it first: the request could not have been processed, so it goes to
     * the next key (a 502 only if every key meets the same).</li>
     * </ul>
     * Ten requests on each transport: every one ends as one of those, and at least one
     * keeps its status.
     */
    @ParameterizedTest
    @EnumSource(UpstreamTransport.class)
    void anAnswerThatCutTheUploadKeepsItsStatus(UpstreamTransport transport) throws Exception
    {
        try (FakeCerebras upstream = FakeCerebras.over(transport);
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream))
        {
            upstream.answerUnread(FakeCerebras.json(413, TOO_LARGE), FakeCerebras.AfterAnswer.CUT_UPLOAD);
            int kept = 0;
            for (int i = 0; i < 10; i++)
            {
                HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), LARGE_CHAT);
                String code = response.body().equals(TOO_LARGE) ? "too_large" : Http.error(response).get("code").getAsString();
                if (response.statusCode() == 413)
                {
                    assertTrue(code.equals("too_large") || code.equals("upstream_answered_early"), response.body());
                    kept++;
                }
                else
                    assertEquals("502 upstream_unreachable", response.statusCode() + " " + code, response.body());
            }
            assertTrue(kept > 0, "no request kept upstream's status");
            upstream.answerUnread(null, FakeCerebras.AfterAnswer.READ_BODY);
            assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode(), "no key rests for it");
        }
    }

    /** The connection failed before upstream had the request whole: it cannot have processed it, so the next key gets it. */
    @Test
    void anUpstreamThatDropsTheRequestHalfSentIsTriedWithTheNextKey() throws Exception
    {
        try (MisbehavingUpstream upstream = new MisbehavingUpstream()
                .on(ALPHA, MisbehavingUpstream.Fault.CLOSE_UNREAD)
                .on(BRAVO, MisbehavingUpstream.Fault.CLOSE_UNREAD);
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream.baseUrl()))
        {
            int mark = LogCapture.mark();
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), LARGE_CHAT);
            assertEquals(200, response.statusCode(), response.body());
            assertEquals("{\"ok\":true}", response.body());
            assertEquals(3, upstream.requests(), "alpha, then bravo, both reset half sent; charlie answered");
            assertTrue(LogCapture.since(mark).contains("no answer from upstream with key alpha"));
        }
    }

    /**
     * Upstream received the request whole and closed without a byte of answer: it may have
     * processed it (and charged for it), so it is not replayed with another key.
     */
    @Test
    void anUpstreamThatDropsARequestItReceivedWholeIs502AndNotReplayed() throws Exception
    {
        try (MisbehavingUpstream upstream = new MisbehavingUpstream().onEveryKey(MisbehavingUpstream.Fault.CLOSE_BEFORE_RESPONSE);
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream.baseUrl()))
        {
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
            assertEquals(502, response.statusCode());
            JsonObject error = Http.error(response);
            assertEquals("upstream_dropped", error.get("code").getAsString());
            assertEquals("server_error", error.get("type").getAsString());
            assertEquals(1, upstream.requests(), "one upstream call, never fanned out");
        }
    }

    /** The fake's {"mock_fail":"close"}: one upstream call, not one per key. */
    @Test
    void mockFailCloseCostsExactlyOneUpstreamCall() throws Exception
    {
        try (FakeCerebras upstream = new FakeCerebras();
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream))
        {
            assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode()); // a pooled connection to reuse
            upstream.reset();
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), "{\"model\":\"llama3.1-8b\",\"mock_fail\":\"close\",\"messages\":[]}");
            assertEquals(502, response.statusCode(), response.body());
            assertEquals("upstream_dropped", Http.error(response).get("code").getAsString());
            assertEquals(1, upstream.received().size());
        }
    }

    @Test
    void whenNoKeyGetsAnAnswerTheClientGets502() throws Exception
    {
        try (MisbehavingUpstream upstream = new MisbehavingUpstream().onEveryKey(MisbehavingUpstream.Fault.CLOSE_UNREAD);
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream.baseUrl()))
        {
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), LARGE_CHAT);
            assertEquals(502, response.statusCode());
            JsonObject error = Http.json(response);
            assertEquals("upstream_unreachable", error.get("code").getAsString());
            assertEquals("server_error", error.get("type").getAsString());
            assertEquals(3, upstream.requests(), "each key once");
        }
    }

    @Test
    void aStreamResetMidwayEndsAbnormallyAndIsNotReplayed() throws Exception
    {
        try (MisbehavingUpstream upstream = new MisbehavingUpstream().onEveryKey(MisbehavingUpstream.Fault.RESET_MID_STREAM);
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream.baseUrl()))
        {
            String answer = rawStream(proxy);
            assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
            assertTrue(answer.contains(EventStream.event(0)), answer);
            assertFalse(answer.endsWith("\r\n0\r\n\r\n"), "no clean end of the chunked body: " + answer);
            assertFalse(answer.contains("[DONE]"), answer);
            assertEquals(1, upstream.requests(), "bytes went to the client: never replayed");
        }
    }

    private static String rawStream(ProxyUnderTest proxy) throws IOException
    {
        try (Socket socket = new Socket("127.0.0.1", proxy.port()))
        {
            socket.setSoTimeout(20_000);
            RawHttp.writeRequest(socket, "POST", "/v1/chat/completions", "{\"stream\":true}");
            return RawHttp.readUntilClosed(socket.getInputStream());
        }
    }

    @ParameterizedTest
    @EnumSource(UpstreamTransport.class)
    void anUpstreamSilentPastTheIdleTimeoutIs504(UpstreamTransport transport) throws Exception
    {
        CountDownLatch release = new CountDownLatch(1);
        try (FakeCerebras upstream = FakeCerebras.over(transport);
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream, ProxySettings.IDLE_TIMEOUT_MS, "300"))
        {
            upstream.otherwise((request, response) -> release.await(30, TimeUnit.SECONDS));
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
            release.countDown();
            assertEquals(504, response.statusCode());
            JsonObject error = Http.json(response);
            assertEquals("upstream_timeout", error.get("code").getAsString());
            assertEquals("Upstream sent nothing for 300 ms (PROXY_IDLE_TIMEOUT_MS).", error.get("message").getAsString());
        }
    }

    @ParameterizedTest
    @EnumSource(UpstreamTransport.class)
    void aStreamThatGoesSilentEndsAbnormallyNotCleanly(UpstreamTransport transport) throws Exception
    {
        CountDownLatch release = new CountDownLatch(1);
        try (FakeCerebras upstream = FakeCerebras.over(transport);
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream, ProxySettings.IDLE_TIMEOUT_MS, "300"))
        {
            upstream.otherwise((request, response) ->
            {
                response.setContentType("text/event-stream");
                FakeCerebras.writeAndFlush(response.getOutputStream(), EventStream.event(0) + "\n\n");
                release.await(30, TimeUnit.SECONDS);
            });
            try (Socket socket = new Socket("127.0.0.1", proxy.port()))
            {
                socket.setSoTimeout(20_000);
                RawHttp.writeRequest(socket, "POST", "/v1/chat/completions", CHAT);
                String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                release.countDown();
                assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
                assertTrue(answer.contains(EventStream.event(0)), answer);
                assertFalse(answer.endsWith("\r\n0\r\n\r\n"), "a cut stream must not end with the terminal chunk: " + answer);
                assertEquals(1, upstream.received().size(), "once a byte went to the client, the call is never replayed");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(UpstreamTransport.class)
    void headersThenSilenceIs504WhileNothingWasSent(UpstreamTransport transport) throws Exception
    {
        CountDownLatch release = new CountDownLatch(1);
        try (FakeCerebras upstream = FakeCerebras.over(transport);
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream, ProxySettings.IDLE_TIMEOUT_MS, "300"))
        {
            upstream.otherwise((request, response) ->
            {
                response.setContentType("text/event-stream");
                response.flushBuffer(); // status and headers go out, no body byte
                release.await(30, TimeUnit.SECONDS);
            });
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
            release.countDown();
            assertEquals(504, response.statusCode());
            assertEquals("upstream_timeout", Http.json(response).get("code").getAsString());
            assertEquals(1, upstream.received().size(), "a silent upstream may be working on it: not replayed");
        }
    }

    /** The client hangs up mid-stream: within a second the upstream exchange is aborted (over HTTP/1.1 its connection closed, over h2 its stream reset). */
    @ParameterizedTest
    @EnumSource(UpstreamTransport.class)
    void aClientLeavingMidStreamReleasesTheUpstreamConnectionWithinASecond(UpstreamTransport transport) throws Exception
    {
        CountDownLatch clientLeft = new CountDownLatch(1);
        AtomicLong leftAt = new AtomicLong();
        AtomicLong abortedAt = new AtomicLong();
        try (FakeCerebras upstream = FakeCerebras.over(transport);
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream))
        {
            upstream.otherwise((request, response) ->
            {
                response.setContentType("text/event-stream");
                ServletOutputStream output = response.getOutputStream();
                try
                {
                    FakeCerebras.writeAndFlush(output, EventStream.event(0) + "\n\n");
                    clientLeft.await(10, TimeUnit.SECONDS);
                    for (int i = 1; i < 1_000_000; i++)
                        FakeCerebras.writeAndFlush(output, EventStream.event(i) + "\n\n");
                }
                catch (IOException aborted)
                {
                    abortedAt.set(System.nanoTime());
                    throw aborted;
                }
            });
            try (Socket socket = new Socket("127.0.0.1", proxy.port()))
            {
                RawHttp.writeRequest(socket, "POST", "/v1/chat/completions", CHAT);
                RawHttp.readUntil(socket.getInputStream(), EventStream.event(0));
                assertEquals(1, upstream.openConnections());
            }
            leftAt.set(System.nanoTime());
            clientLeft.countDown();
            // Over h2 the stream is reset and its connection stays for other requests.
            assertTrue(Poll.until(Duration.ofSeconds(1), () -> upstream.activeRequests() == 0
                    && upstream.openConnections() == (transport.multiplexed() ? 1 : 0)),
                "the upstream exchange is still under way a second after the client left: " + upstream.activeRequests() + " active, " + upstream.openConnections() + " connections");
            assertTrue(abortedAt.get() != 0, "upstream saw the abort");
            assertTrue(abortedAt.get() - leftAt.get() < TimeUnit.SECONDS.toNanos(1));
        }
    }

    /**
     * A client that reads nothing while upstream streams 40 MB as fast as it can: the proxy
     * pushes back instead of buffering, so upstream stalls once the socket buffers along
     * the way are full; then the client reads everything, whole.
     */
    @ParameterizedTest
    @EnumSource(UpstreamTransport.class)
    void aSlowClientHoldsUpstreamBackInsteadOfFillingMemory(UpstreamTransport transport) throws Exception
    {
        int events = 40_000;
        byte[] event = ("data: {\"choices\":[{\"delta\":{\"content\":\"" + "x".repeat(1000) + "\"}}]}\n\n").getBytes(StandardCharsets.UTF_8);
        long total = (long)events * event.length;
        AtomicLong written = new AtomicLong();
        try (FakeCerebras upstream = FakeCerebras.over(transport);
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream))
        {
            upstream.otherwise((request, response) ->
            {
                response.setContentType("text/event-stream");
                ServletOutputStream output = response.getOutputStream();
                for (int i = 0; i < events; i++)
                {
                    output.write(event);
                    output.flush();
                    written.addAndGet(event.length);
                }
            });
            try (Socket socket = new Socket())
            {
                // Fixed, so the kernel cannot soak up the stream by growing it; but no smaller
                // than loopback's 64 KiB segment. Below that the window never fits a segment,
                // Linux sends one per persist probe, ~200 ms apart, and reading 40 MB then took
                // minutes (seen as 160-360 s runs; ss showed timer:(persist) and 3.7 MB queued).
                socket.setReceiveBufferSize(256 * 1024);
                socket.connect(new java.net.InetSocketAddress("127.0.0.1", proxy.port()));
                RawHttp.writeRequest(socket, "POST", "/v1/chat/completions", CHAT);
                // Wait until upstream's writes stall: the amount written stops growing.
                long[] last = {-1};
                assertTrue(Poll.until(Duration.ofSeconds(30), Duration.ofMillis(250), () ->
                {
                    long now = written.get();
                    boolean stalled = now == last[0] && now > 0;
                    last[0] = now;
                    return stalled;
                }), "upstream never got going");
                long outstanding = written.get();
                assertTrue(outstanding < total / 2, "with the client reading nothing, upstream still got " + outstanding + " of " + total + " bytes out");
                // Now the client reads it all: nothing lost.
                String response = RawHttp.readUntil(new java.io.BufferedInputStream(socket.getInputStream()), "\r\n0\r\n\r\n");
                assertEquals(new String(event, StandardCharsets.UTF_8).repeat(events), RawHttp.dechunk(response));
            }
        }
    }
}
