package dev.cerebrasproxy;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.google.gson.JsonObject;
import jakarta.servlet.ServletOutputStream;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the client gets when upstream is unreachable, silent, or the client leaves. */
class UpstreamFailureTest
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
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), Http.CHAT);
            assertEquals(502, response.statusCode());
            JsonObject error = Http.json(response);
            assertEquals(Set.of("message", "type", "param", "code"), error.keySet());
            assertEquals("upstream_unreachable", error.get("code").getAsString());
            assertEquals("server_error", error.get("type").getAsString());
        }
    }

    @Test
    void anUpstreamSilentPastTheIdleTimeoutIs504() throws Exception
    {
        CountDownLatch release = new CountDownLatch(1);
        try (FakeCerebras upstream = new FakeCerebras();
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream, ProxySettings.IDLE_TIMEOUT_MS, "300"))
        {
            upstream.otherwise((request, response) -> release.await(30, TimeUnit.SECONDS));
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), Http.CHAT);
            release.countDown();
            assertEquals(504, response.statusCode());
            JsonObject error = Http.json(response);
            assertEquals("upstream_timeout", error.get("code").getAsString());
            assertEquals("Upstream sent nothing for 300 ms (PROXY_IDLE_TIMEOUT_MS).", error.get("message").getAsString());
        }
    }

    @Test
    void aStreamThatGoesSilentEndsAbnormallyNotCleanly() throws Exception
    {
        CountDownLatch release = new CountDownLatch(1);
        try (FakeCerebras upstream = new FakeCerebras();
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
                RawHttp.writeRequest(socket, "POST", "/v1/chat/completions", Http.CHAT);
                String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                release.countDown();
                assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
                assertTrue(answer.contains(EventStream.event(0)), answer);
                assertFalse(answer.endsWith("\r\n0\r\n\r\n"), "a cut stream must not end with the terminal chunk: " + answer);
                assertEquals(1, upstream.received().size(), "once a byte went to the client, the call is never replayed");
            }
        }
    }

    @Test
    void aClientThatLeavesMidStreamAbortsTheUpstreamExchange() throws Exception
    {
        CountDownLatch firstEventRead = new CountDownLatch(1);
        CountDownLatch upstreamAborted = new CountDownLatch(1);
        try (FakeCerebras upstream = new FakeCerebras();
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream))
        {
            upstream.otherwise((request, response) ->
            {
                response.setContentType("text/event-stream");
                ServletOutputStream output = response.getOutputStream();
                try
                {
                    FakeCerebras.writeAndFlush(output, EventStream.event(0) + "\n\n");
                    firstEventRead.await(10, TimeUnit.SECONDS);
                    // Keep producing, as a model would, until the proxy hangs up on us.
                    for (int i = 1; i < 1_000_000; i++)
                        FakeCerebras.writeAndFlush(output, EventStream.event(i) + "\n\n");
                }
                catch (IOException aborted)
                {
                    upstreamAborted.countDown();
                    throw aborted;
                }
            });
            try (Socket socket = new Socket("127.0.0.1", proxy.port()))
            {
                RawHttp.writeRequest(socket, "POST", "/v1/chat/completions", Http.CHAT);
                InputStream input = socket.getInputStream();
                RawHttp.readUntil(input, EventStream.event(0));
            }
            firstEventRead.countDown();
            assertTrue(upstreamAborted.await(10, TimeUnit.SECONDS), "upstream was not aborted after the client left");
        }
    }
}
