package dev.cerebrasproxy.shared;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import dev.cerebrasproxy.config.RedisSettings;
import dev.cerebrasproxy.pool.Admission;
import dev.cerebrasproxy.pool.ApiKey;
import dev.cerebrasproxy.pool.CooldownPolicy;
import dev.cerebrasproxy.pool.KeyPool;
import dev.cerebrasproxy.support.Concurrently;
import dev.cerebrasproxy.support.ManualClock;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.RedisServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.RedisClient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The check-and-count each attempt passes before it goes ({@code Replicas.admit}), run by
 * two replicas' links against one real Redis: what one sent and holds, the other's
 * admission counts, in one atomic step that concurrent attempts cannot race.
 */
class RedisAdmissionTest
{
    @RegisterExtension
    static final RedisServer redis = new RedisServer();

    private static final Duration WINDOW = Duration.ofSeconds(10);
    private final ManualClock clock = new ManualClock();
    private final List<RedisLink> links = new ArrayList<>();
    private RedisReplicas one;
    private RedisReplicas two;

    @BeforeEach
    void connect()
    {
        redis.empty();
        one = replica();
        two = replica();
    }

    private RedisReplicas replica()
    {
        RedisLink link = new RedisLink(new RedisSettings("127.0.0.1", redis.port(), null, null, 0, false, "t:", Duration.ofSeconds(2), null));
        links.add(link);
        KeyPool pool = new KeyPool(List.of(new ApiKey("k", "csk-SECRET-admission", "org")), CooldownPolicy.DEFAULTS, clock);
        return new RedisReplicas(link, "t:", pool);
    }

    @AfterEach
    void close()
    {
        links.forEach(RedisLink::close);
    }

    /** @return null when admitted, else when the budget has room */
    private static Instant admit(RedisReplicas replica, Instant now, int limit, long reserved)
    {
        return answer(replica, now, limit, reserved).roomAt();
    }

    private static Admission answer(RedisReplicas replica, Instant now, int limit, long reserved)
    {
        return replica.admit("org", "m", now, WINDOW, limit, reserved).toCompletableFuture().join();
    }

    @Test
    void aLearntLimitCountsEveryReplicasAttemptsInTheWindow()
    {
        Instant start = clock.instant();
        assertNull(admit(one, start, 3, 100));
        assertNull(admit(two, start.plusSeconds(1), 3, 100));
        assertNull(admit(one, start.plusSeconds(2), 3, 200));
        assertEquals(start.plus(WINDOW).plusMillis(1), admit(two, start.plusSeconds(3), 3, 200),
            "the window holds 3 already, 2 of them the other replica's; room when the oldest leaves it");
        assertNull(admit(two, start.plus(WINDOW).plusMillis(1), 3, 200), "the oldest has left");
        assertNull(admit(one, start.plusSeconds(20), -1, 100), "no learnt limit: the window counts but does not refuse");
    }

    @Test
    void anAdmittedAttemptKnowsWhatTheWindowHeldBeforeItAndARefusedOneLeavesIt()
    {
        Instant start = clock.instant();
        assertEquals(0, answer(one, start, 2, 10).sentBefore());
        Admission second = answer(two, start.plusSeconds(1), 2, 10);
        assertEquals(1, second.sentBefore(), "the other replica's attempt is counted: a request 429 for this one teaches 1");
        assertTrue(second.ticket().startsWith(two.me + ":"), "named by replica, never by key");
        assertEquals(start.plus(WINDOW).plusMillis(1), admit(one, start.plusSeconds(2), 2, 10));
        // Upstream refused the second with a 429: it counts against nothing there, nor here.
        two.notCounted("org", "m", second.ticket());
        try (RedisClient client = redis.client())
        {
            Poll.untilTrue(Duration.ofSeconds(10), "the refused attempt out of the window", () -> client.zcard("t:window:{org}:m") == 1);
        }
        assertNull(admit(one, start.plusSeconds(2), 2, 10));
    }

    @Test
    void anAttemptThatWentWithoutTheCheckIsCountedForTheOthers()
    {
        Instant start = clock.instant();
        one.sent("org", "m", start, WINDOW, 100);
        one.sent("org", "m", start, WINDOW, 200);
        try (RedisClient client = redis.client())
        {
            Poll.untilTrue(Duration.ofSeconds(10), "both counted", () -> client.zcard("t:window:{org}:m") == 2);
        }
        assertEquals(start.plus(WINDOW).plusMillis(1), admit(two, start.plusSeconds(1), 2, 10), "the other replica's check counts them");
    }

    /** A budget far from its limits is never checked, so its window must shed old attempts as it grows, or it grows for as long as traffic lasts. */
    @Test
    void aWindowOfAttemptsThatWentWithoutTheCheckKeepsOnlyTheLastWindow()
    {
        Instant start = clock.instant();
        one.sent("org", "m", start, WINDOW, 100);
        one.sent("org", "m", start, WINDOW, 200);
        try (RedisClient client = redis.client())
        {
            Poll.untilTrue(Duration.ofSeconds(10), "both counted", () -> client.zcard("t:window:{org}:m") == 2);
            clock.advance(WINDOW.plusSeconds(1));
            one.sent("org", "m", clock.instant(), WINDOW, 100);
            Poll.untilTrue(Duration.ofSeconds(10), "the third counted", () -> client.zcard("t:window:{org}:m") != 2);
            assertEquals(1, client.zcard("t:window:{org}:m"), "the two of the window before are gone");
        }
    }

    @Test
    void aRestAnotherReplicaSetRefusesBeforeItsNewsArrives()
    {
        Instant start = clock.instant();
        try (RedisClient client = redis.client())
        {
            client.hset(one.budgetKey("org", "m"), "rest", Long.toString(start.plusSeconds(7).toEpochMilli()));
        }
        assertEquals(start.plusSeconds(7), admit(two, start, -1, 10));
        assertNull(admit(two, start.plusSeconds(7), -1, 10));
    }

    @Test
    void tokensLeftCountEveryReplicasHolds()
    {
        Instant start = clock.instant();
        try (RedisClient client = redis.client())
        {
            // As an answer's report leaves it: 1,000 of 6,000 tokens left, reported now.
            client.hset(one.budgetKey("org", "m"), java.util.Map.of("tl", "6000", "tr", "1000", "tat", Long.toString(start.toEpochMilli())));
        }
        assertNull(admit(one, start, -1, 600));
        Instant refused = admit(two, start, -1, 500);
        assertTrue(refused != null, "the other replica holds 600 of the 1,000: 500 more do not fit");
        assertEquals(start.plusMillis(167), refused, "the missing 100 refill in 100 / 6000 of the 10 s window, 166.7 ms");
        assertNull(admit(two, start.plusMillis(167), -1, 500), "refilled");
        assertNull(admit(two, start.plusSeconds(11), -1, 5000), "a hold the other replica has not repeated for a window counts no more");
    }

    @Test
    void concurrentAttemptsFromTwoReplicasCannotBothTakeTheLastRoom() throws Exception
    {
        Instant now = clock.instant();
        AtomicInteger admitted = new AtomicInteger();
        Concurrently.run(8, thread ->
        {
            for (int i = 0; i < 10; i++)
            {
                if (admit(thread % 2 == 0 ? one : two, now, 25, 1) == null)
                    admitted.incrementAndGet();
            }
        });
        assertEquals(25, admitted.get(), "80 attempts at once, a limit of 25");
    }

    @Test
    void withRedisAwayAnAttemptGoesOnTheReplicasOwnView() throws Exception
    {
        redis.kill();
        try
        {
            long started = System.nanoTime();
            assertNull(admit(one, clock.instant(), 1, 100));
            assertNull(admit(one, clock.instant(), 1, 100), "degraded: no second refusal either, the local view decides");
            assertTrue(System.nanoTime() - started < Duration.ofSeconds(5).toNanos(), "within the link's bound");
            assertTrue(links.get(0).degraded());
        }
        finally
        {
            redis.restart();
        }
    }

    @Test
    void redisHoldsNamesAndNumbersOnly()
    {
        admit(one, clock.instant(), 3, 100);
        try (RedisClient client = redis.client())
        {
            for (String key : client.keys("*"))
            {
                assertFalse(key.contains("SECRET"));
                String type = client.type(key);
                String values = type.equals("zset") ? client.zrange(key, 0, -1).toString() : client.hgetAll(key).toString();
                assertFalse(values.contains("SECRET"), key);
            }
            assertEquals(1, client.zcard("t:window:{org}:m"));
        }
    }
}
