package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import dev.cerebrasproxy.support.ManualClock;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pool's seam to the other replicas, without Redis: what it tells them, what it makes
 * of what they tell it, and whose turn a re-check is.
 */
class ReplicasTest
{
    private final ManualClock clock = new ManualClock();
    private final KeyPool pool = new KeyPool(List.of(new ApiKey("k0", "s0-SECRET-a", "o1"), new ApiKey("k1", "s1-SECRET-b")), CooldownPolicy.DEFAULTS, clock);
    private final List<String> told = new ArrayList<>();

    private ApiKey key(int i)
    {
        return pool.keys().get(i);
    }

    private BudgetSnapshot budget(String organization, String model)
    {
        return pool.budgets().stream().filter(b -> b.organization().equals(organization) && b.model().equals(model)).findFirst().orElseThrow();
    }

    private void record()
    {
        pool.share(new Replicas()
        {
            @Override
            public void rested(String organization, String model, Instant until, String why, int learnt)
            {
                told.add("rested " + organization + "/" + model + " " + Duration.between(clock.instant(), until).toSeconds() + "s " + why);
            }

            @Override
            public void reserved(String organization, String model, long reserved, boolean sent)
            {
                told.add("reserved " + organization + "/" + model + " " + reserved + (sent ? " sent" : ""));
            }

            @Override
            public void quarantined(ApiKey key, Instant recheck, String reason)
            {
                told.add("quarantined " + key.digest() + " " + reason);
            }

            @Override
            public void recovered(ApiKey key)
            {
                told.add("recovered " + key.digest());
            }
        });
    }

    @Test
    void thePoolTellsTheOthersWhatItLearnsByNamesAndDigestsOnly()
    {
        record();
        Rotation rotation = pool.rotation(new Demand("m", 100));
        ApiKey first = rotation.next();
        rotation.release();
        pool.rateLimited(key(0), "m", Duration.ofSeconds(7), "token_quota_exceeded");
        pool.quarantine(key(1), "401 wrong_api_key");
        assertEquals(List.of("reserved " + first.organization() + "/m 100 sent", "reserved " + first.organization() + "/m 0",
            "rested o1/m 7s token_quota_exceeded", "quarantined " + key(1).digest() + " 401 wrong_api_key"), told);
        assertFalse(String.join("\n", told).contains("SECRET"));
        assertEquals(32, key(1).digest().length());
    }

    @Test
    void anotherReplicasReservationsCountUntilItHasSaidNothingForAWindow()
    {
        pool.tokensReported(key(0), "m", 1000, 1000);
        pool.news().heardReserved("o1", "m", "other", 600, 1);
        assertEquals(400, budget("o1", "m").tokensLeft());
        Rotation rotation = pool.rotation(new Demand("m", 500));
        assertEquals("k1", rotation.next().name(), "o1 cannot take 500 while the other replica holds 600 of its 1000");
        rotation.release();
        // A replica that crashed repeats nothing: its hold goes after a window.
        clock.advance(Duration.ofMinutes(1).plusMillis(1));
        pool.tokensReported(key(0), "m", 1000, 1000);
        assertEquals(1000, budget("o1", "m").tokensLeft());
    }

    @Test
    void aHeardRestRestsTheBudgetAndItsLearntLimitPacesThisReplica()
    {
        pool.news().heardRest("o1", "m", clock.instant().plusSeconds(30), "request_quota_exceeded", 2);
        assertEquals(clock.instant().plusSeconds(30), budget("o1", "m").restUntil());
        assertEquals(2, budget("o1", "m").learntRequestLimit());
        pool.news().heardRest("o1", "m", clock.instant().plusSeconds(5), "shorter", -1);
        assertEquals(clock.instant().plusSeconds(30), budget("o1", "m").restUntil(), "the longer rest wins");
        pool.news().heardRest("nobody-here", "m", clock.instant().plusSeconds(30), "x", -1);
        assertTrue(pool.budgets().stream().noneMatch(b -> b.organization().equals("nobody-here")), "news of an organization this pool has no key of adds nothing");
    }

    @Test
    void aHeardQuarantineAndRecoveryMoveTheKeyAndARecheckWaitsForItsTurn()
    {
        Instant due = clock.instant().plusSeconds(60);
        pool.news().heardQuarantine(key(0).digest(), due, "401 wrong_api_key");
        assertEquals(KeyState.QUARANTINED, pool.snapshot().get(0).state());
        List<Boolean> answers = new ArrayList<>();
        Boolean[] turn = {null};
        pool.share(new Replicas()
        {
            @Override
            public Boolean recheckTurn(ApiKey key, Instant asked)
            {
                answers.add(turn[0]);
                return turn[0];
            }
        });
        clock.advance(Duration.ofSeconds(60));
        assertEquals("k1", firstKey(), "not known yet whose turn: the key is passed over");
        turn[0] = Boolean.FALSE;
        assertEquals("k1", firstKey(), "another replica's turn");
        int asked = answers.size();
        assertEquals("k1", firstKey(), "and this replica waits as for a re-check of its own");
        assertEquals(asked, answers.size(), "without asking again");
        pool.news().heardRecovered(key(0).digest());
        assertEquals(KeyState.AVAILABLE, pool.snapshot().get(0).state());
        assertNull(pool.snapshot().get(0).until());
    }

    @Test
    void anAttemptTheReplicasRefuseIsNotSentAndItsBudgetWaitsUntilTheyHaveRoom()
    {
        List<String> asked = new ArrayList<>();
        Instant room = clock.instant().plusSeconds(4);
        pool.share(new Replicas()
        {
            @Override
            public java.util.concurrent.CompletionStage<Admission> admit(String organization, String model, Instant now, Duration window, int limit, long reserved)
            {
                asked.add(organization + "/" + model + " " + reserved + " at " + Duration.between(clock.instant(), now).toMillis() + " per " + window.toSeconds() + "s");
                return java.util.concurrent.CompletableFuture.completedFuture(organization.equals("o1") ? Admission.refusedUntil(room) : Admission.GO);
            }
        });
        // Only o1 fits the request's estimate, near its limit (300 of 1000 left): the pool picks it and asks, the replicas refuse it.
        pool.tokensReported(key(1), "m", 1000, 0);
        pool.tokensReported(key(0), "m", 1000, 300);
        Rotation rotation = pool.rotation(new Demand("m", 100));
        assertEquals("k0", rotation.next().name());
        assertEquals(room, rotation.admission().toCompletableFuture().getNow(null).roomAt());
        assertEquals(List.of("o1/m 100 at 0 per 60s"), asked, "by names and numbers, with the attempt's estimate held");
        rotation.refused(room);
        assertEquals(0, rotation.attempts(), "nothing went upstream");
        assertEquals(0, budget("o1", "m").inFlight(), "its estimate is held no more");
        assertNull(rotation.next(), "o1 takes nothing until the replicas have room, and k1's budget is empty");
        assertEquals(Duration.ofSeconds(4), rotation.untilAnUntriedKeyRecovers(), "the request may wait for o1's room");
        clock.advance(Duration.ofSeconds(4));
        assertEquals("k0", rotation.next().name(), "the key is the request's to try again");
        assertEquals(1, rotation.attempts());
    }

    @Test
    void anAttemptFarFromItsBudgetsLimitsGoesAtOnceAndIsCountedBehindItNearThemItWaitsForTheCheck()
    {
        List<String> calls = new ArrayList<>();
        pool.share(new Replicas()
        {
            @Override
            public java.util.concurrent.CompletionStage<Admission> admit(String organization, String model, Instant now, Duration window, int limit, long reserved)
            {
                calls.add("admit " + reserved);
                return new java.util.concurrent.CompletableFuture<>();
            }

            @Override
            public void sent(String organization, String model, Instant now, Duration window, long reserved)
            {
                calls.add("sent " + reserved);
            }
        });
        pool.tokensReported(key(0), "m", 1000, 1000);
        pool.tokensReported(key(1), "m", 1000, 1000);
        Rotation far = pool.rotation(new Demand("m", 100));
        far.next();
        assertTrue(far.admission().toCompletableFuture().isDone(), "900 of 1000 left after it: no wait");
        Rotation near = pool.rotation(new Demand("m", 800));
        near.next();
        assertFalse(near.admission().toCompletableFuture().isDone(), "200 left after it (the last quarter): it waits for the check");
        assertEquals(List.of("sent 100", "admit 800"), calls);
    }

    @Test
    void aRequest429ForAnAttemptTheReplicasCountedLearnsTheirCountAndTakesItOutOfTheirWindow()
    {
        List<String> uncounted = new ArrayList<>();
        pool.share(new Replicas()
        {
            @Override
            public java.util.concurrent.CompletionStage<Admission> admit(String organization, String model, Instant now, Duration window, int limit, long reserved)
            {
                // The other replicas sent 4 into the window this replica has sent nothing into.
                return java.util.concurrent.CompletableFuture.completedFuture(new Admission(null, 4, "r1:7"));
            }

            @Override
            public void notCounted(String organization, String model, String ticket)
            {
                uncounted.add(organization + "/" + model + " " + ticket);
            }
        });
        // Both budgets near their limits: the attempt waits for the replicas' check.
        pool.tokensReported(key(0), "m", 1000, 100);
        pool.tokensReported(key(1), "m", 1000, 100);
        Rotation rotation = pool.rotation(new Demand("m", 10));
        ApiKey key = rotation.next();
        rotation.admitted(rotation.admission().toCompletableFuture().join());
        rotation.release();
        pool.rateLimited(key, "m", null, "request_quota_exceeded");
        assertEquals(4, budget(key.organization(), "m").learntRequestLimit(), "what every replica sent before it, not this replica's 0");
        assertEquals(List.of(key.organization() + "/m r1:7"), uncounted);
    }

    @Test
    void aLimitAnotherReplicaLearntTimesThisReplicasNextTryFromWhenItWasHeard()
    {
        KeyPool alone = new KeyPool(List.of(new ApiKey("k0", "s0-SECRET-a", "o1")), CooldownPolicy.DEFAULTS, clock);
        Demand demand = new Demand("m", 10);
        for (int i = 0; i < 3; i++)
        {
            sendOne(alone, demand);
            clock.advance(Duration.ofSeconds(1));
        }
        Rotation refused = alone.rotation(demand);
        ApiKey key = refused.next();
        refused.release();
        alone.rateLimited(key, "m", null, "request_quota_exceeded");
        assertEquals(3, alone.budgets().get(0).learntRequestLimit());
        // Another replica's try at 4 met upstream's limit 55 s later.
        clock.advance(Duration.ofSeconds(55));
        alone.news().heardRest("o1", "m", clock.instant().plusSeconds(5), "request_quota_exceeded", 3);
        for (int i = 0; i < 60; i++)
        {
            sendOne(alone, demand);
            clock.advance(Duration.ofSeconds(1));
        }
        assertEquals(3, alone.budgets().get(0).learntRequestLimit(), "no try of its own a window after its own 429: the other's answered it");
        for (int i = 0; i < 60; i++)
        {
            sendOne(alone, demand);
            clock.advance(Duration.ofSeconds(1));
        }
        assertEquals(4, alone.budgets().get(0).learntRequestLimit(), "the next try, two windows after the other's 429");
    }

    private static void sendOne(KeyPool pool, Demand demand)
    {
        Rotation rotation = pool.rotation(demand);
        rotation.next();
        rotation.release();
    }

    /** The key a fresh rotation takes first, when k1 is the only other key. */
    private String firstKey()
    {
        Rotation rotation = pool.rotation();
        String name = null;
        for (ApiKey key = rotation.next(); key != null; key = rotation.next())
        {
            if (name == null)
                name = key.name();
            if (key.name().equals("k0"))
                return "k0";
        }
        return name;
    }
}
