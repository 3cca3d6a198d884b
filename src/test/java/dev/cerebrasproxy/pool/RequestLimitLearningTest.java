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
        pool.rateLimited(send(), "m", null, "request_quota_exceeded");
        clock.advance(Duration.ofSeconds(5));
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

    /** Sends {@code count} requests one second apart; all must go. */
    private void sendEverySecond(int count)
    {
        for (int i = 0; i < count; i++)
        {
            assertNotNull(send(), "request " + i);
            clock.advance(Duration.ofSeconds(1));
        }
    }

    @Test
    void aRecoveryUpstreamAnnouncedIsHonouredThoughTheLearntWindowLastsLonger()
    {
        sendEverySecond(3);
        pool.rateLimited(send(), "m", Duration.ofSeconds(2), "request_quota_exceeded");
        assertEquals(3, pool.budgets().get(0).learntRequestLimit());
        Rotation waiting = pool.rotation(demand);
        assertNull(waiting.next());
        assertEquals(Duration.ofSeconds(2), waiting.untilAnUntriedKeyRecovers(), "upstream's word, not the 57 s until the first request is a minute old");
        clock.advance(Duration.ofSeconds(2));
        // Upstream's window began again: the pool paces the new one at what it learnt.
        for (int i = 0; i < 3; i++)
            assertNotNull(send(), "request " + i + " of the new window");
        assertNull(send(), "the fourth within the minute");
    }

    @Test
    void a429HandledLateLearnsFromTheMinuteBeforeItsAttemptWasSent()
    {
        assertNotNull(send());
        clock.advance(Duration.ofSeconds(30));
        assertNotNull(send());
        clock.advance(Duration.ofSeconds(29));
        java.time.Instant sentAt = clock.instant();
        ApiKey refused = send();
        // Handled 6 s later: the first request is then more than a minute old, but it was in upstream's window.
        clock.advance(Duration.ofSeconds(6));
        pool.rateLimited(refused, "m", sentAt, null, "request_quota_exceeded");
        assertEquals(2, pool.budgets().get(0).learntRequestLimit());
    }

    /** Sends as fast as the pool lets, one request a second, for {@code seconds}; how many went. */
    private int sendForSeconds(int seconds)
    {
        int went = 0;
        for (int i = 0; i < seconds; i++)
        {
            if (send() != null)
                went++;
            clock.advance(Duration.ofSeconds(1));
        }
        return went;
    }

    private int learnt()
    {
        return pool.budgets().get(0).learntRequestLimit();
    }

    /**
     * The first try comes after one window: a limit learnt one short (an answer reordered
     * past the refused one) would otherwise cost a request in every window of a 4-window
     * interval, which the capacity run measured as answers coming after it.
     */
    @Test
    void aLearntLimitIsTriedOneHigherAfterOneWindowThenFasterWhileNo429ComesAndLessOftenAfterOne()
    {
        sendEverySecond(8);
        pool.rateLimited(send(), "m", null, "request_quota_exceeded");
        assertEquals(8, learnt());
        assertEquals(8, sendForSeconds(60), "one window held at 8 by the pool, no 429");
        assertEquals(8, learnt());
        sendForSeconds(1);
        assertEquals(9, learnt(), "one more, after one window");
        sendForSeconds(60);
        assertEquals(11, learnt(), "a window without a 429 at 9: two more");
        // The try meets upstream's limit: what the window held before the refused one, and the next try waits two windows.
        ApiKey refused = send();
        assertNotNull(refused);
        pool.rateLimited(refused, "m", null, "request_quota_exceeded");
        assertEquals(9, learnt());
        sendForSeconds(2 * 60 - 1);
        assertEquals(9, learnt());
        sendForSeconds(2);
        assertEquals(10, learnt());
    }

    @Test
    void aLearntLimitThatHoldsNothingBackIsNotRaised()
    {
        sendEverySecond(8);
        pool.rateLimited(send(), "m", null, "request_quota_exceeded");
        clock.advance(Duration.ofSeconds(60));
        for (int i = 0; i < 5; i++)
        {
            sendEverySecond(4);
            clock.advance(Duration.ofSeconds(56));
        }
        assertEquals(8, pool.budgets().get(0).learntRequestLimit());
    }

    @Test
    void a429OfAnAttemptOnItsWayWhenTheLimitWasLearntCanOnlyLowerIt()
    {
        sendEverySecond(3);
        java.time.Instant firstRefusedAt = clock.instant();
        ApiKey first = send();
        clock.advance(Duration.ofSeconds(1));
        // No limit known yet: one more goes out, and then a third, all into the same full window.
        assertNotNull(send());
        clock.advance(Duration.ofSeconds(1));
        java.time.Instant secondRefusedAt = clock.instant();
        ApiKey second = send();
        clock.advance(Duration.ofSeconds(1));
        pool.rateLimited(first, "m", firstRefusedAt, null, "request_quota_exceeded");
        assertEquals(3, learnt());
        pool.rateLimited(second, "m", secondRefusedAt, null, "request_quota_exceeded");
        assertEquals(3, learnt(), "the window before the second held 4 sends, one of them refused upstream too");
    }

    /**
     * A sliding count against upstream's windows (and other replicas' sends heard late)
     * can hold more than upstream counted when it refused: a 429 then must not teach a
     * limit above the one that held.
     */
    @Test
    void a429NeverRaisesALearntLimitAndARefusedTryGoesBackToWhatHeldBeforeIt()
    {
        sendEverySecond(3);
        pool.rateLimited(send(), "m", null, "request_quota_exceeded");
        assertEquals(3, learnt());
        sendForSeconds(61);
        assertEquals(4, learnt(), "tried one higher");
        // Other replicas' sends, heard just now, fill this replica's count past 4; the try meets a 429.
        pool.news().heardReserved(pool.keys().get(0).organization(), "m", "other", 0, 6);
        pool.rateLimited(pool.keys().get(0), "m", null, "request_quota_exceeded");
        assertEquals(3, learnt(), "the try of 4 met a 429: back to the 3 that held, not the 8 or so counted");
    }
}
