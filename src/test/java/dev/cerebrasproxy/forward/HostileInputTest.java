package dev.cerebrasproxy.forward;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.RawHttp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.cerebrasproxy.support.TestData.CHAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Crafted requests cannot leave the upstream base, pick the host or the key, smuggle a
 * request, or see a key; each gets a clear error, and the proxy keeps serving.
 */
class HostileInputTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension();

    /** After any hostile request, a normal one on a fresh connection still works. */
    @AfterEach
    void theProxyStillServes() throws Exception
    {
        proxy.upstream().reset();
        assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());
    }

    private static String raw(String request) throws Exception
    {
        return RawHttp.exchange(proxy.port(), request);
    }

    private static String status(String answer)
    {
        return answer.substring(0, answer.indexOf("\r\n"));
    }

    private static JsonObject errorBody(String answer)
    {
        JsonObject error = JsonParser.parseString(answer.substring(answer.indexOf("\r\n\r\n") + 4)).getAsJsonObject();
        assertTrue(error.has("message") && error.has("type") && error.has("param") && error.has("code"), error.toString());
        assertTrue(error.get("param").isJsonPrimitive() && error.get("param").getAsJsonPrimitive().isString(), "param must be a string: " + error);
        return error;
    }

    /**
     * Jetty's HTTP layer refuses these before the webapp sees them (its own 400, not our
     * error shape); other containers pass them on, and {@link UpstreamRoute} refuses them
     * in our shape (see UpstreamRouteTest). Either way: 400, and nothing goes upstream.
     */
    @ParameterizedTest
    @ValueSource(strings = {"/v1/%2e%2e/x", "/v1/%2E%2E/%2e%2e/x", "/v1/a%2fb", "/v1/a%2F..%2Fb", "/v1/a%5cb", "/v1/a%5C..%5Cb"})
    void encodedTraversalIs400(String path) throws Exception
    {
        String answer = raw("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
        assertEquals("HTTP/1.1 400 Bad Request", status(answer), answer);
        assertEquals(0, proxy.upstream().received().size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1/../../x", "/../x", "/v1/./../../etc/passwd", "/v1/a\\b", "/v1/..\\x"})
    void plainTraversalIs400(String path) throws Exception
    {
        String answer = raw("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assertTrue(status(answer).startsWith("HTTP/1.1 400"), answer);
        assertEquals(0, proxy.upstream().received().size());
    }

    /**
     * Queries that java.net.URI refuses but clients send and servers take: forwarded as
     * sent. (The HTTP client parsed them with URI and threw: no answer, a stranded socket.)
     */
    @ParameterizedTest
    @ValueSource(strings = {"q=a|b", "x=100%", "a=%zz", "b={}", "c=[1]&d=^`"})
    void aQueryThatJavaNetUriRefusesIsForwardedByteForByte(String query) throws Exception
    {
        String answer = raw("GET /v1/models?" + query + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assertEquals("HTTP/1.1 200 OK", status(answer), answer);
        assertEquals("/v1/models?" + query, proxy.upstream().lastReceived().target());
    }

    @Test
    void fiftyOddQueriesLeaveNoSocketBehind() throws Exception
    {
        org.junit.jupiter.api.Assumptions.assumeTrue(TcpTable.available(), "needs Linux's /proc/net/tcp");
        for (int i = 0; i < 50; i++)
        {
            String answer = raw("GET /v1/models?q=a|" + i + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            assertEquals("HTTP/1.1 200 OK", status(answer), answer);
        }
        assertTrue(dev.cerebrasproxy.support.Poll.until(java.time.Duration.ofSeconds(5), () -> TcpTable.count(proxy.port(), TcpTable.CLOSE_WAIT) == 0),
            TcpTable.count(proxy.port(), TcpTable.CLOSE_WAIT) + " of the proxy's sockets are left in CLOSE_WAIT");
    }

    @Test
    void anAbsoluteFormTargetCannotChooseTheHost() throws Exception
    {
        String answer = raw("GET http://evil.example/v1/models HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assertTrue(status(answer).startsWith("HTTP/1.1 400"), answer);
        assertEquals(0, proxy.upstream().received().size());
        // Even with a matching Host the request goes only to the configured upstream.
        raw("GET http://evil.example/v1/models HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
        for (FakeCerebras.Received received : proxy.upstream().received())
            assertEquals("127.0.0.1:" + proxy.upstream().port(), received.header("Host"));
    }

    @Test
    void connectIsRefusedInTheErrorShape() throws Exception
    {
        String answer = raw("CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n");
        assertEquals("HTTP/1.1 400 Bad Request", status(answer), answer);
        assertEquals("unsupported_method", errorBody(answer).get("code").getAsString());
        assertEquals(0, proxy.upstream().received().size());
    }

    /** Jetty's default descriptor forbids TRACE (403); elsewhere the servlet refuses it (405). */
    @Test
    void traceIsRefusedSoUpstreamCannotEchoTheKey() throws Exception
    {
        String answer = raw("TRACE /v1/models HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assertTrue(status(answer).startsWith("HTTP/1.1 403") || status(answer).startsWith("HTTP/1.1 405"), answer);
        assertEquals(0, proxy.upstream().received().size());
    }

    @Test
    void theReservedPrefixIsNeverForwarded() throws Exception
    {
        String answer = raw("GET /_proxy/anything HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assertEquals("HTTP/1.1 404 Not Found", status(answer), answer);
        assertEquals("not_found", errorBody(answer).get("code").getAsString());
        String direct = raw("GET /_proxy/error HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assertEquals("HTTP/1.1 404 Not Found", status(direct), direct);
        assertEquals(0, proxy.upstream().received().size());
    }

    @Test
    void oversizedHeadersAre431() throws Exception
    {
        String answer = raw("GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-Big: " + "a".repeat(20_000) + "\r\nConnection: close\r\n\r\n");
        assertTrue(status(answer).startsWith("HTTP/1.1 431"), answer);
        assertEquals(0, proxy.upstream().received().size());
    }

    @Test
    void contentLengthWithTransferEncodingIsRefused() throws Exception
    {
        String smuggled = "GET /v1/smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n";
        String answer = raw("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + (5 + smuggled.length())
            + "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n" + smuggled);
        assertTrue(status(answer).startsWith("HTTP/1.1 400"), answer);
        assertEquals(0, proxy.upstream().received().size(), "neither request reaches upstream");
    }

    @Test
    void invalidChunkedEncodingIs400AndNothingGoesUpstream() throws Exception
    {
        String answer = raw("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n");
        assertTrue(status(answer).startsWith("HTTP/1.1 400"), answer);
        assertEquals(0, proxy.upstream().received().size());
    }

    @Test
    void aBodyShorterThanItsContentLengthIs400AndNothingGoesUpstream() throws Exception
    {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", proxy.port()))
        {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"model\":".getBytes(StandardCharsets.US_ASCII));
            socket.shutdownOutput(); // the client is done after 9 of the 100 bytes it promised
            String answer = RawHttp.readUntilClosed(socket.getInputStream());
            assertTrue(status(answer).startsWith("HTTP/1.1 400"), answer);
            assertEquals("incomplete_body", errorBody(answer).get("code").getAsString());
        }
        assertEquals(0, proxy.upstream().received().size());
    }

    @Test
    void bytesBeyondTheContentLengthAreNotForwardedAsPartOfTheBody() throws Exception
    {
        String answer = raw("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}TRAILING-GARBAGE");
        assertTrue(status(answer).startsWith("HTTP/1.1 200"), answer);
        assertEquals(1, proxy.upstream().received().size());
        assertEquals("{}", new String(proxy.upstream().lastReceived().body(), StandardCharsets.UTF_8));
    }

    @Test
    void noHeaderChoosesTheUpstreamHostOrTheKey() throws Exception
    {
        HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT,
            "Authorization", "Bearer csk-chosen-by-client",
            "X-Forwarded-Host", "evil.example",
            "X-Api-Key", "csk-chosen-by-client",
            "Forwarded", "host=evil.example");
        assertEquals(200, response.statusCode());
        FakeCerebras.Received received = proxy.upstream().lastReceived();
        assertEquals("127.0.0.1:" + proxy.upstream().port(), received.header("Host"));
        assertTrue(received.key().startsWith("sk-") && received.key().contains("-SECRET-"), "a pool key, not the client's");
        assertEquals(1, received.headers().get("authorization").size());
    }

    @Test
    void anUpstreamHeaderThatEchoesTheKeyIsNotPassedOn() throws Exception
    {
        proxy.upstream().route(request -> FakeCerebras.json(200, "{}", "X-Debug-Auth", "Bearer " + request.key(), "X-Fine", "kept"));
        HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
        assertEquals(200, response.statusCode());
        assertFalse(response.headers().firstValue("X-Debug-Auth").isPresent());
        assertEquals("kept", response.headers().firstValue("X-Fine").orElseThrow());
    }
}
