package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.cerebrasproxy.support.ManualClock;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Budgets per (organization, model), without HTTP: what a 429 rests, whose tokens a request
 * fits, which budget goes first, and when a request can never be served.
 */
class BudgetRotationTest
{
    private final ManualClock clock = new ManualClock();
    /** o1 holds k0 and k1; k2 is its own organization. */
    private final KeyPool pool = new KeyPool(List.of(new ApiKey("k0", "s0", "o1"), new ApiKey("k1", "s1", "o1"), new ApiKey("k2", "s2")),
        CooldownPolicy.DEFAULTS, clock);

    private ApiKey key(int i)
    {
        return pool.keys().get(i);
    }

    /** The first key of each of {@code count} fresh rotations for this demand, releasing each at once. */
    private List<String> firstKeys(Demand demand, int count)
    {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            Rotation rotation = pool.rotation(demand);
            ApiKey key = rotation.next();
            rotation.release();
            names.add(key == null ? null : key.name());
        }
        return names;
    }

    private static Demand of(String model, long estimate)
    {
        return new Demand(model, estimate);
    }

    @Test
    void aRateLimitOnOneModelLeavesTheOtherModelsAlone()
    {
        pool.rateLimited(key(2), "model-a", Duration.ofSeconds(10), "request_quota_exceeded");
        assertFalse(firstKeys(of("model-a", 10), 30).contains("k2"));
        assertTrue(firstKeys(of("model-b", 10), 30).contains("k2"));
        assertTrue(firstKeys(Demand.NONE, 30).contains("k2"), "a request naming no model uses the general state");
        clock.advance(Duration.ofSeconds(10));
        assertTrue(firstKeys(of("model-a", 10), 30).contains("k2"));
    }

    @Test
    void aRateLimitOnOneKeyRestsItsOrganizationsTwinsForThatModel()
    {
        pool.rateLimited(key(0), "model-a", Duration.ofSeconds(10), "token_quota_exceeded");
        assertEquals(List.of("k2", "k2", "k2", "k2"), firstKeys(of("model-a", 10), 4));
        assertEquals(3, new java.util.HashSet<>(firstKeys(of("model-b", 10), 30)).size());
        Rotation rotation = pool.rotation(of("model-a", 10));
        assertEquals("k2", rotation.next().name());
        assertNull(rotation.next());
        assertEquals(Duration.ofSeconds(10), rotation.untilAnUntriedKeyRecovers());
    }

    @Test
    void aRequestGoesOnlyWhereItsEstimateFitsWhatIsLeftAndRefilled()
    {
        pool.tokensReported(key(0), "m", 6_000, 100);
        pool.tokensReported(key(2), "m", 6_000, 100);
        Rotation rotation = pool.rotation(of("m", 1_100));
        assertNull(rotation.next(), "100 left, 1100 asked");
        // The bucket refills 6000 a minute, 100 a second: 10 s for the missing 1000.
        assertEquals(Duration.ofSeconds(10), rotation.untilAnUntriedKeyRecovers());
        clock.advance(Duration.ofSeconds(10));
        assertTrue(List.of("k0", "k1", "k2").contains(pool.rotation(of("m", 1_100)).next().name()));
    }

    @Test
    void reservationsOfRequestsInFlightCountAgainstTheBudgetUntilReleased()
    {
        pool.tokensReported(key(2), "m", 6_000, 1_000);
        pool.tokensReported(key(0), "m", 6_000, 0);
        Rotation first = pool.rotation(of("m", 800));
        assertEquals("k2", first.next().name());
        assertNull(pool.rotation(of("m", 800)).next(), "800 of k2's 1000 are reserved");
        first.release();
        first.release(); // idempotent
        assertEquals("k2", pool.rotation(of("m", 800)).next().name());
    }

    /** An attempt whose connection failed before it went out goes again with its key, reserved again, not with the next key. */
    @Test
    void againGivesTheSameKeyBackWithItsReservation()
    {
        pool.tokensReported(key(2), "m", 6_000, 1_000);
        pool.tokensReported(key(0), "m", 6_000, 0);
        Rotation rotation = pool.rotation(of("m", 800));
        assertNull(rotation.again(), "no key given yet");
        assertEquals("k2", rotation.next().name());
        rotation.release(); // the attempt ended (its connection failed)
        assertEquals("k2", rotation.again().name());
        assertEquals(1, rotation.attempts(), "the same attempt, not another key tried");
        assertNull(pool.rotation(of("m", 800)).next(), "800 of k2's 1000 are reserved again");
        rotation.release();
        assertEquals("k2", pool.rotation(of("m", 800)).next().name());
    }

    @Test
    void theBudgetWithTheMostTokensLeftGoesFirstAndEqualsShareRoundRobin()
    {
        pool.tokensReported(key(0), "m", 60_000, 5_000);
        pool.tokensReported(key(2), "m", 60_000, 50_000);
        assertEquals(List.of("k2", "k2", "k2"), firstKeys(of("m", 10), 3));
        pool.tokensReported(key(2), "m", 60_000, 5_000);
        Map<String, Integer> served = new HashMap<>();
        for (String name : firstKeys(of("m", 10), 30))
            served.merge(name, 1, Integer::sum);
        assertEquals(Map.of("k0", 10, "k1", 10, "k2", 10), served, "equal headroom: round-robin over the keys");
    }

    @Test
    void aRequestAboveEveryBudgetsWholeLimitIsKnownNeverToFit()
    {
        pool.tokensReported(key(0), "m", 1_000, 1_000);
        Rotation rotation = pool.rotation(of("m", 5_000));
        assertEquals(-1, rotation.limitEveryBudgetIsBelow(), "k2's limit is not known yet: it may be larger");
        pool.tokensReported(key(2), "m", 2_000, 2_000);
        rotation = pool.rotation(of("m", 5_000));
        assertEquals(2_000, rotation.limitEveryBudgetIsBelow());
        assertNull(rotation.next());
        assertNull(rotation.untilAnUntriedKeyRecovers(), "no wait can help");
        assertEquals(-1, pool.rotation(of("m", 1_500)).limitEveryBudgetIsBelow());
        assertTrue(pool.snapshot().stream().allMatch(s -> s.state() == KeyState.AVAILABLE), "it rests no key");
    }

    @Test
    void budgetsAreShownByOrganizationAndModel()
    {
        pool.tokensReported(key(1), "m", 6_000, 600);
        pool.rateLimited(key(2), "m", Duration.ofSeconds(5), "request_quota_exceeded");
        List<BudgetSnapshot> budgets = pool.budgets();
        assertEquals(List.of("k2/m", "o1/m"), budgets.stream().map(b -> b.organization() + "/" + b.model()).toList());
        assertEquals(600, budgets.get(1).tokensLeft());
        assertEquals(clock.instant().plusSeconds(5), budgets.get(0).restUntil());
        assertEquals("o1", pool.snapshot().get(0).organization());
    }

    @Test
    void aReloadKeepsWhatTheOrganizationsBudgetsLearnt()
    {
        pool.rateLimited(key(0), "m", Duration.ofSeconds(30), "request_quota_exceeded");
        pool.reload(List.of(new ApiKey("k9", "s9", "o1"), new ApiKey("k2", "s2")));
        assertEquals(List.of("k2", "k2"), firstKeys(of("m", 1), 2), "the new key of o1 draws on o1's resting budget");
    }

    @Test
    void ofTwoAttemptsOnTheirWayAtOnceTheReportLeavingFewerTokensIsKept()
    {
        java.time.Instant first = clock.instant();
        clock.advance(Duration.ofMillis(100));
        java.time.Instant second = clock.instant();
        // Upstream took the attempt sent first after the second: its report counts both.
        pool.tokensReported(key(2), "m", second, 6_000, 1_000);
        pool.tokensReported(key(2), "m", first, 6_000, 700);
        assertEquals(700, pool.budgets().get(0).tokensLeft());
        // And the other way round: the report of the attempt sent last came first and counted more.
        clock.advance(Duration.ofSeconds(60));
        java.time.Instant third = clock.instant();
        clock.advance(Duration.ofMillis(100));
        java.time.Instant fourth = clock.instant();
        pool.tokensReported(key(2), "m", third, 6_000, 5_000);
        pool.tokensReported(key(2), "m", fourth, 6_000, 200);
        pool.tokensReported(key(2), "m", third, 6_000, 500);
        assertEquals(200, pool.budgets().get(0).tokensLeft());
    }

    @Test
    void aReportOfAnAttemptSentAfterTheHeldOneCameIsLaterNewsEvenWithMoreTokens()
    {
        pool.tokensReported(key(2), "m", clock.instant(), 6_000, 100);
        clock.advance(Duration.ofMillis(100));
        // Sent after that answer came: upstream counted it later, settled answers gave tokens back.
        pool.tokensReported(key(2), "m", clock.instant(), 6_000, 3_000);
        assertEquals(3_000, pool.budgets().get(0).tokensLeft());
    }

    @Test
    void attemptsOnTheirWayWhenA429CameAreOneStrikeNotOneEach()
    {
        java.time.Instant sent = clock.instant();
        clock.advance(Duration.ofMillis(20));
        for (int i = 0; i < 5; i++)
            pool.rateLimited(key(2), "m", sent, null, "token_quota_exceeded");
        assertEquals(clock.instant().plus(Duration.ofSeconds(5)), pool.budgets().get(0).restUntil(), "the first guess, not doubled four times");
        // An attempt sent after that news met a 429 again: a second strike.
        clock.advance(Duration.ofSeconds(5));
        java.time.Instant later = clock.instant();
        pool.rateLimited(key(2), "m", later, null, "token_quota_exceeded");
        assertEquals(later.plus(Duration.ofSeconds(10)), pool.budgets().get(0).restUntil());
    }

    @Test
    void aRequestWindowWithNoMoreLeftThanAreInFlightTakesNoMoreUntilItResets()
    {
        KeyPool one = new KeyPool(List.of(new ApiKey("k", "s")), CooldownPolicy.DEFAULTS, clock);
        one.requestsReported(one.keys().get(0), "m", 2, Duration.ofHours(1));
        Rotation first = one.rotation(of("m", 1));
        Rotation second = one.rotation(of("m", 1));
        assertEquals("k", first.next().name());
        assertEquals("k", second.next().name());
        assertNull(one.rotation(of("m", 1)).next(), "two left, two on their way");
        // The first answer says one is left: the second is still on its way.
        first.release();
        one.requestsReported(one.keys().get(0), "m", 1, Duration.ofHours(1));
        assertNull(one.rotation(of("m", 1)).next());
        second.release();
        assertEquals("k", one.rotation(of("m", 1)).next().name(), "one left, none on its way");
        clock.advance(Duration.ofHours(1));
        Rotation[] many = new Rotation[3];
        for (int i = 0; i < many.length; i++)
        {
            many[i] = one.rotation(of("m", 1));
            assertEquals("k", many[i].next().name(), "a new window");
        }
    }

    @Test
    void aReportRefillsFromWhenItsAnswerCameNotFromItsAttemptsSend()
    {
        java.time.Instant sent = clock.instant();
        clock.advance(Duration.ofSeconds(1));
        // Upstream counted it somewhere in that second: the 100 tokens it refills in a second may not be there.
        pool.tokensReported(key(2), "m", sent, 6_000, 0);
        assertEquals(0, pool.budgets().get(0).tokensLeft());
        clock.advance(Duration.ofSeconds(1));
        assertEquals(100, pool.budgets().get(0).tokensLeft());
    }

    private static UpstreamHeaders headers(String... namesAndValues)
    {
        return each -> {
            for (int i = 0; i < namesAndValues.length; i += 2)
                each.accept(namesAndValues[i], namesAndValues[i + 1]);
        };
    }

    private static final UpstreamError TOKENS_REFUSED = new UpstreamError("token_quota_exceeded", "Tokens per minute limit exceeded - too many tokens processed.");

    /**
     * A token 429 that reports the bucket (limit 6000 a minute, 100 left) rests the budget
     * only until the request's estimate has refilled (200 more tokens: 2 s), not until the
     * bucket is full (the reset, 59 s): a continuously refilling bucket has room long before.
     */
    @Test
    void aToken429ThatReportsTheBucketHoldsRequestsOnlyUntilTheirEstimateHasRefilled()
    {
        KeyPool single = new KeyPool(List.of(new ApiKey("k0", "s0")), CooldownPolicy.DEFAULTS, clock);
        ApiKey key = single.keys().get(0);
        Rotation first = single.rotation(of("m", 300));
        assertEquals("k0", first.next().name());
        first.release();
        KeyFeedback.failed(single, key, "m", clock.instant(), 429, headers(
            "x-ratelimit-limit-tokens-minute", "6000", "x-ratelimit-remaining-tokens-minute", "100", "x-ratelimit-reset-tokens-minute", "59"),
            TOKENS_REFUSED);
        Rotation next = single.rotation(of("m", 300));
        assertNull(next.next(), "100 tokens left, the request needs 300");
        assertEquals(Duration.ofSeconds(2), next.untilAnUntriedKeyRecovers());
        clock.advance(Duration.ofMillis(1_999));
        assertNull(single.rotation(of("m", 300)).next());
        clock.advance(Duration.ofMillis(1));
        Rotation refilled = single.rotation(of("m", 300));
        assertEquals("k0", refilled.next().name(), "refilled: sent 57 s before the bucket is full");
        assertNull(single.rotation(of("m", 100)).next(), "and it holds what refilled while on its way");
    }

    /** Without the bucket's limit the pool cannot count its refill: the reset decides, as before. */
    @Test
    void aToken429WithoutTheLimitRestsUntilTheReset()
    {
        KeyPool single = new KeyPool(List.of(new ApiKey("k0", "s0")), CooldownPolicy.DEFAULTS, clock);
        KeyFeedback.failed(single, single.keys().get(0), "m", clock.instant(), 429, headers(
            "x-ratelimit-remaining-tokens-minute", "100", "x-ratelimit-reset-tokens-minute", "59"), TOKENS_REFUSED);
        clock.advance(Duration.ofSeconds(58));
        assertNull(single.rotation(of("m", 300)).next());
        clock.advance(Duration.ofSeconds(1));
        assertEquals("k0", single.rotation(of("m", 300)).next().name());
    }

    /** A served answer that leaves the bucket at 0 holds requests until their estimate refilled, not until it is full. */
    @Test
    void aServedAnswerThatEmptiesTheBucketHoldsRequestsOnlyUntilTheirEstimateHasRefilled()
    {
        KeyPool single = new KeyPool(List.of(new ApiKey("k0", "s0")), CooldownPolicy.DEFAULTS, clock);
        KeyFeedback.passing(single, single.keys().get(0), "m", clock.instant(), 200, headers(
            "x-ratelimit-limit-tokens-minute", "6000", "x-ratelimit-remaining-tokens-minute", "0", "x-ratelimit-reset-tokens-minute", "60"));
        assertNull(single.rotation(of("m", 300)).next());
        clock.advance(Duration.ofSeconds(3));
        assertEquals("k0", single.rotation(of("m", 300)).next().name());
    }
}
