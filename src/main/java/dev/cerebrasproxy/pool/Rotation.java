package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The keys one request may use. Not thread-safe: one request uses it for one attempt
 * at a time. It holds the reservation of the attempt under way on that attempt's budget
 * until {@link #release}.
 */
public final class Rotation
{
    private final KeyPool pool;
    private final PooledKey[] pooled;
    private final boolean[] tried;
    private final Demand demand;
    private final Budgets budgets;
    private final AtomicLong cursor;
    private int triedCount;
    private Budget reservedOn;
    /** The key {@link #next} gave last, or -1. */
    private int last = -1;
    /** When {@link #next} gave it, and what this replica's requests in flight held of its budget with it: what {@link #admission} asks. */
    private Instant lastTakenAt;
    private long lastReserved;

    /** @param pooled the keys of the generation the request started with */
    Rotation(KeyPool pool, PooledKey[] pooled, Budgets budgets, AtomicLong cursor, Demand demand)
    {
        this.pool = pool;
        this.pooled = pooled;
        this.tried = new boolean[pooled.length];
        this.budgets = budgets;
        this.cursor = cursor;
        this.demand = demand;
    }

    private Instant now()
    {
        return pool.now();
    }

    private Budget budgetOf(int index)
    {
        return budgets.of(pooled[index].key.organization(), demand.model());
    }

    /**
     * The key to try next: of the keys this request has not tried, whose key can serve
     * and whose budget fits the request's estimate, the one whose budget has the most
     * tokens left; among equals (keys of one organization, or budgets not reported yet)
     * the next in the shared round-robin order. Its budget holds the estimate reserved
     * until {@link #release}.
     *
     * @return the key, or null when no key this request has not tried can serve it now
     * (see {@link #untilAnUntriedKeyRecovers()}) or none is left
     */
    public ApiKey next()
    {
        release();
        int n = tried.length;
        if (triedCount == n)
            return null;
        boolean[] lost = null;
        while (true)
        {
            Instant now = now();
            // The round-robin slot: a slot whose key cannot serve passes to the next slot, so
            // a resting key's turns spread over all the others instead of its neighbour.
            int start = -1;
            for (int slot = 0; slot < n && start < 0; slot++)
            {
                int i = (int)Math.floorMod(cursor.getAndIncrement(), (long)n);
                if (eligible(i, lost, now))
                    start = i;
            }
            if (start < 0)
                start = (int)Math.floorMod(cursor.get(), (long)n); // others moved the cursor meanwhile: look at each key once
            int best = -1;
            long bestRoom = Long.MIN_VALUE;
            for (int step = 0; step < n; step++)
            {
                int i = (start + step) % n;
                if (!eligible(i, lost, now))
                    continue;
                long left = budgetOf(i).tokensLeft(now);
                long room = left < 0 ? Long.MAX_VALUE : left;
                if (room > bestRoom)
                {
                    best = i;
                    bestRoom = room;
                }
            }
            if (best < 0)
                return null;
            // Of the requests that find a quarantined key due, one wins its re-check.
            if (pooled[best].tryTake(now, pool.replicas()))
            {
                tried[best] = true;
                triedCount++;
                last = best;
                reservedOn = budgetOf(best);
                lastTakenAt = now;
                lastReserved = reservedOn.reserve(demand.estimate(), now);
                pool.replicas().reserved(reservedOn.organization, reservedOn.model, lastReserved, true);
                return pooled[best].key;
            }
            if (lost == null)
                lost = new boolean[n];
            lost[best] = true;
        }
    }

    private boolean eligible(int i, boolean[] lost, Instant now)
    {
        return !tried[i] && (lost == null || !lost[i]) && pooled[i].mayTakeAt(now) && !pooled[i].refusedAt(demand.model(), now)
            && budgetOf(i).fits(now, demand.estimate());
    }

    /**
     * The key {@link #next} gave last, once more, for an attempt that never reached upstream
     * (its connection failed before the request went out): nothing was asked of the key, so
     * it stays this request's to use, and its budget holds the estimate again.
     *
     * @return that key, or null if none was given
     */
    public ApiKey again()
    {
        release();
        if (last < 0)
            return null;
        reservedOn = budgetOf(last);
        pool.replicas().reserved(reservedOn.organization, reservedOn.model, reservedOn.reserve(demand.estimate(), now()), true);
        return pooled[last].key;
    }

    /**
     * Asks the other replicas whether the key {@link #next} just gave may go: one atomic
     * check-and-count of its budget's window and tokens across replicas ({@link Replicas#admit})
     * when the budget is near its limits as this replica sees it; elsewhere it goes at once
     * and is counted behind it ({@link Replicas#sent}). Alone, it is answered at once.
     *
     * @return completes with the answer: {@link #admitted} or {@link #refused} says which it was
     */
    public java.util.concurrent.CompletionStage<Admission> admission()
    {
        Budget budget = reservedOn;
        if (budget == null)
            return Replicas.ADMITTED;
        if (!budget.nearItsLimit(lastTakenAt))
        {
            // Far from its limits a round trip's worth of the others' attempts cannot fill it:
            // the attempt goes now (a Redis round trip per request cost about 0.2 ms), counted behind it.
            pool.replicas().sent(budget.organization, budget.model, lastTakenAt, budget.window(), lastReserved);
            return Replicas.ADMITTED;
        }
        return pool.replicas().admit(budget.organization, budget.model, lastTakenAt, budget.window(), budget.learntRequestLimit(), lastReserved);
    }

    /** The replicas admitted the key {@link #next} gave last: its budget keeps what they counted. */
    public void admitted(Admission admission)
    {
        if (reservedOn != null && admission.ticket() != null)
            reservedOn.admittedByReplicas(lastTakenAt, admission.sentBefore(), admission.ticket());
    }

    /**
     * The replicas together refused the key {@link #next} gave last ({@link #admission}):
     * nothing went upstream, so the key is this request's to try again, its budget forgets
     * the request and takes none until {@code until}.
     */
    public void refused(Instant until)
    {
        if (last < 0 || reservedOn == null)
            return;
        Budget budget = reservedOn;
        release();
        budget.refusedByReplicas(lastTakenAt, until);
        tried[last] = false;
        triedCount--;
    }

    /** The attempt under way has its answer (or none will come): its budget no longer holds its estimate. Idempotent. */
    public void release()
    {
        if (reservedOn != null)
            pool.replicas().reserved(reservedOn.organization, reservedOn.model, reservedOn.release(demand.estimate()), false);
        reservedOn = null;
    }

    /** Whether some key has not been tried by this request, resting or not. */
    public boolean hasUntriedKeys()
    {
        return triedCount < tried.length;
    }

    /**
     * How long until a key this request has not tried can serve it, or null if it
     * tried them all or none ever can (the estimate is above every budget's limit).
     */
    public Duration untilAnUntriedKeyRecovers()
    {
        return hasUntriedKeys() ? untilRecovery(true) : null;
    }

    /** How long until any key, tried by this request or not, can serve it; null if none ever can. */
    public Duration untilAnyKeyRecovers()
    {
        return untilRecovery(false);
    }

    private Duration untilRecovery(boolean untriedOnly)
    {
        Instant now = now();
        Instant soonest = null;
        for (int i = 0; i < pooled.length; i++)
        {
            if (untriedOnly && tried[i])
                continue;
            Budget budget = budgetOf(i);
            long limit = budget.tokenLimit();
            if (limit > 0 && demand.estimate() > limit)
                continue;
            Instant from = pooled[i].condition().usableFrom(now);
            Instant budgetFrom = budget.usableFrom(now, demand.estimate());
            if (budgetFrom.isAfter(from))
                from = budgetFrom;
            if (soonest == null || from.isBefore(soonest))
                soonest = from;
        }
        return soonest == null ? null : Duration.between(now, soonest.isBefore(now) ? now : soonest);
    }

    /**
     * The largest whole tokens-per-minute limit among the budgets this request could use,
     * when every one of them has reported its limit and the estimate is above all of them:
     * no budget can ever admit the request. Otherwise -1.
     */
    public long limitEveryBudgetIsBelow()
    {
        long largest = -1;
        for (int i = 0; i < pooled.length; i++)
        {
            long limit = budgetOf(i).tokenLimit();
            if (limit <= 0 || demand.estimate() <= limit)
                return -1;
            largest = Math.max(largest, limit);
        }
        return largest;
    }

    /** What keeps each key this request has not tried from serving it, as of now. */
    public List<KeyState> untriedStates()
    {
        Instant now = now();
        List<KeyState> untried = new ArrayList<>();
        for (int i = 0; i < tried.length; i++)
        {
            if (tried[i])
                continue;
            KeyState state = pooled[i].condition().stateAt(now);
            untried.add(state == KeyState.AVAILABLE && !budgetOf(i).fits(now, demand.estimate()) ? KeyState.COOLING : state);
        }
        return untried;
    }

    public int attempts()
    {
        return triedCount;
    }

    public Demand demand()
    {
        return demand;
    }
}
