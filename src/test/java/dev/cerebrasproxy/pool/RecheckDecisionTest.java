package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.util.List;

import dev.cerebrasproxy.support.ManualClock;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every re-check of a quarantined key ends in a decision, on the injected clock: passed,
 * failed, inconclusive (the key waits for the next re-check), or lost (never reported:
 * due again once its time is up). No path leaves a key that is neither usable nor due, or
 * a wait below zero.
 */
class RecheckDecisionTest
{
    private static final Duration RECHECK = CooldownPolicy.DEFAULTS.quarantineRecheck();

    private final ManualClock clock = new ManualClock();
    private final KeyPool pool = new KeyPool(List.of(new ApiKey("only", "secret-only")), CooldownPolicy.DEFAULTS, clock);
    private final ApiKey only = pool.keys().get(0);

    /** Quarantines the key and lets one request take it for its re-check. */
    private void recheckUnderWay()
    {
        pool.quarantine(only, "401 wrong_api_key");
        clock.advance(RECHECK);
        assertSame(only, pool.rotation().next(), "the re-check takes the key");
        assertNull(pool.rotation().next(), "one re-check at a time");
    }

    private KeySnapshot snapshot()
    {
        return pool.snapshot().get(0);
    }

    @Test
    void anInconclusiveRecheckKeepsTheQuarantineAndSchedulesTheNextOne()
    {
        recheckUnderWay();
        pool.inconclusive(only, "answered 503");
        assertEquals(KeyState.QUARANTINED, snapshot().state());
        assertEquals("401 wrong_api_key", snapshot().lastError(), "still what is known of the key");
        assertEquals(RECHECK, pool.untilAnyKeyRecovers(), "a decision: the next re-check, in the future");
        clock.advance(RECHECK.minusMillis(1));
        assertNull(pool.rotation().next());
        clock.advance(Duration.ofMillis(1));
        assertSame(only, pool.rotation().next(), "the next re-check comes");
    }

    @Test
    void cerebrasBeingBusyIsAnInconclusiveRecheckToo()
    {
        recheckUnderWay();
        pool.busy(only, "queue_exceeded");
        assertEquals(KeyState.QUARANTINED, snapshot().state());
        assertEquals(RECHECK, pool.untilAnyKeyRecovers());
    }

    @Test
    void aRecheckThatNeverReportsBackIsDueAgainAfterAnotherInterval()
    {
        recheckUnderWay();
        clock.advance(RECHECK.minusMillis(1));
        assertNull(pool.rotation().next());
        assertEquals(Duration.ofMillis(1), pool.untilAnyKeyRecovers());
        clock.advance(Duration.ofMillis(1));
        assertSame(only, pool.rotation().next(), "the lost re-check is replaced by a new one");
    }

    @Test
    void theWaitIsNeverNegativeWhateverTheState()
    {
        recheckUnderWay();
        for (int i = 0; i < 3; i++)
        {
            clock.advance(RECHECK.multipliedBy(3));
            Duration wait = pool.untilAnyKeyRecovers();
            assertFalse(wait.isNegative(), "wait " + wait);
        }
        pool.rateLimited(only, Duration.ofSeconds(-5), "request_quota_exceeded");
        assertFalse(pool.untilAnyKeyRecovers().isNegative());
    }

    @Test
    void inconclusiveNewsOutsideARecheckChangesNothing()
    {
        pool.inconclusive(only, "answered 502");
        assertEquals(KeyState.AVAILABLE, snapshot().state());
        pool.quarantine(only, "401 wrong_api_key");
        pool.inconclusive(only, "answered 502");
        assertEquals(RECHECK, pool.untilAnyKeyRecovers(), "a quarantine not under re-check keeps its time");
    }

    @Test
    void aPassedOrFailedRecheckDecidesAsBefore()
    {
        recheckUnderWay();
        pool.served(only);
        assertEquals(KeyState.AVAILABLE, snapshot().state());
        recheckUnderWay();
        pool.quarantine(only, "401 wrong_api_key");
        assertEquals(KeyState.QUARANTINED, snapshot().state());
        assertNotNull(snapshot().until());
        assertTrue(snapshot().until().isAfter(clock.instant()));
    }
}
