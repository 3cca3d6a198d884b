package dev.cerebrasproxy.ops;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.ProxyUnderTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ADMIN_TOKEN;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.CI_TOKEN;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static dev.cerebrasproxy.support.TestData.TOKENS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Liveness says the webapp runs; readiness says whether some key can serve now. */
class HealthTest
{
    @RegisterExtension
    static final ProxyExtension proxy = // Tokens on both sides: health must need neither.
        new ProxyExtension().settings(ProxySettings.CLIENT_TOKENS, TOKENS, ProxySettings.ADMIN_TOKEN, ADMIN_TOKEN, ProxySettings.WAIT_FOR_KEY_MS, "0");

    private static HttpResponse<String> get(String path) throws Exception
    {
        return Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private static JsonObject json(HttpResponse<String> response)
    {
        assertEquals("application/json", response.headers().firstValue("Content-Type").orElse(""));
        return JsonParser.parseString(response.body()).getAsJsonObject();
    }

    /** One request tries every key once before it gives up. */
    private static void useEveryKeyOnce() throws Exception
    {
        Http.post(proxy.uri("/v1/chat/completions"), CHAT, "Authorization", "Bearer " + CI_TOKEN);
    }

    @Test
    void livenessIsUpWithoutAToken() throws Exception
    {
        for (String path : new String[] {"/_proxy/health", "/_proxy/health/live"})
        {
            HttpResponse<String> response = get(path);
            assertEquals(200, response.statusCode(), path);
            assertEquals("up", json(response).get("status").getAsString());
        }
        assertEquals(0, proxy.upstream().received().size(), "health never goes upstream");
    }

    @Test
    void readyWhileAKeyCanServe() throws Exception
    {
        HttpResponse<String> response = get("/_proxy/health/ready");
        assertEquals(200, response.statusCode(), response.body());
        JsonObject body = json(response);
        assertEquals("ready", body.get("status").getAsString());
        assertEquals(3, body.getAsJsonObject("keys").get("available").getAsInt());
        assertFalse(body.has("redis"), "a single replica has no Redis to report: " + body);
    }

    @Test
    void notReadyWhenEveryKeyIsQuarantined() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.json(401, "{\"message\":\"Wrong API Key\",\"code\":\"wrong_api_key\"}"));
        useEveryKeyOnce();
        HttpResponse<String> response = get("/_proxy/health/ready");
        assertEquals(503, response.statusCode(), response.body());
        JsonObject body = json(response);
        assertEquals("not_ready", body.get("status").getAsString());
        assertEquals(3, body.getAsJsonObject("keys").get("quarantined").getAsInt());
        assertEquals(0, body.getAsJsonObject("keys").get("available").getAsInt());
        assertTrue(body.get("message").getAsString().startsWith("No key can serve now (3 quarantined)"), response.body());
        assertTrue(response.headers().firstValue("Retry-After").isPresent());
        // Liveness is not readiness: the webapp still runs.
        assertEquals(200, get("/_proxy/health/live").statusCode());
    }

    @Test
    void notReadyWhenEveryKeyIsCooling() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
        useEveryKeyOnce();
        HttpResponse<String> response = get("/_proxy/health/ready");
        assertEquals(503, response.statusCode(), response.body());
        assertEquals(3, json(response).getAsJsonObject("keys").get("cooling").getAsInt());
        proxy.pool().reset();
        assertEquals(200, get("/_proxy/health/ready").statusCode(), "ready again once a key can serve");
    }

    @Test
    void anUpstreamOutageIsToldApartFromNoKeyAndBenchesNoKey() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.json(503, "{\"message\":\"Service Unavailable\"}"));
        for (int i = 0; i < 3; i++)
            assertEquals(503, Http.post(proxy.uri("/v1/chat/completions"), CHAT, "Authorization", "Bearer " + CI_TOKEN).statusCode());
        HttpResponse<String> response = get("/_proxy/health/ready");
        assertEquals(503, response.statusCode(), response.body());
        JsonObject body = json(response);
        assertEquals("upstream_down", body.get("status").getAsString());
        assertEquals(3, body.getAsJsonObject("keys").get("available").getAsInt(), "no key benched");
        assertTrue(body.get("message").getAsString().startsWith("Upstream is failing"), response.body());
        proxy.upstream().reset();
        assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT, "Authorization", "Bearer " + CI_TOKEN).statusCode());
        assertEquals(200, get("/_proxy/health/ready").statusCode(), "ready again with the first good answer");
    }

    /** A stopping container (SIGTERM turns this on through a JVM shutdown hook) is not ready, whatever its keys. */
    @Test
    void whileDrainingReadinessIs503() throws Exception
    {
        try (FakeCerebras upstream = new FakeCerebras(); ProxyUnderTest stopping = ProxyUnderTest.start(upstream, ProxySettings.DRAIN_SECONDS, "12"))
        {
            stopping.context().drain().begin();
            HttpResponse<String> ready = Http.CLIENT.send(HttpRequest.newBuilder(stopping.uri("/_proxy/health/ready")).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(503, ready.statusCode(), ready.body());
            JsonObject body = json(ready);
            assertEquals("draining", body.get("status").getAsString());
            assertTrue(body.get("message").getAsString().contains("up to 12 s"), ready.body());
            assertTrue(ready.headers().firstValue("Retry-After").isEmpty(), "it will not be back");
            assertEquals(200, Http.CLIENT.send(HttpRequest.newBuilder(stopping.uri("/_proxy/health/live")).GET().build(), HttpResponse.BodyHandlers.ofString()).statusCode(),
                "still alive: it is finishing what it has");
        }
    }
}
