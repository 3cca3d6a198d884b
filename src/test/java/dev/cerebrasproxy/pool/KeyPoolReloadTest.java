package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.util.List;

import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ManualClock;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/** {@link KeyPool#reload}: which keys keep what the pool learnt, and requests in flight. */
class KeyPoolReloadTest
{
    private final ManualClock clock = new ManualClock();
    private final ApiKey alpha = new ApiKey("alpha", "v-alpha");
    private final ApiKey bravo = new ApiKey("bravo", "v-bravo");
    private final KeyPool pool = new KeyPool(List.of(alpha, bravo), CooldownPolicy.DEFAULTS, clock);

    private KeySnapshot snapshotOf(String name)
    {
        return pool.snapshot().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void aKeptKeyKeepsItsRestAndCounts()
    {
        pool.rotation().next(); // alpha, one request
        pool.rateLimited(alpha, Duration.ofSeconds(60), "request_quota_exceeded");
        KeySnapshot before = snapshotOf("alpha");

        Reload reload = pool.reload(List.of(new ApiKey("alpha", "v-alpha"), new ApiKey("charlie", "v-charlie")));

        assertEquals(new Reload(List.of("alpha"), List.of("charlie"), List.of("bravo")), reload);
        assertEquals(before, snapshotOf("alpha"));
        assertEquals(KeyState.COOLING, snapshotOf("alpha").state());
        assertSame(alpha, pool.keys().get(0), "the kept key is the same key, so news about it still lands");
    }

    @Test
    void aChangedValueIsANewKey()
    {
        pool.quarantine(alpha, "wrong_api_key");

        Reload reload = pool.reload(List.of(new ApiKey("alpha", "v-alpha-rotated"), bravo));

        assertEquals(new Reload(List.of("bravo"), List.of("alpha"), List.of("alpha")), reload);
        assertEquals(KeyState.AVAILABLE, snapshotOf("alpha").state());
        assertEquals(0, snapshotOf("alpha").failures());
    }

    @Test
    void newRotationsUseOnlyTheNewKeys()
    {
        ApiKey charlie = new ApiKey("charlie", "v-charlie");
        pool.reload(List.of(charlie));

        Rotation rotation = pool.rotation();
        assertSame(charlie, rotation.next());
        assertNull(rotation.next());
        assertEquals(1, pool.size());
    }

    /** A request that started before the reload goes on with the keys it started with. */
    @Test
    void aRotationInFlightFinishesWithItsOwnKeys()
    {
        Rotation inFlight = pool.rotation();
        ApiKey first = inFlight.next();

        pool.reload(List.of(new ApiKey("charlie", "v-charlie")));
        int mark = LogCapture.mark();
        pool.quarantine(first, "wrong_api_key"); // news about a key that has left: dropped, not logged
        assertFalse(LogCapture.since(mark).contains("quarantined"), LogCapture.since(mark));

        ApiKey second = inFlight.next();
        assertEquals(List.of("alpha", "bravo"), List.of(first.name(), second.name()).stream().sorted().toList());
        assertNull(inFlight.next());
        assertEquals(List.of("charlie"), pool.snapshot().stream().map(KeySnapshot::name).toList());
    }
}
