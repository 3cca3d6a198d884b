package dev.cerebrasproxy.pool;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import dev.cerebrasproxy.support.Concurrently;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeyPoolTest
{
    private static KeyPool poolOf(int n)
    {
        List<ApiKey> keys = new ArrayList<>();
        for (int i = 0; i < n; i++)
            keys.add(new ApiKey("k" + i, "secret-" + i));
        return new KeyPool(keys);
    }

    @Test
    void firstAttemptsGoRoundRobin()
    {
        KeyPool pool = poolOf(3);
        List<String> firsts = new ArrayList<>();
        for (int i = 0; i < 6; i++)
            firsts.add(pool.rotation().next().name());
        assertEquals(List.of("k0", "k1", "k2", "k0", "k1", "k2"), firsts);
    }

    @Test
    void aRotationOffersEveryKeyOnceThenNothing()
    {
        KeyPool pool = poolOf(4);
        Rotation rotation = pool.rotation();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 4; i++)
            assertTrue(seen.add(rotation.next().name()));
        assertNull(rotation.next());
        assertEquals(4, rotation.attempts());
    }

    /**
     * While other requests move the shared cursor, each retrying request still meets every
     * key exactly once: a design with only a shared index lets it meet a key twice and
     * give up early.
     */
    @Test
    void concurrentRotationsEachMeetEveryKeyExactlyOnce() throws Exception
    {
        KeyPool pool = poolOf(5);
        int threads = 8;
        int rotationsPerThread = 20_000;
        AtomicInteger violations = new AtomicInteger();
        Concurrently.run(threads, thread ->
        {
            for (int r = 0; r < rotationsPerThread; r++)
            {
                Rotation rotation = pool.rotation();
                Set<String> met = new HashSet<>();
                ApiKey key;
                while ((key = rotation.next()) != null)
                {
                    if (!met.add(key.name()))
                        violations.incrementAndGet();
                }
                if (met.size() != 5)
                    violations.incrementAndGet();
            }
        });
        assertEquals(0, violations.get());
    }

    /**
     * 30 requests through 3 working and 2 failing keys: the retries the failing keys cause
     * spread over the working keys, so each serves 10 (give or take 2), instead of the
     * failing keys' neighbour taking them all.
     */
    @Test
    void retriesSpreadOverTheWorkingKeys()
    {
        KeyPool pool = new KeyPool(List.of(
            new ApiKey("ok1", "s1"), new ApiKey("ok2", "s2"), new ApiKey("bad1", "s3"), new ApiKey("bad2", "s4"), new ApiKey("ok3", "s5")));
        Set<String> failing = Set.of("bad1", "bad2");
        Map<String, Integer> served = new ConcurrentHashMap<>();
        for (int i = 0; i < 30; i++)
        {
            Rotation rotation = pool.rotation();
            ApiKey key = rotation.next();
            while (failing.contains(key.name()))
                key = rotation.next();
            served.merge(key.name(), 1, Integer::sum);
        }
        for (String name : List.of("ok1", "ok2", "ok3"))
        {
            int n = served.getOrDefault(name, 0);
            assertTrue(n >= 8 && n <= 12, name + " served " + n + " of 30: " + served);
        }
    }
}
