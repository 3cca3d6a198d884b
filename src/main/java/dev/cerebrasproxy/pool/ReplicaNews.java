package dev.cerebrasproxy.pool;

import java.time.Instant;

/**
 * What the other replicas say, applied to this replica's {@link KeyPool}: each budget's
 * rests and learnt limit, token reports and what their requests in flight hold, and the
 * keys they quarantined or found recovered. What this replica learns itself goes the
 * other way, through {@link Replicas}.
 */
public final class ReplicaNews
{
    private final KeyPool pool;

    ReplicaNews(KeyPool pool)
    {
        this.pool = pool;
    }

    /** A budget's rest, and its learnt requests-per-minute limit (or -1). */
    public void heardRest(String organization, String model, Instant until, String why, int learntRequestLimit)
    {
        if (ours(organization))
            pool.budgetStates().of(organization, model).heardRest(pool.now(), until, why, learntRequestLimit);
    }

    /** A report of a budget's tokens per minute, from an attempt sent at {@code sentAt}. */
    public void heardTokens(String organization, String model, Instant sentAt, long limit, long remaining)
    {
        if (ours(organization))
        {
            // Refilled from when this replica heard it: upstream counted it before then.
            Instant now = pool.now();
            pool.budgetStates().of(organization, model).reportTokens(sentAt.isAfter(now) ? now : sentAt, now, limit, remaining);
        }
    }

    /** What a replica's requests in flight hold of a budget now, and how many it sent since it last said. */
    public void heardReserved(String organization, String model, String replica, long tokens, int sends)
    {
        if (ours(organization))
            pool.budgetStates().of(organization, model).heardReserved(replica, tokens, sends, pool.now());
    }

    /** A replica quarantined the key with this digest until its next re-check. */
    public void heardQuarantine(String digest, Instant recheck, String reason)
    {
        for (PooledKey pooled : pool.pooled())
        {
            if (pooled.key.digest().equals(digest))
                pooled.heardQuarantine(recheck, reason);
        }
    }

    /** A replica's re-check of the key with this digest passed. */
    public void heardRecovered(String digest)
    {
        for (PooledKey pooled : pool.pooled())
        {
            if (pooled.key.digest().equals(digest))
                pooled.heardRecovered();
        }
    }

    /** The other replicas are out of reach: what their requests in flight held is forgotten. */
    public void forgetOthers()
    {
        for (Budget budget : pool.budgetStates().all())
            budget.forgetOthers();
    }

    /** News of an organization none of this replica's keys belongs to would only add budgets no request uses. */
    private boolean ours(String organization)
    {
        for (ApiKey key : pool.keys())
        {
            if (key.organization().equals(organization))
                return true;
        }
        return false;
    }
}
