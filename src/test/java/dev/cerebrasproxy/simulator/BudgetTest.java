package dev.cerebrasproxy.simulator;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The budget's arithmetic, on simulated nanoseconds: buckets, windows and what they allow. */
class BudgetTest
{
    private static final long SECOND = Duration.ofSeconds(1).toNanos();
    private final SimTime time = new SimTime(new ManualTime(), 1);

    @Test
    void aBucketStartsFullAndRefillsItsCapacityOverOnePeriodContinuously()
    {
        TokenBucket bucket = new TokenBucket("tokens-minute", 6000, SimTime.MINUTE);
        assertEquals(6000, bucket.remaining(0));
        bucket.take(6000, 0);
        assertEquals(0, bucket.remaining(0));
        assertEquals(100, bucket.remaining(SECOND));
        assertEquals(150, bucket.remaining(SECOND + SECOND / 2));
        assertEquals(6000, bucket.remaining(60 * SECOND));
        assertEquals(6000, bucket.remaining(600 * SECOND), "never more than its capacity");
    }

    @Test
    void aBucketSaysHowLongUntilItIsFullAgain()
    {
        TokenBucket bucket = new TokenBucket("tokens-minute", 6000, SimTime.MINUTE);
        assertEquals(0, bucket.nanosUntilFull(0));
        bucket.take(1500, 0);
        assertEquals(15 * SECOND, bucket.nanosUntilFull(0));
        assertEquals(5 * SECOND, bucket.nanosUntilFull(10 * SECOND));
    }

    @Test
    void aWindowCountsFromItsStartAndBeginsAgainAtTheNext()
    {
        RequestWindow window = new RequestWindow(null, "minute", 2, SimTime.MINUTE);
        window.count(0);
        window.count(59 * SECOND);
        assertTrue(window.full(60 * SECOND - 1));
        assertEquals(1, window.nanosUntilReset(60 * SECOND - 1));
        assertFalse(window.full(60 * SECOND));
        assertEquals(60 * SECOND, window.nanosUntilReset(60 * SECOND));
    }

    @Test
    void aWindowTouchedByAnIntervalCountsWhole()
    {
        RequestWindow window = new RequestWindow(null, "minute", 2, SimTime.MINUTE);
        assertEquals(1, window.windowsTouched(0, 60 * SECOND));
        assertEquals(2, window.windowsTouched(0, 60 * SECOND + 1));
        assertEquals(2, window.windowsTouched(59 * SECOND, 61 * SECOND));
        assertEquals(3, window.windowsTouched(30 * SECOND, 150 * SECOND));
        assertEquals(0, window.windowsTouched(5, 5));
    }

    @Test
    void admissionChecksTheEstimateAgainstWhatRemainsAndSettlingGivesBackWhatWasNotUsed()
    {
        Budget budget = new Budget("org", Model.of("m", Limits.of(100, 1000, 1000)), Limits.of(100, 1000, 1000));
        assertTrue(budget.admit(600, 0, time).admitted());
        Budget.Decision refused = budget.admit(401, 0, time);
        assertFalse(refused.admitted());
        assertEquals("token_quota_exceeded", refused.code());
        assertEquals("400", refused.headers().get("x-ratelimit-remaining-tokens-minute"));
        budget.settle(600, 250, 0);
        assertEquals("750", budget.headers(0, time).get("x-ratelimit-remaining-tokens-minute"));
        assertTrue(budget.admit(750, 0, time).admitted(), "an estimate that fits exactly is admitted");
    }

    @Test
    void aRefusedRequestCountsInNoWindow()
    {
        Budget budget = new Budget("org", Model.of("m", Limits.of(2, 100, 1000)), Limits.of(2, 100, 1000));
        assertFalse(budget.admit(101, 0, time).admitted());
        assertTrue(budget.admit(10, 0, time).admitted());
        assertTrue(budget.admit(10, 0, time).admitted());
        Budget.Decision third = budget.admit(10, 0, time);
        assertEquals("request_quota_exceeded", third.code());
        assertEquals("Requests per minute limit exceeded - too many requests sent.", third.message());
        assertEquals("998", third.headers().get("x-ratelimit-remaining-requests-day"));
    }

    @Test
    void allowedIsTheLeastOfWhatEachWindowAndBucketAdmits()
    {
        Limits limits = Limits.of(10, 1000, 1000);
        Budget budget = new Budget("org", Model.of("m", limits), limits);
        // Two minute windows admit 20; 1000 + 2000 tokens admit (3000 - 100) / 50 + 1 = 59.
        assertEquals(20, budget.allowed(0, 120 * SECOND, 100, 50));
        // Tokens bind: 1000 + 1000 = 2000 at 100 each, the last needing its 400 estimate: (2000 - 400) / 100 + 1 = 17.
        Limits manyRequests = limits.withRequestsPerMinute(100);
        assertEquals(17, new Budget("org", Model.of("m", manyRequests), manyRequests).allowed(0, 60 * SECOND, 400, 100));
        // An estimate larger than everything the interval holds admits nothing.
        assertEquals(0, budget.allowed(0, SECOND, 2000, 100));
        // A window begun before the interval still counts whole: [30 s, 90 s) touches two.
        assertEquals(20, budget.allowed(30 * SECOND, 90 * SECOND, 1, 1));
    }

    @Test
    void hourLimitsAddTheirWindowsBucketsAndHeaders()
    {
        Limits limits = new Limits(100, 3, 1000, 1000, 1500);
        Budget budget = new Budget("org", Model.of("m", limits), limits);
        for (int i = 0; i < 3; i++)
            assertTrue(budget.admit(100, i * 61 * SECOND, time).admitted());
        Budget.Decision fourth = budget.admit(100, 200 * SECOND, time);
        assertEquals("Requests per hour limit exceeded - too many requests sent.", fourth.message());
        assertEquals("0", fourth.headers().get("x-ratelimit-remaining-requests-hour"));
        assertEquals("1500", fourth.headers().get("x-ratelimit-limit-tokens-hour"));
        assertEquals(3, budget.allowed(0, 60 * SECOND * 59, 1, 1));
    }
}
