package dev.cerebrasproxy.shared;

import java.time.Duration;
import java.util.List;

import dev.cerebrasproxy.access.ClientCounters;
import dev.cerebrasproxy.access.ClientLimits;
import dev.cerebrasproxy.access.InMemoryClientCounters;
import dev.cerebrasproxy.config.RedisSettings;
import dev.cerebrasproxy.support.RedisServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.RedisClient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The scripts against a real Redis follow the in-memory counters' rules step for step. */
class RedisClientCountersTest
{
    @RegisterExtension
    static final RedisServer redis = new RedisServer();

    private RedisLink link;
    private RedisClientCounters shared;
    private final InMemoryClientCounters memory = new InMemoryClientCounters();

    @BeforeEach
    void connect()
    {
        redis.empty();
        link = new RedisLink(new RedisSettings("127.0.0.1", redis.port(), null, null, 0, false, "t:", Duration.ofSeconds(2), null));
        shared = new RedisClientCounters(link, "t:");
    }

    @AfterEach
    void close()
    {
        link.close();
    }

    private static ClientCounters.Outcome admit(ClientCounters counters, ClientLimits limits, long estimate, long minute, long day)
    {
        return counters.tryAdmit("ci", limits, estimate, minute, day).toCompletableFuture().join();
    }

    @Test
    void everyStepAnswersAsInMemory()
    {
        ClientLimits limits = new ClientLimits(3, 100, 250, null);
        // Day 1: requests run out in minute 10, tokens in minute 11, the day in minute 12 (a big
        // estimate held as the whole minute, settled at 250); then day 2 starts afresh.
        long[][] steps = {{60, 10, 1}, {60, 10, 1}, {30, 10, 1}, {10, 10, 1}, {80, 11, 1}, {70, 11, 1}, {500, 12, 1}, {10, 13, 1}, {10, 14, 2}};
        java.util.Set<ClientCounters.Over> seen = java.util.EnumSet.noneOf(ClientCounters.Over.class);
        for (long[] step : steps)
        {
            ClientCounters.Outcome expected = admit(memory, limits, step[0], step[1], step[2]);
            ClientCounters.Outcome actual = admit(shared, limits, step[0], step[1], step[2]);
            if (actual.over() != null)
                seen.add(actual.over());
            assertEquals(expected, actual, "estimate " + step[0] + " in minute " + step[1]);
            if (expected.reservation() != null)
            {
                memory.settle("ci", expected.reservation(), step[0] / 2, step[1], step[2]).toCompletableFuture().join();
                shared.settle("ci", actual.reservation(), step[0] / 2, step[1], step[2]).toCompletableFuture().join();
            }
            assertEquals(memory.use("ci", step[1], step[2]), shared.use("ci", step[1], step[2]), "this replica's view mirrors Redis");
        }
        assertEquals(java.util.EnumSet.allOf(ClientCounters.Over.class), seen, "each refusal was met, and met alike");
    }

    @Test
    void aRedisThatForgotTheScriptsGetsThemAgain()
    {
        ClientLimits limits = new ClientLimits(5, ClientLimits.UNLIMITED, ClientLimits.UNLIMITED, null);
        assertNull(admit(shared, limits, 0, 1, 1).over());
        try (RedisClient client = redis.client())
        {
            client.scriptFlush();
        }
        ClientCounters.Outcome second = admit(shared, limits, 0, 1, 1);
        assertEquals(2, second.use().requestsThisMinute(), "counted in Redis after EVAL, not from memory");
        assertEquals(false, link.degraded());
    }

    @Test
    void namesThatCouldMeetInOneKeyStayApart()
    {
        assertEquals("t:client:{ci}", shared.key("ci"));
        assertNotEquals(shared.key("a}:x"), shared.key("a"));
        assertEquals(List.of("t:client:{a%7D b}"), List.of(shared.key("a} b").replace("%20", " ")));
    }
}
