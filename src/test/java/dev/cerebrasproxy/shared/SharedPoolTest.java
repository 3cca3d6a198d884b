package dev.cerebrasproxy.shared;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.config.RedisSettings;
import dev.cerebrasproxy.pool.BudgetSnapshot;
import dev.cerebrasproxy.pool.KeySnapshot;
import dev.cerebrasproxy.pool.KeyState;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyUnderTest;
import dev.cerebrasproxy.support.RedisServer;
import dev.cerebrasproxy.support.Replicas;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.CHARLIE;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static dev.cerebrasproxy.support.TestData.WRONG_KEY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three replicas on manual clocks (all at one moment) in front of one fake Cerebras and
 * one real Redis: what one replica's pool learns, the others' pools know. News travels
 * behind the request that learnt it (one Redis round trip), so each test waits, bounded,
 * until the others show it before it counts upstream calls.
 */
class SharedPoolTest
{
    @RegisterExtension
    static final RedisServer redis = new RedisServer();

    private static final Duration NEWS = Duration.ofSeconds(10);
    private static final Duration RECHECK = Duration.ofMinutes(5);

    @RegisterExtension
    final Replicas replicas = new Replicas(redis);

    private FakeCerebras upstream;

    @BeforeEach
    void start()
    {
        upstream = replicas.upstream();
    }

    private void startReplicas(String... settings) throws Exception
    {
        List<String> all = new ArrayList<>(List.of(RedisSettings.TIMEOUT_MS, "1000",
            ProxySettings.WAIT_FOR_KEY_MS, "0", ProxySettings.QUARANTINE_RECHECK_MS, Long.toString(RECHECK.toMillis())));
        all.addAll(List.of(settings));
        for (int i = 0; i < 3; i++)
            replicas.start(all.toArray(String[]::new));
    }

    private HttpResponse<String> send(int replica) throws Exception
    {
        return Http.post(replicas.get(replica % 3).uri("/v1/chat/completions"), CHAT);
    }

    private KeyState stateOfAlpha(int replica)
    {
        return replicas.get(replica).pool().snapshot().stream().filter(key -> key.name().equals("alpha")).map(KeySnapshot::state).findFirst().orElseThrow();
    }

    private void advanceAll(Duration step)
    {
        for (ProxyUnderTest replica : replicas.all())
            replica.clock().advance(step);
    }

    @Test
    void anAlways429KeyIsCalledOnceAcrossAllThreeReplicas() throws Exception
    {
        String solo = "sk-solo-SECRET-0429";
        upstream.answer(solo, FakeCerebras.json(429, RATE_LIMITED));
        startReplicas(ProxySettings.API_KEYS, "{\"solo\":\"" + solo + "\"}");

        HttpResponse<String> first = send(0);
        assertNotEquals(200, first.statusCode(), first.body());
        assertEquals(1, upstream.countFor(solo));
        for (int i = 1; i < 3; i++)
        {
            int replica = i;
            Poll.untilTrue(NEWS, "replica " + i + " to hear that the budget rests", () ->
                replicas.get(replica).pool().budgets().stream().anyMatch(budget -> budget.restUntil() != null));
        }
        for (int i = 0; i < 9; i++)
        {
            HttpResponse<String> answered = send(i);
            assertNotEquals(200, answered.statusCode(), answered.body());
            assertFalse(answered.body().contains("SECRET"), answered.body());
        }
        assertEquals(1, upstream.countFor(solo), "one 429 in total, not one per replica");
        assertNoSecretInRedis();
    }

    @Test
    void aQuarantineLearntByOneReplicaHoldsOnAllAndOneReplicaRechecksIt() throws Exception
    {
        upstream.answer(ALPHA, FakeCerebras.json(401, WRONG_KEY));
        startReplicas();
        for (int i = 0; i < 3 && upstream.countFor(ALPHA) == 0; i++)
            assertEquals(200, send(0).statusCode(), "another key serves");
        assertEquals(1, upstream.countFor(ALPHA));
        for (int i = 0; i < 3; i++)
        {
            int replica = i;
            Poll.untilTrue(NEWS, "replica " + i + " to know alpha is quarantined", () -> stateOfAlpha(replica) == KeyState.QUARANTINED);
        }
        for (int i = 0; i < 9; i++)
            assertEquals(200, send(i).statusCode());
        assertEquals(1, upstream.countFor(ALPHA), "no replica tried the quarantined key");

        // The re-check is due on all three at once: one of them makes it.
        advanceAll(RECHECK);
        for (int i = 0; i < 30 && upstream.countFor(ALPHA) == 1; i++)
            assertEquals(200, send(i).statusCode());
        assertEquals(2, upstream.countFor(ALPHA), "one replica re-checked");
        for (int i = 0; i < 12; i++)
            assertEquals(200, send(i).statusCode());
        assertEquals(2, upstream.countFor(ALPHA), "the others left the re-check to it");

        // The next re-check passes: every replica takes the key back.
        upstream.answer(ALPHA, FakeCerebras.ok());
        advanceAll(RECHECK);
        for (int i = 0; i < 30 && upstream.countFor(ALPHA) == 2; i++)
            assertEquals(200, send(i).statusCode());
        for (int i = 0; i < 3; i++)
        {
            int replica = i;
            Poll.untilTrue(NEWS, "replica " + i + " to take alpha back", () -> stateOfAlpha(replica) == KeyState.AVAILABLE);
        }
        assertEquals(3, upstream.countFor(ALPHA), "one re-check passed, for all three");
        assertNoSecretInRedis();
    }

    @Test
    void aRestLearntWhileAReplicaWasAwayIsReadWhenItStarts() throws Exception
    {
        String solo = "sk-solo-SECRET-0430";
        upstream.answer(solo, FakeCerebras.json(429, RATE_LIMITED));
        String keys = "{\"solo\":\"" + solo + "\"}";
        replicas.start(ProxySettings.API_KEYS, keys, RedisSettings.TIMEOUT_MS, "1000", ProxySettings.WAIT_FOR_KEY_MS, "0");
        send(0);
        assertEquals(1, upstream.countFor(solo));
        Poll.untilTrue(NEWS, "the rest to reach Redis", () -> !redis.keys().isEmpty());
        ProxyUnderTest late = replicas.start(ProxySettings.API_KEYS, keys, RedisSettings.TIMEOUT_MS, "1000", ProxySettings.WAIT_FOR_KEY_MS, "0");
        Poll.untilTrue(NEWS, "the new replica to read the rest", () -> late.pool().budgets().stream().map(BudgetSnapshot::restUntil).anyMatch(java.util.Objects::nonNull));
        send(1);
        assertEquals(1, upstream.countFor(solo), "the new replica knew the budget rests");
    }

    @Test
    void redisKilledMidRunFailsNoRequestAndTheNewsFlowsAgainOnceItReturns() throws Exception
    {
        upstream.answer(ALPHA, FakeCerebras.json(401, WRONG_KEY));
        startReplicas();
        for (int i = 0; i < 6; i++)
            assertEquals(200, send(i).statusCode());
        redis.kill();
        // Each replica goes on from its own pool: alpha is quarantined on all (heard or met), and nothing fails.
        for (int i = 0; i < 12; i++)
            assertEquals(200, send(i).statusCode(), "request " + (i + 1) + " after Redis died");
        for (int i = 0; i < 3; i++)
            assertEquals(SharedState.Redis.DEGRADED, replicas.get(i).context().shared().redis());

        redis.restart();
        for (int i = 0; i < 3; i++)
        {
            int replica = i;
            Poll.untilTrue(Duration.ofSeconds(30), "replica " + i + " to rejoin Redis", () -> replicas.get(replica).context().shared().redis() == SharedState.Redis.OK);
        }
        // Redis came back empty; what a replica learns now reaches the others again.
        upstream.forgetReceived();
        upstream.answer(CHARLIE, FakeCerebras.json(429, RATE_LIMITED));
        for (int i = 0; i < 3 && upstream.countFor(CHARLIE) == 0; i++)
            assertEquals(200, send(0).statusCode());
        assertEquals(1, upstream.countFor(CHARLIE));
        for (int i = 1; i < 3; i++)
        {
            int replica = i;
            Poll.untilTrue(Duration.ofSeconds(30), "replica " + i + " to hear that charlie's budget rests", () ->
                replicas.get(replica).pool().budgets().stream().anyMatch(budget -> budget.organization().equals("charlie") && budget.restUntil() != null));
        }
        for (int i = 0; i < 9; i++)
            assertEquals(200, send(i).statusCode());
        assertEquals(1, upstream.countFor(CHARLIE), "no replica sent to the resting budget");
        assertNoSecretInRedis();
    }

    private static void assertNoSecretInRedis()
    {
        Map<String, String> everything = redis.everything();
        assertFalse(everything.isEmpty());
        everything.forEach((key, value) ->
            assertFalse(key.contains("SECRET") || value.contains("SECRET") || key.contains("sk-") || value.contains("sk-"), "a secret in Redis: " + key));
        assertTrue(everything.keySet().stream().allMatch(key -> key.startsWith("cerebras-proxy:budget:") || key.startsWith("cerebras-proxy:key:")
            || key.startsWith("cerebras-proxy:recheck:") || key.startsWith("cerebras-proxy:window:")), everything.keySet().toString());
    }
}
