package dev.cerebrasproxy.forward;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;

import com.google.gson.JsonObject;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Paths, methods, headers and bodies on their way through the proxy. */
class ProxyFlowTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension();

    @Test
    void aChatCompletionComesBackAsUpstreamSentIt() throws Exception
    {
        HttpResponse<String> response = Http.post(proxy.uri("/chat/completions"), CHAT);
        assertEquals(200, response.statusCode());
        assertEquals(COMPLETION, response.body());
        assertEquals("application/json", response.headers().firstValue("Content-Type").orElseThrow());
        FakeCerebras.Received received = proxy.upstream().lastReceived();
        assertEquals("POST", received.method());
        assertEquals("/v1/chat/completions", received.target());
        assertEquals(CHAT, new String(received.body(), StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/chat/completions", "/v1/chat/completions"})
    void bothPathFormsReachTheSameUpstreamPath(String path) throws Exception
    {
        Http.post(proxy.uri(path), CHAT);
        assertEquals("/v1/chat/completions", proxy.upstream().lastReceived().target());
    }

    @Test
    void theQueryStringPassesByteForByte() throws Exception
    {
        Http.send(HttpRequest.newBuilder(proxy.uri("/v1/models?q=a%20b&x=%2F+c&empty=&flag")).build());
        assertEquals("/v1/models?q=a%20b&x=%2F+c&empty=&flag", proxy.upstream().lastReceived().target());
    }

    @Test
    void bareAndVersionRootsMapToTheUpstreamBase() throws Exception
    {
        Http.send(HttpRequest.newBuilder(proxy.uri("/v1")).build());
        assertEquals("/v1", proxy.upstream().lastReceived().target());
        Http.send(HttpRequest.newBuilder(proxy.uri("/v1/models/llama3.1-8b")).build());
        assertEquals("/v1/models/llama3.1-8b", proxy.upstream().lastReceived().target());
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
    void everyMethodPasses(String method) throws Exception
    {
        HttpRequest.BodyPublisher body = method.equals("GET") || method.equals("DELETE") || method.equals("OPTIONS")
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString("{}");
        HttpResponse<byte[]> response = Http.send(HttpRequest.newBuilder(proxy.uri("/v1/files/file-1")).method(method, body).build());
        assertEquals(200, response.statusCode());
        assertEquals(method, proxy.upstream().lastReceived().method());
        assertEquals("/v1/files/file-1", proxy.upstream().lastReceived().target());
    }

    @Test
    void headRequestsPass() throws Exception
    {
        HttpResponse<byte[]> response = Http.send(HttpRequest.newBuilder(proxy.uri("/v1/models")).method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
        assertEquals(200, response.statusCode());
        assertEquals("HEAD", proxy.upstream().lastReceived().method());
    }

    @Test
    void theClientsAuthorizationIsReplacedByAPoolKey() throws Exception
    {
        Http.post(proxy.uri("/v1/chat/completions"), CHAT, "Authorization", "Bearer client-own-token");
        List<String> authorization = proxy.upstream().lastReceived().headers().get("authorization");
        assertEquals(1, authorization.size());
        assertTrue(authorization.get(0).matches("Bearer sk-(alpha|bravo|charlie)-SECRET-000[123]"), authorization.get(0));
    }

    @Test
    void noForwardingHeadersLeakInternalAddresses() throws Exception
    {
        Http.post(proxy.uri("/v1/chat/completions"), CHAT, "X-Custom", "kept");
        FakeCerebras.Received received = proxy.upstream().lastReceived();
        for (String name : received.headers().keySet())
            assertTrue(!name.equals("via") && !name.equals("forwarded") && !name.startsWith("x-forwarded-"), "sent upstream: " + name);
        assertEquals("kept", received.header("X-Custom"));
        assertEquals("127.0.0.1:" + proxy.upstream().port(), received.header("Host"));
    }

    @Test
    void bodiesAndTheirTypeAndEncodingPassUnchanged() throws Exception
    {
        byte[] msgpack = {(byte)0x82, (byte)0xa5, 'm', 'o', 'd', 'e', 'l', (byte)0xa3, 'x', 'y', 'z', (byte)0xa6, 's', 't', 'r', 'e', 'a', 'm', (byte)0xc2, 0, (byte)0xff};
        HttpResponse<byte[]> response = Http.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .header("Content-Type", "application/vnd.msgpack")
            .header("Content-Encoding", "gzip")
            .POST(HttpRequest.BodyPublishers.ofByteArray(msgpack))
            .build());
        assertEquals(200, response.statusCode());
        FakeCerebras.Received received = proxy.upstream().lastReceived();
        assertArrayEquals(msgpack, received.body());
        assertEquals("application/vnd.msgpack", received.header("Content-Type"));
        assertEquals("gzip", received.header("Content-Encoding"));
        assertEquals(Integer.toString(msgpack.length), received.header("Content-Length"));
    }

    @Test
    void aBodyWithoutContentTypeGetsNoneAdded() throws Exception
    {
        Http.send(HttpRequest.newBuilder(proxy.uri("/v1/x")).POST(HttpRequest.BodyPublishers.ofString("raw")).build());
        assertNull(proxy.upstream().lastReceived().header("Content-Type"));
        assertEquals("raw", new String(proxy.upstream().lastReceived().body(), StandardCharsets.UTF_8));
    }

    @Test
    void aChunkedBodyArrivesWhole() throws Exception
    {
        byte[] big = new byte[300_000];
        for (int i = 0; i < big.length; i++)
            big[i] = (byte)(i * 31);
        // ofInputStream has no length, so the client sends it chunked.
        Http.send(HttpRequest.newBuilder(proxy.uri("/v1/x"))
            .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big)))
            .build());
        assertArrayEquals(big, proxy.upstream().lastReceived().body());
    }

    @Test
    void upstreamStatusesThatAreNotAboutTheKeyPassUnchanged() throws Exception
    {
        // 429, 500, 401, 402 and 403 are about the key and are retried (see KeyFeedbackTest)
        for (int status : new int[]{400, 404, 408, 422, 502, 503})
        {
            proxy.upstream().otherwise(FakeCerebras.json(status, "{\"message\":\"m" + status + "\",\"type\":\"t\",\"param\":null,\"code\":\"c" + status + "\"}",
                "x-ratelimit-remaining-requests-day", "99", "X-Request-Id", "req-" + status));
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
            assertEquals(status, response.statusCode());
            JsonObject body = Http.json(response);
            assertEquals("m" + status, body.get("message").getAsString());
            assertEquals("99", response.headers().firstValue("x-ratelimit-remaining-requests-day").orElseThrow());
            assertEquals("req-" + status, response.headers().firstValue("X-Request-Id").orElseThrow());
        }
        // a client error is the client's: not replayed with another key
        assertEquals(6, proxy.upstream().received().size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1/../../x", "/v1/%2e%2e/x", "/v1/%2E%2E/secret", "/a/%2f/b", "/a/%5c/b", "/v1/./models"})
    void pathsThatCouldLeaveTheUpstreamBaseAreRefused(String path) throws Exception
    {
        java.net.Socket socket = new java.net.Socket("127.0.0.1", proxy.port());
        try (socket)
        {
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 400"), path + " -> " + answer);
        }
        assertEquals(0, proxy.upstream().received().size());
    }
}
