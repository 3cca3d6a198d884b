package dev.cerebrasproxy.access;

import java.time.Duration;
import java.util.Map;

import dev.cerebrasproxy.support.ManualClock;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The rules of {@link Clients} over the in-memory counters (whose verdicts are there at once), without HTTP, on a manual clock. */
class ClientsTest
{
    private final ManualClock clock = new ManualClock();

    private Clients clients(ClientLimits limits)
    {
        return new Clients(ClientTokens.of(Map.of("ci", "tok-ci-SECRET-1"), Map.of("ci", limits)), new InMemoryClientCounters(), clock);
    }

    private static ClientLimits tokensPerMinute(long limit)
    {
        return new ClientLimits(ClientLimits.UNLIMITED, limit, ClientLimits.UNLIMITED, null);
    }

    @Test
    void anEstimateLargerThanTheWholeMinuteIsAdmittedIntoAnEmptyMinuteOnly()
    {
        Clients clients = clients(tokensPerMinute(100));
        Clients.Verdict big = clients.admit("ci", tokensPerMinute(100), null, 5_000).toCompletableFuture().join();
        assertNull(big.refusal(), "never admitting it would be no limit but a ban");
        assertEquals(Clients.Refusal.TOKENS_PER_MINUTE, clients.admit("ci", tokensPerMinute(100), null, 1).toCompletableFuture().join().refusal());
        clients.settle("ci", big.reservation(), 30);
        assertNull(clients.admit("ci", tokensPerMinute(100), null, 70).toCompletableFuture().join().refusal(), "settled at 30, 70 fit");
    }

    @Test
    void anAnswerSettledInALaterMinuteLeavesThatMinuteAloneButCountsForTheDay()
    {
        ClientLimits limits = new ClientLimits(ClientLimits.UNLIMITED, 100, 1_000, null);
        Clients clients = clients(limits);
        Clients.Verdict early = clients.admit("ci", limits, null, 90).toCompletableFuture().join();
        clock.advance(Duration.ofSeconds(61));
        clients.settle("ci", early.reservation(), 400);
        ClientCounters.Use use = clients.standings().get(0).use();
        assertEquals(0, use.tokensThisMinute(), "the 400 belong to the minute that passed");
        assertEquals(400, use.tokensToday());
    }

    @Test
    void zeroIsALimitAndUnlimitedClientsHoldNothing()
    {
        ClientLimits none = new ClientLimits(0, ClientLimits.UNLIMITED, ClientLimits.UNLIMITED, null);
        assertEquals(Clients.Refusal.REQUESTS_PER_MINUTE, clients(none).admit("ci", none, null, 0).toCompletableFuture().join().refusal());
        ClientLimits noTokens = tokensPerMinute(0);
        assertEquals(Clients.Refusal.TOKENS_PER_MINUTE, clients(noTokens).admit("ci", noTokens, null, 0).toCompletableFuture().join().refusal());
        Clients.Verdict free = clients(ClientLimits.NONE).admit("ci", ClientLimits.NONE, "any", 1_000_000).toCompletableFuture().join();
        assertNull(free.refusal());
        assertNull(free.reservation());
        assertEquals(0, free.headers().length);
    }

    @Test
    void theWindowsAreTheUtcMinuteAndDay()
    {
        clock.advance(Duration.ofHours(5).plusSeconds(30));
        ClientLimits limits = new ClientLimits(1, ClientLimits.UNLIMITED, 0, null);
        Clients clients = clients(limits);
        Clients.Verdict refused = clients.admit("ci", limits, null, 0).toCompletableFuture().join();
        assertEquals(Clients.Refusal.TOKENS_PER_DAY, refused.refusal(), "a spent day is said first: waiting a minute would not help");
        assertEquals(Duration.ofHours(19).minusSeconds(30), refused.retryAfter());
        ClientLimits perMinute = new ClientLimits(1, ClientLimits.UNLIMITED, ClientLimits.UNLIMITED, null);
        Clients minute = clients(perMinute);
        minute.admit("ci", perMinute, null, 0).toCompletableFuture().join();
        assertEquals(Duration.ofSeconds(30), minute.admit("ci", perMinute, null, 0).toCompletableFuture().join().retryAfter());
    }
}
