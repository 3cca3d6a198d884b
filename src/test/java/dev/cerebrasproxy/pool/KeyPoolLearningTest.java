package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import dev.cerebrasproxy.support.Concurrently;
import dev.cerebrasproxy.support.ManualClock;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pool's own decisions, without HTTP: which keys rest, how long, and who re-checks. */
class KeyPoolLearningTest
{
    private final ManualClock clock = new ManualClock();

    private KeyPool poolOf(int n)
    {
        List<ApiKey> keys = new ArrayList<>();
        for (int i = 0; i < n; i++)
            keys.add(new ApiKey("k" + i, "secret-" + i));
        return new KeyPool(keys, CooldownPolicy.DEFAULTS, clock);
    }

    private static ApiKey key(KeyPool pool, int index)
    {
        return pool.keys().get(index);
    }

    /** The first key of each of {@code count} fresh rotations. */
    private static List<String> firstKeys(KeyPool pool, int count)
    {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            ApiKey key = pool.rotation().next();
            names.add(key == null ? null : key.name());
        }
        return names;
    }

    private KeySnapshot snapshotOf(KeyPool pool, int index)
    {
        return pool.snapshot().get(index);
    }

    private Duration restLeft(KeyPool pool, int index)
    {
        return Duration.between(clock.instant(), snapshotOf(pool, index).until());
    }

    @Test
    void aRateLimitedKeyRestsUntilItsAnnouncedRecoveryThenServesAgain()
    {
        KeyPool pool = poolOf(3);
        pool.rateLimited(key(pool, 1), Duration.ofSeconds(5), "request_quota_exceeded");
        assertTrue(!firstKeys(pool, 30).contains("k1"));
        clock.advance(Duration.ofMillis(4_999));
        assertTrue(!firstKeys(pool, 30).contains("k1"));
        clock.advance(Duration.ofMillis(1));
        assertTrue(firstKeys(pool, 3).contains("k1"));
    }

    @Test
    void guessedRateLimitRestsDoubleAndStopAtTheCap()
    {
        KeyPool pool = poolOf(2);
        List<Long> rests = new ArrayList<>();
        for (int i = 0; i < 6; i++)
        {
            pool.rateLimited(key(pool, 0), null, "request_quota_exceeded");
            rests.add(restLeft(pool, 0).toSeconds());
            clock.advance(restLeft(pool, 0));
        }
        assertEquals(List.of(5L, 10L, 20L, 40L, 60L, 60L), rests);
    }

    @Test
    void aServedAnswerForgivesTheStrikesSoTheNextGuessStartsShortAgain()
    {
        KeyPool pool = poolOf(2);
        pool.rateLimited(key(pool, 0), null, "request_quota_exceeded");
        clock.advance(Duration.ofSeconds(5));
        pool.rateLimited(key(pool, 0), null, "request_quota_exceeded");
        assertEquals(Duration.ofSeconds(10), restLeft(pool, 0));
        clock.advance(Duration.ofSeconds(10));
        pool.served(key(pool, 0));
        pool.rateLimited(key(pool, 0), null, "request_quota_exceeded");
        assertEquals(Duration.ofSeconds(5), restLeft(pool, 0));
    }

    @Test
    void aServerErrorRestsTheKeyBriefly()
    {
        KeyPool pool = poolOf(2);
        pool.serverError(key(pool, 0), "http_500");
        assertEquals(KeyState.COOLING, snapshotOf(pool, 0).state());
        assertEquals(Duration.ofSeconds(1), restLeft(pool, 0));
    }

    @Test
    void anExhaustedWindowRestsTheKeyUntilItResetsWithoutCountingAFailure()
    {
        KeyPool pool = poolOf(2);
        pool.exhausted(key(pool, 0), Duration.ofMillis(12_500), "tokens-minute");
        KeySnapshot snapshot = snapshotOf(pool, 0);
        assertEquals(KeyState.COOLING, snapshot.state());
        assertEquals("tokens-minute exhausted", snapshot.lastError());
        assertEquals(0, snapshot.failures());
        assertEquals(Duration.ofMillis(12_500), restLeft(pool, 0));
    }

    @Test
    void aLaterShorterRestDoesNotCutALongerOneShort()
    {
        KeyPool pool = poolOf(2);
        pool.rateLimited(key(pool, 0), Duration.ofHours(9), "request_quota_exceeded");
        pool.serverError(key(pool, 0), "http_500");
        assertEquals(Duration.ofHours(9), restLeft(pool, 0));
    }

    @Test
    void anAbsurdAnnouncedRestIsCappedAtADayAndAnHour()
    {
        KeyPool pool = poolOf(2);
        pool.rateLimited(key(pool, 0), Duration.ofDays(400), "request_quota_exceeded");
        assertEquals(Duration.ofHours(25), restLeft(pool, 0));
    }

    @Test
    void aQuarantinedKeyIsRecheckedByExactlyOneRequestAndReturnsWhenItServes()
    {
        KeyPool pool = poolOf(3);
        pool.quarantine(key(pool, 0), "401 wrong_api_key");
        assertTrue(!firstKeys(pool, 30).contains("k0"));
        clock.advance(CooldownPolicy.DEFAULTS.quarantineRecheck());
        List<String> firsts = firstKeys(pool, 30);
        assertEquals(1, firsts.stream().filter("k0"::equals).count(), "one request re-checks it: " + firsts);
        assertEquals(KeyState.QUARANTINED, snapshotOf(pool, 0).state());
        pool.served(key(pool, 0));
        assertEquals(KeyState.AVAILABLE, snapshotOf(pool, 0).state());
        assertTrue(firstKeys(pool, 3).contains("k0"));
    }

    @Test
    void aFailedRecheckKeepsTheKeyQuarantinedUntilTheNextOne()
    {
        KeyPool pool = poolOf(2);
        pool.quarantine(key(pool, 0), "401 wrong_api_key");
        clock.advance(CooldownPolicy.DEFAULTS.quarantineRecheck());
        assertTrue(firstKeys(pool, 2).contains("k0"));
        pool.quarantine(key(pool, 0), "401 wrong_api_key");
        assertTrue(!firstKeys(pool, 30).contains("k0"));
        assertEquals(CooldownPolicy.DEFAULTS.quarantineRecheck(), restLeft(pool, 0));
    }

    @Test
    void lateNewsFromBeforeAQuarantineDoesNotLiftIt()
    {
        KeyPool pool = poolOf(2);
        pool.quarantine(key(pool, 0), "401 wrong_api_key");
        pool.rateLimited(key(pool, 0), Duration.ofSeconds(1), "request_quota_exceeded");
        pool.served(key(pool, 0));
        clock.advance(Duration.ofSeconds(2));
        assertEquals(KeyState.QUARANTINED, snapshotOf(pool, 0).state());
    }

    @Test
    void whenNoUntriedKeyCanServeTheRotationSaysHowLongUntilOneCan()
    {
        KeyPool pool = poolOf(3);
        pool.rateLimited(key(pool, 0), Duration.ofSeconds(30), "request_quota_exceeded");
        pool.rateLimited(key(pool, 1), Duration.ofSeconds(8), "request_quota_exceeded");
        Rotation rotation = pool.rotation();
        assertEquals("k2", rotation.next().name());
        pool.rateLimited(key(pool, 2), Duration.ofSeconds(2), "request_quota_exceeded");
        assertNull(rotation.next());
        assertEquals(Duration.ofSeconds(8), rotation.untilAnUntriedKeyRecovers(), "k2 was tried by this request: it does not count");
        assertEquals(Duration.ofSeconds(2), pool.untilAnyKeyRecovers());
        assertEquals(List.of(KeyState.COOLING, KeyState.COOLING), rotation.untriedStates());
    }

    @Test
    void theKeysThatCanServeShareTheLoadExactlyEvenly()
    {
        KeyPool pool = poolOf(5);
        pool.rateLimited(key(pool, 2), null, "request_quota_exceeded");
        pool.serverError(key(pool, 3), "http_500");
        Map<String, Integer> served = new HashMap<>();
        for (String name : firstKeys(pool, 30))
            served.merge(name, 1, Integer::sum);
        assertEquals(Map.of("k0", 10, "k1", 10, "k4", 10), served);
    }

    @Test
    void theSnapshotShowsEachKeysStateUntilErrorAndCounts()
    {
        KeyPool pool = poolOf(3);
        Rotation rotation = pool.rotation();
        ApiKey first = rotation.next();
        pool.rateLimited(first, Duration.ofSeconds(7), "token_quota_exceeded");
        pool.quarantine(key(pool, (pool.keys().indexOf(first) + 1) % 3), "402 payment_required");
        List<KeySnapshot> snapshot = pool.snapshot();
        assertEquals(List.of("k0", "k1", "k2"), snapshot.stream().map(KeySnapshot::name).toList());
        KeySnapshot cooling = snapshot.get(pool.keys().indexOf(first));
        assertEquals(new KeySnapshot(first.name(), first.name(), KeyState.COOLING, clock.instant().plusSeconds(7), "token_quota_exceeded", 1, 1), cooling);
        assertEquals(1, snapshot.stream().filter(s -> s.state() == KeyState.QUARANTINED && "402 payment_required".equals(s.lastError())).count());
        assertEquals(1, snapshot.stream().filter(s -> s.state() == KeyState.AVAILABLE && s.until() == null).count());
    }

    /**
     * Many threads take keys while others flip the keys between resting and serving: no
     * request meets a key twice, and every take is counted exactly once.
     */
    @Test
    void concurrentTakesAndStateChangesStayConsistent() throws Exception
    {
        KeyPool pool = poolOf(5);
        int threads = 8;
        int rounds = 20_000;
        AtomicInteger violations = new AtomicInteger();
        AtomicLong takes = new AtomicLong();
        Concurrently.run(threads, thread ->
        {
            for (int r = 0; r < rounds; r++)
            {
                Rotation rotation = pool.rotation();
                Set<String> met = new HashSet<>();
                ApiKey key;
                while ((key = rotation.next()) != null)
                {
                    takes.incrementAndGet();
                    if (!met.add(key.name()))
                        violations.incrementAndGet();
                    if ((r + thread) % 7 == 0)
                        pool.rateLimited(key, Duration.ZERO, "request_quota_exceeded");
                    else if ((r + thread) % 11 == 0)
                        pool.quarantine(key, "401 wrong_api_key");
                    else
                        pool.served(key);
                }
                if (r % 5000 == 0)
                    pool.reset();
            }
        });
        assertEquals(0, violations.get());
        assertEquals(takes.get(), pool.snapshot().stream().mapToLong(KeySnapshot::requests).sum());
        assertNotEquals(0, takes.get());
    }
}
