package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ManualClock;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keys the operator did not declare together, found to share an organization from the
 * requests per day their served answers report: a conclusion only when the counts
 * interleave as one counter, never for organizations apart, however the answers are ordered.
 */
class SharedOrganizationsTest
{
    private static final String MODEL = "llama3.1-8b";

    private final ManualClock clock = new ManualClock();
    /** alpha and bravo are one organization at Cerebras, undeclared; charlie is its own. */
    private final KeyPool pool = new KeyPool(List.of(new ApiKey("alpha", "sk-alpha-SECRET-1"), new ApiKey("bravo", "sk-bravo-SECRET-2"),
        new ApiKey("charlie", "sk-charlie-SECRET-3")), CooldownPolicy.DEFAULTS, clock);

    private ApiKey key(String name)
    {
        return pool.keys().stream().filter(k -> k.name().equals(name)).findFirst().orElseThrow();
    }

    private String organizationOf(String name)
    {
        return pool.snapshot().stream().filter(k -> k.name().equals(name)).findFirst().orElseThrow().organization();
    }

    /** alpha and bravo take turns on their one counter, from 1000 down. */
    private void alternate(int answers)
    {
        long shared = 1000;
        for (int i = 0; i < answers; i++)
            pool.requestsLeftToday(key(i % 2 == 0 ? "alpha" : "bravo"), MODEL, --shared);
    }

    @Test
    void twoKeysWhoseCountsInterleaveAreTakenForOneOrganizationAndSaySo()
    {
        int mark = LogCapture.mark();
        // One counter at 1000 for alpha and bravo: each served request takes one off it.
        long shared = 1000;
        long charlie = 1000;
        for (int i = 0; i < 13; i++)
        {
            pool.requestsLeftToday(key(i % 2 == 0 ? "alpha" : "bravo"), MODEL, --shared);
            pool.requestsLeftToday(key("charlie"), MODEL, --charlie);
            clock.advance(Duration.ofSeconds(1));
        }
        // alpha 999 to 987 and bravo 998 to 988, every other one: where their runs overlap (988 to 998), alpha has five.
        assertEquals(List.of(), pool.sharedOrganizations(), "not before each has six values where the runs overlap");
        assertEquals("bravo", organizationOf("bravo"));
        pool.requestsLeftToday(key("bravo"), MODEL, --shared);
        List<SharedOrganization> found = pool.sharedOrganizations();
        assertEquals(1, found.size(), found.toString());
        SharedOrganization one = found.get(0);
        assertEquals("alpha", one.organization());
        assertEquals(List.of("alpha"), one.keys());
        assertEquals("bravo", one.joined());
        assertEquals(List.of("bravo"), one.joinedKeys());
        assertEquals(MODEL, one.model());
        assertEquals(12, one.interleaved());
        assertEquals(clock.instant(), one.at());
        assertEquals("alpha", organizationOf("bravo"));
        assertEquals("charlie", organizationOf("charlie"), "charlie counts alone");
        String log = LogCapture.since(mark);
        assertEquals(1, log.lines().filter(l -> l.contains("share one organization")).count(), log);
        assertTrue(log.contains("keys [bravo] and [alpha] share one organization"), log);
        assertFalse(log.contains("SECRET"), log);
    }

    @Test
    void oneOrganizationFoundRestsBothKeysOnA429()
    {
        alternate(14);
        pool.rateLimited(key("alpha"), MODEL, Duration.ofSeconds(30), "request_quota_exceeded");
        List<String> served = new ArrayList<>();
        for (int i = 0; i < 12; i++)
        {
            Rotation rotation = pool.rotation(new Demand(MODEL, 10));
            ApiKey next = rotation.next();
            rotation.release();
            served.add(next.name());
        }
        assertEquals(Collections.nCopies(12, "charlie"), served, "bravo's budget is alpha's: it rests too");
        assertTrue(pool.budgets().stream().noneMatch(b -> b.organization().equals("bravo")), "bravo's own budgets are gone: " + pool.budgets());
    }

    @Test
    void organizationsApartAreNeverJoinedHoweverTheirAnswersAreOrderedAndWhateverLeavesGaps()
    {
        Random random = new Random(11);
        long alpha = 1000;
        long bravo = 1000;
        List<long[]> answers = new ArrayList<>();
        for (int i = 0; i < 500; i++)
        {
            // Equal use from equal starts: the same values, in every order answers can overtake in.
            answers.add(new long[]{0, --alpha});
            answers.add(new long[]{1, --bravo});
            // Someone else uses bravo's organization now and then: gaps in its count.
            if (random.nextInt(4) == 0)
                --bravo;
        }
        Collections.shuffle(answers.subList(0, 500), random);
        for (long[] answer : answers)
            pool.requestsLeftToday(key(answer[0] == 0 ? "alpha" : "bravo"), MODEL, answer[1]);
        assertEquals(List.of(), pool.sharedOrganizations());
        assertEquals("bravo", organizationOf("bravo"));
    }

    @Test
    void answersOvertakingOneAnotherStillShowOneCounter()
    {
        List<long[]> answers = new ArrayList<>();
        long shared = 5000;
        for (int i = 0; i < 40; i++)
            answers.add(new long[]{i % 3 == 0 ? 1 : 0, --shared});
        Collections.shuffle(answers, new Random(3));
        for (long[] answer : answers)
            pool.requestsLeftToday(key(answer[0] == 0 ? "alpha" : "bravo"), MODEL, answer[1]);
        assertEquals("alpha", organizationOf("bravo"));
    }

    @Test
    void theSameValueReportedByBothMeansTwoCounters()
    {
        SharedOrganizations once = new SharedOrganizations();
        SharedOrganizations twice = new SharedOrganizations();
        for (long v = 99; v >= 87; v -= 2)
        {
            once.observe("a", MODEL, v, clock.instant());
            twice.observe("a", MODEL, v, clock.instant());
        }
        for (long v = 98; v >= 88; v -= 2)
        {
            once.observe("b", MODEL, v, clock.instant());
            twice.observe("b", MODEL, v, clock.instant());
        }
        assertNull(twice.observe("b", MODEL, 95, clock.instant()), "95 twice");
        assertNull(twice.observe("b", MODEL, 86, clock.instant()));
        assertEquals(List.of(), twice.conclusions());
        assertEquals("b", twice.resolve("b"));
        assertEquals("a", once.observe("b", MODEL, 86, clock.instant()).organization(), "the same counts without the 95 twice");
        assertEquals("a", once.resolve("b"));
    }

    @Test
    void anotherModelsCountsAreAnotherCounterAndADayResetStartsAfresh()
    {
        SharedOrganizations shared = new SharedOrganizations();
        for (long v = 99; v >= 87; v -= 2)
            shared.observe("a", MODEL, v, clock.instant());
        for (long v = 98; v >= 86; v -= 2)
            assertNull(shared.observe("b", "qwen-3-32b", v, clock.instant()), "other model: no evidence");
        // a's day starts again: its old values go, and b's run on the same model finds nothing to fill.
        for (long v : new long[]{14_399, 14_398, 14_397})
            shared.observe("a", MODEL, v, clock.instant());
        for (long v = 98; v >= 86; v -= 2)
            assertNull(shared.observe("b", MODEL, v, clock.instant()));
        assertEquals("b", shared.resolve("b"));
    }

    @Test
    void aResetForgetsWhatWasConcluded()
    {
        alternate(14);
        assertEquals("alpha", organizationOf("bravo"));
        pool.reset();
        assertEquals("bravo", organizationOf("bravo"));
        assertEquals(List.of(), pool.sharedOrganizations());
    }

    @Test
    void aReloadThatDeclaresTheOrganizationLeavesNothingToSay()
    {
        alternate(14);
        assertEquals(1, pool.sharedOrganizations().size());
        pool.reload(List.of(new ApiKey("alpha", "sk-alpha-SECRET-1", "org"), new ApiKey("bravo", "sk-bravo-SECRET-2", "org"),
            new ApiKey("charlie", "sk-charlie-SECRET-3")));
        assertEquals(List.of(), pool.sharedOrganizations(), "declared now: no key of organization bravo is left");
        assertEquals("org", organizationOf("bravo"));
    }

    @Test
    void aRestTheJoinedOrganizationWasInHoldsForTheOneItJoined()
    {
        pool.rateLimited(key("bravo"), MODEL, Duration.ofSeconds(30), "request_quota_exceeded");
        alternate(14);
        assertEquals("alpha", organizationOf("bravo"));
        Rotation rotation = pool.rotation(new Demand(MODEL, 10));
        assertEquals("charlie", rotation.next().name(), "alpha's budget is bravo's, which rests");
        rotation.release();
        clock.advance(Duration.ofSeconds(30));
        assertTrue(pool.budgets().stream().allMatch(b -> b.restUntil() == null));
    }
}
