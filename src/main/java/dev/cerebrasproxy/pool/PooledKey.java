package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.UnaryOperator;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One key of the pool and what the pool has learnt about it. Every change is one
 * compare-and-set of an immutable {@link KeyCondition}; the counters are adders. No
 * lock is taken, and requests on other keys never touch this key's memory.
 */
final class PooledKey
{
    private static final Logger LOG = LoggerFactory.getLogger(PooledKey.class);

    final ApiKey key;
    private final CooldownPolicy policy;
    private final AtomicReference<KeyCondition> condition = new AtomicReference<>(KeyCondition.FRESH);
    private final LongAdder requests = new LongAdder();
    private final LongAdder failures = new LongAdder();

    PooledKey(ApiKey key, CooldownPolicy policy)
    {
        this.key = key;
        this.policy = policy;
    }

    KeyCondition condition()
    {
        return condition.get();
    }

    /**
     * Claims the key for one upstream attempt if it may serve now. Of the requests that
     * find a quarantined key due for its re-check, exactly one wins it.
     */
    boolean tryTake(Instant now, Replicas replicas)
    {
        while (true)
        {
            KeyCondition current = condition.get();
            if (current.canServeAt(now))
                break;
            if (!current.isRecheckDueAt(now))
                return false;
            // Of the replicas too: one re-checks, the others wait as if one of their own requests did.
            Boolean turn = replicas.recheckTurn(key, current.until());
            if (turn == null)
                return false;
            KeyCondition probing = current.probingUntil(now.plus(policy.quarantineRecheck()));
            if (!turn)
            {
                condition.compareAndSet(current, probing);
                return false;
            }
            if (condition.compareAndSet(current, probing))
            {
                LOG.info("key {} is re-checked with one request after its quarantine ({})", key, current.lastError());
                break;
            }
        }
        requests.increment();
        return true;
    }

    /** Models upstream forbade this key (403), until when; the key serves other models meanwhile. */
    private final java.util.concurrent.ConcurrentMap<String, Instant> refusedModels = new java.util.concurrent.ConcurrentHashMap<>();

    void refusedFor(String model, Instant until, String reason)
    {
        failures.increment();
        if (refusedModels.put(model, until) == null)
            LOG.warn("key {} may not use model {} ({}); it serves other models, and is tried for this one again in {}",
                key, model, reason, CooldownPolicy.readable(policy.quarantineRecheck()));
    }

    boolean refusedAt(String model, Instant now)
    {
        if (model == null || refusedModels.isEmpty())
            return false;
        Instant until = refusedModels.get(model);
        if (until == null)
            return false;
        if (!now.isBefore(until))
        {
            refusedModels.remove(model, until);
            return false;
        }
        return true;
    }

    /** Whether the key itself (not its budgets) lets it serve now, or is due for its re-check. */
    boolean mayTakeAt(Instant now)
    {
        KeyCondition current = condition.get();
        return current.canServeAt(now) || current.isRecheckDueAt(now);
    }

    /** An answer counted against the key's budget (a 429): counted here too, for the key's record. */
    void countFailure()
    {
        failures.increment();
    }

    /** When the key last answered a request without complaint about itself, or null. */
    private volatile Instant lastServed;

    void served(Instant now)
    {
        lastServed = now;
        KeyCondition before = update(KeyCondition::served);
        if (before.state() == KeyState.QUARANTINED && before.probing())
            LOG.info("key {} passed its re-check and is back in rotation", key);
    }

    /** A 500: the key (or its shard) is failing; rest briefly. */
    void serverError(Instant now, String code)
    {
        failed(now, null, policy.serverError(), code);
    }

    /** Only 500s come here: rate limits are about the organization's budget (see Budget#rateLimited). */
    private void failed(Instant now, Duration announced, Duration firstGuess, String code)
    {
        failures.increment();
        update(c ->
        {
            if (!c.acceptsFailureNews())
                return c.withLastError(code);
            int strike = c.strikes() + 1;
            Duration rest = announced != null ? CooldownPolicy.trusted(announced) : policy.backoff(firstGuess, strike);
            return c.coolingUntil(now.plus(rest), code, strike);
        });
    }

    /** Upstream refused the key itself (invalid, unpaid, forbidden): out until a re-check passes. */
    void quarantine(Instant now, String reason)
    {
        failures.increment();
        KeyCondition before = update(c -> c.quarantinedUntil(now.plus(policy.quarantineRecheck()), reason));
        if (before.state() != KeyState.QUARANTINED)
            LOG.warn("key {} is quarantined: upstream refused it ({}); requests use the other keys, and one request re-checks it every {}",
                key, reason, CooldownPolicy.readable(policy.quarantineRecheck()));
        else if (before.probing())
            LOG.info("key {} failed its re-check ({}); it stays quarantined", key, reason);
    }

    /** Upstream had no capacity: not the key's fault, so only noted (and a re-check under way learnt nothing). */
    void busy(Instant now, String code)
    {
        failures.increment();
        inconclusive(now, code);
        update(c -> c.state() == KeyState.QUARANTINED ? c : c.withLastError(code));
    }

    /**
     * An attempt with this key ended without saying anything about the key (502, 503, 504,
     * refused, timed out, aborted). Only a re-check under way cares: it ends here, and the
     * key waits for the next one, so no request finds a key that is neither usable nor due.
     */
    void inconclusive(Instant now, String what)
    {
        KeyCondition before = update(c -> c.recheckInconclusive(now.plus(policy.quarantineRecheck())));
        if (before.state() == KeyState.QUARANTINED && before.probing())
            LOG.info("key {}: its re-check was inconclusive ({}); it stays quarantined and is re-checked again in {}",
                key, what, CooldownPolicy.readable(policy.quarantineRecheck()));
    }

    /** Whether the key answered some request without complaint about itself at or after {@code since}. */
    boolean servedSince(Instant since)
    {
        Instant served = lastServed;
        return served != null && !served.isBefore(since);
    }

    /** Another replica quarantined the key (or failed its re-check): out until {@code recheck} here too. */
    void heardQuarantine(Instant recheck, String reason)
    {
        KeyCondition before = update(c -> c.state() == KeyState.QUARANTINED && !c.probing() && recheck.equals(c.until()) ? c : c.quarantinedUntil(recheck, reason));
        if (before.state() != KeyState.QUARANTINED)
            LOG.warn("key {} is quarantined by another replica ({}); one replica re-checks it", key, reason);
    }

    /** Another replica's re-check passed. */
    void heardRecovered()
    {
        KeyCondition before = update(c -> c.state() == KeyState.QUARANTINED ? KeyCondition.FRESH.withLastError(c.lastError()) : c);
        if (before.state() == KeyState.QUARANTINED)
            LOG.info("key {} passed its re-check on another replica and is back in rotation", key);
    }

    void reset()
    {
        lastServed = null;
        condition.set(KeyCondition.FRESH);
        refusedModels.clear();
    }

    /**
     * The key's own state, or when it is itself in rotation, its organization's longest rest
     * (for some model): an operator reads "cooling" either way.
     */
    KeySnapshot snapshot(Instant now, Iterable<Budget> budgets)
    {
        KeyCondition c = condition.get();
        KeyState state = c.stateAt(now);
        if (state == KeyState.QUARANTINED)
            return new KeySnapshot(key.name(), key.organization(), state, c.until(), c.lastError(), requests.sum(), failures.sum());
        Budget longest = null;
        Instant until = state == KeyState.COOLING ? c.until() : null;
        for (Budget budget : budgets)
        {
            Instant rest = budget.restUntilAt(now);
            if (rest != null && (until == null || rest.isAfter(until)))
            {
                until = rest;
                longest = budget;
            }
        }
        String lastError = longest != null ? longest.lastError() : c.lastError();
        return new KeySnapshot(key.name(), key.organization(), until != null ? KeyState.COOLING : KeyState.AVAILABLE, until, lastError, requests.sum(), failures.sum());
    }

    /** @return the condition before the change */
    private KeyCondition update(UnaryOperator<KeyCondition> change)
    {
        while (true)
        {
            KeyCondition current = condition.get();
            KeyCondition next = change.apply(current);
            if (next == current || condition.compareAndSet(current, next))
                return current;
        }
    }
}
