package dev.cerebrasproxy.forward;

import java.net.Socket;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import com.google.gson.JsonObject;
import dev.cerebrasproxy.ProxyError;
import dev.cerebrasproxy.support.EventStream;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.RawHttp;
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
 * What real clients trip on in headers and error bodies: exactly one Date (the Vercel AI
 * SDK merges two into an unparsable one), no Server version, and a string {@code param}
 * in every error the proxy writes ({@code @ai-sdk/cerebras} drops the body otherwise).
 * Raw sockets, so repeated headers are seen as sent.
 */
class ResponseHeadersTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension();

    private static String exchange(String method, String target, String body) throws Exception
    {
        try (Socket socket = new Socket("127.0.0.1", proxy.port()))
        {
            socket.setSoTimeout(20_000);
            RawHttp.writeRequest(socket, method, target, body);
            String head = RawHttp.readUntil(socket.getInputStream(), "\r\n\r\n");
            return head;
        }
    }

    private static List<String> headers(String head, String name)
    {
        String prefix = name.toLowerCase(Locale.ROOT) + ":";
        return head.lines().filter(line -> line.toLowerCase(Locale.ROOT).startsWith(prefix)).collect(Collectors.toList());
    }

    private static void assertOneDateAndNoVersion(String head)
    {
        assertEquals(1, headers(head, "Date").size(), head);
        for (String server : headers(head, "Server"))
            assertFalse(server.matches(".*\\d.*"), "a Server header with a version: " + head);
    }

    @Test
    void aPassedAnswerHasOneDateAndNoServerVersion() throws Exception
    {
        String head = exchange("POST", "/v1/chat/completions", CHAT);
        assertTrue(head.startsWith("HTTP/1.1 200"), head);
        assertOneDateAndNoVersion(head);
    }

    @Test
    void aStreamHasOneDateAndNoServerVersion() throws Exception
    {
        proxy.upstream().otherwise((request, response) ->
        {
            response.setContentType("text/event-stream");
            FakeCerebras.writeAndFlush(response.getOutputStream(), EventStream.event(0) + "\n\n");
        });
        String head = exchange("POST", "/v1/chat/completions", CHAT);
        assertTrue(head.startsWith("HTTP/1.1 200"), head);
        assertOneDateAndNoVersion(head);
    }

    @Test
    void theProxysOwnErrorsHaveOneDateAndNoServerVersion() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
        String noKey = exchange("POST", "/v1/chat/completions", CHAT);
        assertTrue(noKey.startsWith("HTTP/1.1 503"), noKey);
        assertOneDateAndNoVersion(noKey);
        assertOneDateAndNoVersion(exchange("GET", "/_proxy/nothing", ""));
        assertOneDateAndNoVersion(exchange("GET", "/_proxy/health", ""));
    }

    @Test
    void theNoKeyErrorHasAStringParam() throws Exception
    {
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED))
            .answer(BRAVO, FakeCerebras.json(429, RATE_LIMITED))
            .answer(CHARLIE, FakeCerebras.json(429, RATE_LIMITED));
        HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
        assertEquals(503, response.statusCode());
        JsonObject error = Http.error(response);
        assertEquals("", error.get("param").getAsString());
    }

    /** Every writer of the proxy's errors goes through ProxyError: none can make a null param. */
    @Test
    void noProxyErrorHasANullParam()
    {
        for (ProxyError error : List.of(ProxyError.server(502, "x", "m"), ProxyError.invalidRequest(400, "x", "m"), new ProxyError(401, "authentication_error", "x", null, "m")))
            assertTrue(error.toJson().contains("\"param\":\"\""), error.toJson());
    }
}
