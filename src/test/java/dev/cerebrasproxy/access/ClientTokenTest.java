package dev.cerebrasproxy.access;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.google.gson.JsonObject;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.ProxyUnderTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import static dev.cerebrasproxy.support.TestData.ALICE_TOKEN;
import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.CI_TOKEN;
import static dev.cerebrasproxy.support.TestData.KEYS;
import static dev.cerebrasproxy.support.TestData.TOKENS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** With PROXY_CLIENT_TOKENS set, only clients with a token use the pool, and tokens go nowhere. */
class ClientTokenTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().settings(ProxySettings.CLIENT_TOKENS, TOKENS);

    private static final String WRONG_TOKEN = "tok-wrong-SECRET-9999";

    private static HttpResponse<String> chat(String... headers) throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), CHAT, headers);
    }

    private static void assertRefused(HttpResponse<String> response)
    {
        assertEquals(401, response.statusCode(), response.body());
        JsonObject error = Http.error(response);
        assertEquals("authentication_error", error.get("type").getAsString());
        assertEquals("invalid_client_token", error.get("code").getAsString());
        assertEquals("", error.get("param").getAsString());
        assertEquals("Bearer", response.headers().firstValue("WWW-Authenticate").orElse(null));
        assertFalse(response.body().contains("SECRET"), response.body());
        assertEquals(List.of(), proxy.upstream().received(), "a refused request never goes upstream");
    }

    @Test
    void aRequestWithoutATokenIsRefusedWithoutAnUpstreamCall() throws Exception
    {
        assertRefused(chat());
    }

    @Test
    void aWrongTokenIsRefusedInEitherHeader() throws Exception
    {
        assertRefused(chat("Authorization", "Bearer " + WRONG_TOKEN));
        assertRefused(chat("x-api-key", WRONG_TOKEN));
        // A pool key is no client token either.
        assertRefused(chat("Authorization", "Bearer " + ALPHA));
    }

    @Test
    void aBearerTokenIsAcceptedAndNeverForwarded() throws Exception
    {
        HttpResponse<String> response = chat("Authorization", "Bearer " + CI_TOKEN);
        assertEquals(200, response.statusCode(), response.body());
        FakeCerebras.Received received = proxy.upstream().lastReceived();
        assertTrue(received.key().startsWith("sk-"), "upstream gets a pool key");
        assertNoHeaderCarries(received, CI_TOKEN);
    }

    @Test
    void anXApiKeyTokenIsAcceptedAndTheHeaderRemoved() throws Exception
    {
        HttpResponse<String> response = chat("x-api-key", ALICE_TOKEN, "Authorization", "Bearer whatever-the-sdk-sends");
        assertEquals(200, response.statusCode(), response.body());
        FakeCerebras.Received received = proxy.upstream().lastReceived();
        assertNull(received.header("x-api-key"));
        assertTrue(received.key().startsWith("sk-"));
        assertNoHeaderCarries(received, ALICE_TOKEN);
    }

    /** A token lets a request in, whatever host it names: there is no open pool to rebind to. */
    @Test
    void withTokensAnyHostIsFine() throws Exception
    {
        String answer = dev.cerebrasproxy.support.RawHttp.exchange(proxy.port(), "POST /v1/chat/completions HTTP/1.1\r\nHost: proxy.example.com\r\n"
            + "Origin: https://app.example.com\r\nAuthorization: Bearer " + CI_TOKEN + "\r\nContent-Type: application/json\r\nContent-Length: " + CHAT.length()
            + "\r\nConnection: close\r\n\r\n" + CHAT);
        assertTrue(answer.startsWith("HTTP/1.1 200"), answer.lines().findFirst().orElse(""));
    }

    private static void assertNoHeaderCarries(FakeCerebras.Received received, String token)
    {
        received.headers().forEach((name, values) -> values.forEach(value ->
            assertFalse(value.contains(token), "header " + name + " carries the client token upstream")));
    }

    @Test
    void theLogNamesTheClientButNeverAToken() throws Exception
    {
        int mark = LogCapture.mark();
        chat("Authorization", "Bearer " + CI_TOKEN);
        chat("x-api-key", ALICE_TOKEN);
        chat("Authorization", "Bearer " + WRONG_TOKEN);
        // A request's line is logged as its call completes, which may be just after the client has the answer.
        Poll.untilTrue(Duration.ofSeconds(10), "both clients' request lines", () -> LogCapture.since(mark).contains("client=ci ") && LogCapture.since(mark).contains("client=alice "));
        String log = LogCapture.since(mark);
        assertTrue(log.contains("client=unauthenticated"), log);
        assertFalse(log.contains("tok-"), "a token in the log");
    }

    @Test
    void unsetTheProxyIsOpenAndSaysSoInOneWarning() throws Exception
    {
        int mark = LogCapture.mark();
        try (FakeCerebras open = new FakeCerebras(); ProxyUnderTest openProxy = ProxyUnderTest.start(open))
        {
            String log = LogCapture.since(mark);
            assertEquals(1, log.lines().filter(line -> line.contains("WARN") && line.contains("PROXY_CLIENT_TOKENS")).count(), log);
            HttpResponse<String> response = Http.post(openProxy.uri("/v1/chat/completions"), CHAT);
            assertEquals(200, response.statusCode());
            Poll.untilTrue(Duration.ofSeconds(10), "the request line of an anonymous client", () -> LogCapture.since(mark).contains("client=anonymous"));
        }
    }

    /** The Docker image listens on all interfaces and says so (PROXY_PUBLIC=true): still one warning, a louder one. */
    @Test
    void openAndPublicSaysBothInOneWarning() throws Exception
    {
        int mark = LogCapture.mark();
        try (FakeCerebras open = new FakeCerebras(); ProxyUnderTest openProxy = ProxyUnderTest.start(open, ProxySettings.PUBLIC, "true"))
        {
            List<String> warnings = LogCapture.since(mark).lines().filter(line -> line.contains("WARN") && line.contains("ProxyWebapp")).toList();
            assertEquals(1, warnings.size(), String.join("\n", warnings));
            assertTrue(warnings.get(0).contains("listens on all interfaces (PROXY_PUBLIC=true") && warnings.get(0).contains("PROXY_CLIENT_TOKENS"), warnings.get(0));
        }
        mark = LogCapture.mark();
        try (FakeCerebras other = new FakeCerebras(); ProxyUnderTest guarded = ProxyUnderTest.start(other, ProxySettings.PUBLIC, "true", ProxySettings.CLIENT_TOKENS, TOKENS))
        {
            assertFalse(LogCapture.since(mark).lines().anyMatch(line -> line.contains("WARN") && line.contains("ProxyWebapp")), "with tokens, public is fine");
        }
    }

    @Test
    void tokensCanComeFromAFile(@TempDir Path dir) throws Exception
    {
        Path file = Files.writeString(dir.resolve("tokens.json"), TOKENS);
        int mark = LogCapture.mark();
        try (FakeCerebras other = new FakeCerebras(); ProxyUnderTest fromFile = ProxyUnderTest.start(other, ProxySettings.CLIENT_TOKENS_FILE, file.toString()))
        {
            assertEquals(401, Http.post(fromFile.uri("/v1/chat/completions"), CHAT).statusCode());
            assertEquals(200, Http.post(fromFile.uri("/v1/chat/completions"), CHAT, "Authorization", "Bearer " + ALICE_TOKEN).statusCode());
            assertFalse(LogCapture.since(mark).contains("WARN"), "tokens are set: no warning that the proxy is open");
        }
    }

    private static String failedStart(String... settings)
    {
        Map<String, String> map = new java.util.HashMap<>(Map.of(ProxySettings.API_KEYS, KEYS, ProxySettings.UPSTREAM_URL, "http://127.0.0.1:9/v1"));
        for (int i = 0; i + 1 < settings.length; i += 2)
            map.put(settings[i], settings[i + 1]);
        int mark = LogCapture.mark();
        assertThrows(Exception.class, () -> ProxyUnderTest.startWith(map).close());
        String log = LogCapture.since(mark);
        assertFalse(log.contains("SECRET"), "a secret in the log");
        assertFalse(log.contains("cerebras-proxy ready"), log);
        List<String> lines = log.lines().filter(line -> line.contains("cerebras-proxy cannot start:")).toList();
        assertEquals(1, lines.size(), log);
        return lines.get(0);
    }

    @Test
    void badTokenSettingsStopTheWebappWithOneLine(@TempDir Path dir)
    {
        assertTrue(failedStart(ProxySettings.CLIENT_TOKENS, "{\"ci\":\"tok-SECRET-x\"").contains("PROXY_CLIENT_TOKENS is not valid JSON."));
        assertTrue(failedStart(ProxySettings.CLIENT_TOKENS, "{}").contains("PROXY_CLIENT_TOKENS is an empty object"));
        assertTrue(failedStart(ProxySettings.CLIENT_TOKENS, "{\"ci\":7}").contains("PROXY_CLIENT_TOKENS entry \"ci\" must be a token in quotes or an object, not a number"));
        assertTrue(failedStart(ProxySettings.CLIENT_TOKENS, "{\"a\":\"tok-SECRET-d\",\"b\":\"tok-SECRET-d\"}").contains("entries \"a\" and \"b\" hold the same token"));
        assertTrue(failedStart(ProxySettings.CLIENT_TOKENS, TOKENS, ProxySettings.CLIENT_TOKENS_FILE, "/x.json").contains("are both set"));
        assertTrue(failedStart(ProxySettings.CLIENT_TOKENS_FILE, dir.resolve("missing.json").toString()).contains("cannot be read (NoSuchFileException)"));
        assertTrue(failedStart(ProxySettings.CLIENT_TOKENS, "{\"ci\":{\"token\":\"tok-SECRET-e\",\"tokens_per_day\":-1}}")
            .contains("PROXY_CLIENT_TOKENS client \"ci\" has a negative \"tokens_per_day\": set it to a whole number"), "a bad limit, too");
    }
}
