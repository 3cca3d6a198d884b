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
        pool.heardReserved("o1", "m", "other", 600, 1);
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
        pool.heardRest("o1", "m", clock.instant().plusSeconds(30), "request_quota_exceeded", 2);
        assertEquals(clock.instant().plusSeconds(30), budget("o1", "m").restUntil());
        assertEquals(2, budget("o1", "m").learntRequestLimit());
        pool.heardRest("o1", "m", clock.instant().plusSeconds(5), "shorter", -1);
        assertEquals(clock.instant().plusSeconds(30), budget("o1", "m").restUntil(), "the longer rest wins");
        pool.heardRest("nobody-here", "m", clock.instant().plusSeconds(30), "x", -1);
        assertTrue(pool.budgets().stream().noneMatch(b -> b.organization().equals("nobody-here")), "news of an organization this pool has no key of adds nothing");
    }

    @Test
    void aHeardQuarantineAndRecoveryMoveTheKeyAndARecheckWaitsForItsTurn()
    {
        Instant due = clock.instant().plusSeconds(60);
        pool.heardQuarantine(key(0).digest(), due, "401 wrong_api_key");
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
        pool.heardRecovered(key(0).digest());
        assertEquals(KeyState.AVAILABLE, pool.snapshot().get(0).state());
        assertNull(pool.snapshot().get(0).until());
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
