package dev.cerebrasproxy.access;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.RawHttp;
import dev.cerebrasproxy.support.Scrape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.cerebrasproxy.support.TestData.CHAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DNS rebinding: while the pool is open (no client tokens), a request addressed to a host
 * name that is neither loopback nor in PROXY_ALLOWED_HOSTS, or sent by another site's
 * page, is refused before it reaches anything. (With tokens on: ClientTokenTest.)
 */
class HostCheckTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().settings(ProxySettings.ALLOWED_HOSTS, "proxy.internal, Cerebras-Proxy.");

    private static String post(String host, String... headers) throws Exception
    {
        StringBuilder request = new StringBuilder("POST /v1/chat/completions HTTP/1.1\r\n");
        if (host != null)
            request.append("Host: ").append(host).append("\r\n");
        for (int i = 0; i + 1 < headers.length; i += 2)
            request.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
        request.append("Content-Type: application/json\r\nContent-Length: ").append(CHAT.length()).append("\r\nConnection: close\r\n\r\n").append(CHAT);
        return RawHttp.exchange(proxy.port(), request.toString());
    }

    private static String get(String path, String host) throws Exception
    {
        return RawHttp.exchange(proxy.port(), "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
    }

    private static int status(String answer)
    {
        return Integer.parseInt(answer.substring(9, 12));
    }

    private static JsonObject errorOf(String answer)
    {
        assertTrue(answer.toLowerCase().contains("content-type: application/json"), answer);
        String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
        JsonObject error = JsonParser.parseString(body).getAsJsonObject();
        assertEquals(List.of("message", "type", "param", "code"), List.copyOf(error.keySet()), body);
        error.entrySet().forEach(field -> assertTrue(field.getValue().isJsonPrimitive() && field.getValue().getAsJsonPrimitive().isString(), body));
        return error;
    }

    @ParameterizedTest
    @ValueSource(strings = {"attacker.example", "attacker.example:8080", "localhost.attacker.example", "127.0.0.1.nip.io", "10.0.0.5:8080", "[::2]", "127.000.000.001", "0177.0.0.1", "[::ffff:127.0.0.1]"})
    void aRequestForAnotherHostIsRefusedInShapeAndNeverGoesUpstream(String host) throws Exception
    {
        String answer = post(host);
        assertEquals(403, status(answer), answer);
        JsonObject error = errorOf(answer);
        assertEquals("host_not_allowed", error.get("code").getAsString());
        assertEquals("host", error.get("param").getAsString());
        assertTrue(error.get("message").getAsString().contains("PROXY_ALLOWED_HOSTS"), answer);
        assertEquals(0, proxy.upstream().received().size(), "nothing went upstream");
    }

    private static double refusals() throws Exception
    {
        String metrics = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/_proxy/metrics")).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
        return new Scrape(metrics).sum("cerebras_proxy_requests_total", "client", "unauthenticated", "status", "403");
    }

    /** A rebinding attempt shows in the metrics like any refused client. */
    @Test
    void aRefusalIsCountedAndLoggedWithoutItsQuery() throws Exception
    {
        int mark = LogCapture.mark();
        double before = refusals();
        assertEquals(403, status(get("/v1/models?secret=q", "attacker.example")));
        assertEquals(before + 1, refusals(), 0.0);
        String log = LogCapture.since(mark);
        assertTrue(log.contains("GET /v1/models 403 key=- attempts=0 client=unauthenticated (it is addressed to \"attacker.example\", not allowed"), log);
        assertTrue(!log.contains("secret=q"), log);
    }

    @ParameterizedTest
    @ValueSource(strings = {"localhost", "LocalHost:8080", "localhost.", "127.0.0.1", "127.0.0.1:18080", "127.1.2.3", "[::1]", "[::1]:8080", "[0:0:0:0:0:0:0:1]", "proxy.internal", "PROXY.internal:443", "cerebras-proxy:8080"})
    void loopbackAndAllowedHostsAreServed(String host) throws Exception
    {
        String answer = post(host);
        assertEquals(200, status(answer), answer);
        assertEquals(1, proxy.upstream().received().size());
    }

    @Test
    void theOperationsEndpointsAreGuardedToo() throws Exception
    {
        for (String path : List.of("/_proxy/status", "/_proxy/status.json", "/_proxy/metrics"))
        {
            String answer = get(path, "attacker.example");
            assertEquals(403, status(answer), path + ": " + answer);
            assertEquals("host_not_allowed", errorOf(answer).get("code").getAsString());
            assertTrue(!answer.contains("alpha"), "nothing of the pool shows: " + answer);
            assertEquals(200, status(get(path, "localhost:1234")), path);
        }
    }

    /** Orchestrators probe a container by its IP; health tells nothing secret. */
    @Test
    void healthAnswersWhateverTheHost() throws Exception
    {
        for (String path : List.of("/_proxy/health", "/_proxy/health/live", "/_proxy/health/ready"))
            assertEquals(200, status(get(path, "10.1.2.3:8080")), path);
    }

    @ParameterizedTest
    @ValueSource(strings = {"https://attacker.example", "http://localhost.attacker.example:8080", "null", "http://10.0.0.5", "file://", "garbage"})
    void aPageOfAnotherSiteIsRefusedEvenThroughLocalhost(String origin) throws Exception
    {
        String answer = post("localhost:8080", "Origin", origin);
        assertEquals(403, status(answer), answer);
        JsonObject error = errorOf(answer);
        assertEquals("host_not_allowed", error.get("code").getAsString());
        assertEquals("origin", error.get("param").getAsString());
        assertEquals(0, proxy.upstream().received().size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://localhost:3000", "http://127.0.0.1:5173", "https://proxy.internal"})
    void aLocalPageMayCallIt(String origin) throws Exception
    {
        assertEquals(200, status(post("localhost:8080", "Origin", origin)));
    }

    @Test
    void aPreflightFromAnotherSiteIsRefusedToo() throws Exception
    {
        String answer = RawHttp.exchange(proxy.port(), "OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nOrigin: https://attacker.example\r\n"
            + "Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n");
        assertEquals(403, status(answer), answer);
        assertEquals(0, proxy.upstream().received().size());
    }
}
