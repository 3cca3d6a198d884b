package dev.cerebrasproxy.access;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The default {@link ClientCounters}: this replica's memory, one small lock per client, so
 * one client's traffic never waits on another's. Counts are lost on restart, which at
 * worst hands a client a fresh minute and day. With Redis on, it is also each replica's
 * own view of the shared counts ({@link #mirror}), which it counts on alone while Redis
 * cannot be reached.
 */
public final class InMemoryClientCounters implements ClientCounters
{
    private static final class Counts
    {
        long minute = Long.MIN_VALUE;
        long requests;
        long minuteTokens;
        long day = Long.MIN_VALUE;
        long dayTokens;

        /** Forgets what belongs to windows that have passed. */
        void roll(long minuteNow, long dayNow)
        {
            if (minute != minuteNow)
            {
                minute = minuteNow;
                requests = 0;
                minuteTokens = 0;
            }
            if (day != dayNow)
            {
                day = dayNow;
                dayTokens = 0;
            }
        }

        Use use()
        {
            return new Use(requests, minuteTokens, dayTokens);
        }
    }

    private final ConcurrentMap<String, Counts> byClient = new ConcurrentHashMap<>();

    @Override
    public CompletionStage<Outcome> tryAdmit(String client, ClientLimits limits, long estimate, long minute, long day)
    {
        return CompletableFuture.completedFuture(admitNow(client, limits, estimate, minute, day));
    }

    /** {@link #tryAdmit}, answered on the caller's thread. */
    public Outcome admitNow(String client, ClientLimits limits, long estimate, long minute, long day)
    {
        Counts counts = byClient.computeIfAbsent(client, c -> new Counts());
        synchronized (counts)
        {
            counts.roll(minute, day);
            long tpd = limits.tokensPerDay();
            if (tpd != ClientLimits.UNLIMITED && counts.dayTokens >= tpd)
                return new Outcome(Over.TOKENS_PER_DAY, null, counts.use());
            long rpm = limits.requestsPerMinute();
            if (rpm != ClientLimits.UNLIMITED && counts.requests >= rpm)
                return new Outcome(Over.REQUESTS_PER_MINUTE, null, counts.use());
            long tpm = limits.tokensPerMinute();
            long held = 0;
            if (tpm != ClientLimits.UNLIMITED)
            {
                held = Math.min(Math.max(0, estimate), tpm);
                if (counts.minuteTokens >= tpm || counts.minuteTokens + held > tpm)
                    return new Outcome(Over.TOKENS_PER_MINUTE, null, counts.use());
            }
            counts.requests++;
            counts.minuteTokens += held;
            return new Outcome(null, new Reservation(minute, day, held), counts.use());
        }
    }

    @Override
    public CompletionStage<Void> settle(String client, Reservation reservation, long tokens, long minute, long day)
    {
        settleNow(client, reservation, tokens, minute, day);
        return CompletableFuture.completedFuture(null);
    }

    /** {@link #settle}, on the caller's thread. */
    public void settleNow(String client, Reservation reservation, long tokens, long minute, long day)
    {
        Counts counts = byClient.computeIfAbsent(client, c -> new Counts());
        synchronized (counts)
        {
            counts.roll(minute, day);
            if (reservation.minute() == minute)
                counts.minuteTokens = Math.max(0, counts.minuteTokens - reservation.tokens() + tokens);
            counts.dayTokens += Math.max(0, tokens);
        }
    }

    /**
     * The client's counts become those a shared store just reported for these windows, so
     * this replica's view is current, and it goes on from there should the store fail.
     */
    public void mirror(String client, Use shared, long minute, long day)
    {
        Counts counts = byClient.computeIfAbsent(client, c -> new Counts());
        synchronized (counts)
        {
            counts.roll(minute, day);
            counts.requests = shared.requestsThisMinute();
            counts.minuteTokens = shared.tokensThisMinute();
            counts.dayTokens = shared.tokensToday();
        }
    }

    @Override
    public Use use(String client, long minute, long day)
    {
        Counts counts = byClient.get(client);
        if (counts == null)
            return Use.NONE;
        synchronized (counts)
        {
            counts.roll(minute, day);
            return counts.use();
        }
    }
}
