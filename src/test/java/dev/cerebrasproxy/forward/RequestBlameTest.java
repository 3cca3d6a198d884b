package dev.cerebrasproxy.forward;

import java.net.http.HttpResponse;
import java.time.Duration;

import dev.cerebrasproxy.pool.KeyState;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.CHAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A failure the same request meets on two keys while those keys serve other requests is
 * about the request: the client gets upstream's answer after two upstream calls, not one
 * per key, and no key rests. Keys that served nothing lately prove nothing, and then every
 * key is asked as before.
 */
class RequestBlameTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().manualClock();

    /** A request upstream fails on any key; every other request it serves. */
    private static final String POISON = "{\"model\":\"llama3.1-8b\",\"messages\":[{\"role\":\"user\",\"content\":\"poison\"}]}";

    private static long poisonCalls()
    {
        return proxy.upstream().received().stream().filter(r -> new String(r.body(), java.nio.charset.StandardCharsets.UTF_8).contains("poison")).count();
    }

    private static void everyKeyServesOnce() throws Exception
    {
        for (int i = 0; i < 3; i++)
            assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());
    }

    private static void failsThePoison(int status, String body)
    {
        proxy.upstream().route(r -> new String(r.body(), java.nio.charset.StandardCharsets.UTF_8).contains("poison") ? FakeCerebras.json(status, body) : null);
    }

    @Test
    void a500MetOnTwoKeysThatServeOthersReachesTheClientAfterTwoCallsAndBenchesNoKey() throws Exception
    {
        everyKeyServesOnce();
        failsThePoison(500, "{\"message\":\"boom\"}");
        int mark = LogCapture.mark();
        HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), POISON);
        assertEquals(500, response.statusCode());
        assertEquals("{\"message\":\"boom\"}", response.body());
        assertEquals(2, poisonCalls(), "two keys that serve others met it: the third is not spent on it");
        assertTrue(proxy.pool().snapshot().stream().allMatch(s -> s.state() == KeyState.AVAILABLE), proxy.pool().snapshot().toString());
        assertTrue(LogCapture.since(mark).contains("answered 500 on 2 keys that serve other requests"), LogCapture.since(mark));
        proxy.upstream().forgetReceived();
        everyKeyServesOnce();
        assertEquals(3, proxy.upstream().received().size(), "the next requests are served at once, each by one call");
    }

    @Test
    void a403ForTheModelMetOnTwoServingKeysIsTheRequestsAndRefusesNoKeyTheModel() throws Exception
    {
        everyKeyServesOnce();
        failsThePoison(403, "{\"message\":\"Forbidden\",\"type\":\"permission_denied\",\"param\":\"\",\"code\":\"forbidden\"}");
        HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), POISON);
        assertEquals(403, response.statusCode());
        assertEquals(2, poisonCalls());
        proxy.upstream().forgetReceived();
        for (int i = 0; i < 6; i++)
            assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());
        assertEquals(3, proxy.upstream().received().stream().map(FakeCerebras.Received::key).distinct().count(), "every key still serves the model");
    }

    @Test
    void keysThatServedNothingLatelyProveNothingAndEveryKeyIsAsked() throws Exception
    {
        everyKeyServesOnce();
        proxy.clock().advance(Attempts.SERVING_RECENTLY.plus(Duration.ofSeconds(1)));
        failsThePoison(500, "{\"message\":\"boom\"}");
        HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), POISON);
        assertEquals(500, response.statusCode());
        assertEquals(3, poisonCalls(), "no key served lately: each is asked before the request is blamed");
        assertTrue(proxy.pool().snapshot().stream().allMatch(s -> s.state() == KeyState.AVAILABLE));
    }

    @Test
    void twoKeysThatBrokeTogetherAfterServingDoNotFailARequestTheThirdServes() throws Exception
    {
        everyKeyServesOnce();
        proxy.clock().advance(Attempts.SERVING_RECENTLY.plus(Duration.ofSeconds(1)));
        // A failing shard: alpha and bravo answer every request 500 from now on.
        proxy.upstream().answer(dev.cerebrasproxy.support.TestData.ALPHA, FakeCerebras.json(500, "{\"message\":\"boom\"}"));
        proxy.upstream().answer(dev.cerebrasproxy.support.TestData.BRAVO, FakeCerebras.json(500, "{\"message\":\"boom\"}"));
        for (int i = 0; i < 3; i++)
            assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode(), "request " + (i + 1) + ": charlie serves it");
        assertTrue(proxy.pool().snapshot().stream().filter(s -> !s.name().equals("charlie")).allMatch(s -> s.state() == KeyState.COOLING),
            "the broken keys are blamed: " + proxy.pool().snapshot());
    }
}
