package dev.cerebrasproxy.access;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ALICE_TOKEN;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.CI_TOKEN;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A batch job (ci) in a tight loop beside an IDE assistant (alice) sending a request a
 * second. Each key of the fake serves {@value #PER_KEY} requests and then answers 429, as
 * a spent Cerebras budget does: without ci's limit its loop spends every key and alice
 * gets 503s. With it, ci's loop stops at its limit before the pool, and alice's requests
 * each go upstream once, with no wait for a key.
 */
class NoisyNeighbourTest
{
    static final int PER_KEY = 6;
    static final int CI_PER_MINUTE = 5;

    @RegisterExtension
    final ProxyExtension proxy = new ProxyExtension().manualClock().settings(ProxySettings.WAIT_FOR_KEY_MS, "0", ProxySettings.CLIENT_TOKENS,
        "{\"ci\":{\"token\":\"" + CI_TOKEN + "\",\"requests_per_minute\":" + CI_PER_MINUTE + "},\"alice\":\"" + ALICE_TOKEN + "\"}");

    private HttpResponse<String> chat(String token) throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), CHAT, "Authorization", "Bearer " + token);
    }

    @Test
    void theQuietClientSeesNo429AndNoWaitWhileTheLoopHitsItsOwnLimit() throws Exception
    {
        Map<String, AtomicInteger> servedByKey = new ConcurrentHashMap<>();
        proxy.upstream().route(received -> servedByKey.computeIfAbsent(received.key(), k -> new AtomicInteger()).incrementAndGet() > PER_KEY
            ? FakeCerebras.json(429, RATE_LIMITED) : FakeCerebras.ok());

        AtomicBoolean quietDone = new AtomicBoolean();
        AtomicInteger loopServed = new AtomicInteger();
        AtomicInteger loopRefused = new AtomicInteger();
        AtomicInteger loopOther = new AtomicInteger();
        ExecutorService loop = Executors.newFixedThreadPool(2);
        try
        {
            Future<?>[] loops = new Future<?>[2];
            for (int t = 0; t < loops.length; t++)
            {
                loops[t] = loop.submit(() ->
                {
                    for (int i = 0; i < 5_000 && !quietDone.get(); i++)
                    {
                        HttpResponse<String> response = chat(CI_TOKEN);
                        if (response.statusCode() == 200)
                            loopServed.incrementAndGet();
                        else if (response.statusCode() == 429 && Http.error(response).get("code").getAsString().equals("client_request_limit_exceeded"))
                            loopRefused.incrementAndGet();
                        else
                            loopOther.incrementAndGet();
                    }
                    return null;
                });
            }
            // Alice starts once the loop is at its limit, and the loop keeps going beside her.
            Poll.untilTrue(Duration.ofSeconds(30), "the loop to reach its limit", () -> loopRefused.get() > 0);
            for (int second = 0; second < 10; second++)
            {
                HttpResponse<String> quiet = chat(ALICE_TOKEN);
                assertEquals(200, quiet.statusCode(), "alice's request at second " + second + ": " + quiet.body());
                assertFalse(quiet.headers().firstValue("Retry-After").isPresent());
                assertEquals(0, proxy.clock().pending(), "no request waits for a key");
                proxy.clock().advance(Duration.ofSeconds(1));
            }
            quietDone.set(true);
            for (Future<?> each : loops)
                each.get(60, TimeUnit.SECONDS);
        }
        finally
        {
            loop.shutdownNow();
        }
        assertEquals(CI_PER_MINUTE, loopServed.get(), "the loop got its own limit's worth");
        assertTrue(loopRefused.get() > 0, "and was refused after it");
        assertEquals(0, loopOther.get());
        assertEquals(CI_PER_MINUTE + 10, proxy.upstream().received().size(), "each of alice's requests went upstream once; the loop's refusals never did");
        assertTrue(servedByKey.values().stream().allMatch(n -> n.get() <= PER_KEY), "no key was spent: " + servedByKey);
    }
}
