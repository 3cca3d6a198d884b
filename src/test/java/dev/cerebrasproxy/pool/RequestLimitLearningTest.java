package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.util.List;

import dev.cerebrasproxy.support.ManualClock;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Cerebras sends no header for requests per minute: the pool learns a budget's limit from
 * the 429 it met, and from then on sends no more than that in any window instead of
 * meeting the limit again in each one.
 */
class RequestLimitLearningTest
{
    private final ManualClock clock = new ManualClock();
    private final KeyPool pool = new KeyPool(List.of(new ApiKey("k0", "s0")), CooldownPolicy.DEFAULTS, clock);
    private final Demand demand = new Demand("m", 10);

    /** One request with its answer: the key, or null when the pool sends none now. */
    private ApiKey send()
    {
        Rotation rotation = pool.rotation(demand);
        ApiKey key = rotation.next();
        rotation.release();
        return key;
    }

    @Test
    void afterOne429TheBudgetIsPacedAtWhatItsWindowHeld()
    {
        for (int i = 0; i < 3; i++)
        {
            assertNotNull(send());
            clock.advance(Duration.ofSeconds(1));
        }
        ApiKey limited = send();
        pool.rateLimited(limited, "m", null, "request_quota_exceeded");
        assertEquals(3, pool.budgets().get(0).learntRequestLimit());
        // The guessed rest is 5 s, but the window still holds 3 requests until the first is 60 s old.
        clock.advance(Duration.ofSeconds(10));
        assertNull(send());
        Rotation waiting = pool.rotation(demand);
        assertNull(waiting.next());
        assertEquals(Duration.ofSeconds(47), waiting.untilAnUntriedKeyRecovers(), "the first request leaves the window at 60 s");
        clock.advance(Duration.ofSeconds(47));
        assertNotNull(send());
        assertNull(send(), "the second is still in the window");
        clock.advance(Duration.ofSeconds(2));
        assertNotNull(send());
    }

    @Test
    void aSpentDayTeachesNothingAboutTheMinute()
    {
        ApiKey key = send();
        pool.rateLimited(key, "m", Duration.ofSeconds(1), "requests-day exhausted");
        assertEquals(-1, pool.budgets().get(0).learntRequestLimit());
    }

    @Test
    void otherModelsAreNotPaced()
    {
        assertNotNull(send());
        pool.rateLimited(send(), "m", Duration.ZERO, "request_quota_exceeded");
        assertNull(send(), "one a window on m");
        Rotation other = pool.rotation(new Demand("other", 10));
        assertNotNull(other.next());
    }

    @Test
    void theGeneralStateOfRequestsWithoutAModelLearnsNoLimit()
    {
        KeyPool.class.getName();
        Rotation rotation = pool.rotation();
        ApiKey key = rotation.next();
        rotation.release();
        pool.rateLimited(key, null, Duration.ZERO, "request_quota_exceeded");
        assertEquals(-1, pool.budgets().get(0).learntRequestLimit());
    }
}
