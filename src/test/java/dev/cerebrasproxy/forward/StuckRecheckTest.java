package dev.cerebrasproxy.forward;

import java.net.http.HttpResponse;
import java.time.Duration;

import dev.cerebrasproxy.pool.CooldownPolicy;
import dev.cerebrasproxy.pool.KeyState;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.QUEUE_EXCEEDED;
import static dev.cerebrasproxy.support.TestData.WRONG_KEY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reproduction of a stuck pool, through the webapp on the manual clock: every
 * key refused, then every re-check inconclusive. Before the fix the next request was
 * rescheduled on the timer for ever and never answered. Nothing here moves the clock while
 * that request is under way, so a request parked on the timer would hang the test (the
 * preemptive timeout catches it) and leave a task pending.
 */
class StuckRecheckTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().manualClock();

    private static HttpResponse<String> chat() throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), CHAT);
    }

    private static void everyKeyRefusedThenRecheckDue() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.json(401, WRONG_KEY));
        assertEquals(503, chat().statusCode());
        assertTrue(proxy.pool().snapshot().stream().allMatch(s -> s.state() == KeyState.QUARANTINED));
        proxy.clock().advance(CooldownPolicy.DEFAULTS.quarantineRecheck());
    }

    @ParameterizedTest
    @ValueSource(ints = {502, 503, 504})
    void inconclusiveRechecksLeaveAPoolThatAnswersTheNextRequestAtOnce(int status) throws Exception
    {
        everyKeyRefusedThenRecheckDue();
        proxy.upstream().otherwise(FakeCerebras.json(status, "{\"message\":\"upstream trouble\"}"));
        for (int i = 0; i < 3; i++)
            assertEquals(status, chat().statusCode(), "a re-check's answer passes to its client");
        int calls = proxy.upstream().received().size();
        HttpResponse<String> next = assertTimeoutPreemptively(Duration.ofSeconds(10), StuckRecheckTest::chat);
        assertEquals(503, next.statusCode());
        assertEquals("no_key_available", Http.error(next).get("code").getAsString());
        assertEquals(calls, proxy.upstream().received().size(), "no key is due: no upstream call");
        assertEquals(0, proxy.clock().pending(), "nothing left rescheduling itself");
        assertEquals(String.valueOf(CooldownPolicy.DEFAULTS.quarantineRecheck().toSeconds()), next.headers().firstValue("Retry-After").orElseThrow());
        assertEquals(503, Http.CLIENT.send(java.net.http.HttpRequest.newBuilder(proxy.uri("/_proxy/health/ready")).build(), HttpResponse.BodyHandlers.discarding()).statusCode(), "not ready while every key waits for its re-check");
    }

    @Test
    void aBusyCerebrasDuringTheRechecksIsInconclusiveToo() throws Exception
    {
        everyKeyRefusedThenRecheckDue();
        proxy.upstream().otherwise(FakeCerebras.json(429, QUEUE_EXCEEDED));
        for (int i = 0; i < 3; i++)
            assertEquals(429, chat().statusCode());
        HttpResponse<String> next = assertTimeoutPreemptively(Duration.ofSeconds(10), StuckRecheckTest::chat);
        assertEquals(503, next.statusCode());
        assertEquals(0, proxy.clock().pending());
    }

    @Test
    void afterTheNextIntervalTheKeysAreRecheckedAgainAndReturn() throws Exception
    {
        everyKeyRefusedThenRecheckDue();
        proxy.upstream().otherwise(FakeCerebras.json(503, "{}"));
        for (int i = 0; i < 3; i++)
            chat();
        proxy.upstream().reset();
        proxy.clock().advance(CooldownPolicy.DEFAULTS.quarantineRecheck());
        for (int i = 0; i < 3; i++)
            assertEquals(200, chat().statusCode());
        assertTrue(proxy.pool().snapshot().stream().allMatch(s -> s.state() == KeyState.AVAILABLE));
    }

    @Test
    void aRequestEveryKeyAnswers500LeavesTheNextOrdinaryRequestServedAtOnce() throws Exception
    {
        proxy.upstream().route(r -> new String(r.body()).contains("poison") ? FakeCerebras.json(500, "{\"message\":\"boom\",\"code\":\"internal\"}") : null);
        HttpResponse<String> poisoned = Http.post(proxy.uri("/v1/chat/completions"), "{\"model\":\"llama3.1-8b\",\"messages\":[{\"role\":\"user\",\"content\":\"poison\"}]}");
        assertEquals(500, poisoned.statusCode(), "about the request: upstream's answer, passed on");
        assertEquals("{\"message\":\"boom\",\"code\":\"internal\"}", poisoned.body());
        assertTrue(proxy.pool().snapshot().stream().allMatch(s -> s.state() == KeyState.AVAILABLE), "no key benched");
        HttpResponse<String> next = assertTimeoutPreemptively(Duration.ofSeconds(10), StuckRecheckTest::chat);
        assertEquals(200, next.statusCode());
        assertEquals(0, proxy.clock().pending(), "served without waiting");
    }

    @Test
    void a500ThatAnotherKeyAbsorbsRestsTheKeyThatAnsweredIt() throws Exception
    {
        proxy.upstream().answer(dev.cerebrasproxy.support.TestData.BRAVO, FakeCerebras.json(500, "{}"));
        for (int i = 0; i < 3; i++)
            assertEquals(200, chat().statusCode());
        assertEquals(KeyState.COOLING, proxy.pool().snapshot().stream().filter(s -> s.name().equals("bravo")).findFirst().orElseThrow().state());
    }
}
