package dev.cerebrasproxy.pool;

import java.time.Instant;

/**
 * What the pool knows about one key at one moment. Immutable: a key changes state by
 * swapping one condition for the next in a single compare-and-set, so concurrent
 * requests never see half a change and never need a lock.
 *
 * <p>A cooling key whose time has come is simply available again; nothing has to wake
 * up to release it.
 *
 * @param until for COOLING, when the key may serve again; for QUARANTINED, when it is
 * re-checked next; null for AVAILABLE
 * @param strikes failures in a row, which make the guessed cooldowns grow
 * @param probing for QUARANTINED: one request is re-checking the key right now, and
 * {@code until} is when that re-check counts as lost (a request that never reported back
 * must not keep the key out for ever: past it, the next request re-checks)
 */
record KeyCondition(KeyState state, Instant until, String lastError, int strikes, boolean probing)
{
    static final KeyCondition FRESH = new KeyCondition(KeyState.AVAILABLE, null, null, 0, false);

    boolean canServeAt(Instant now)
    {
        return state == KeyState.AVAILABLE || (state == KeyState.COOLING && !now.isBefore(until));
    }

    boolean isRecheckDueAt(Instant now)
    {
        return state == KeyState.QUARANTINED && !now.isBefore(until);
    }

    KeyState stateAt(Instant now)
    {
        return canServeAt(now) ? KeyState.AVAILABLE : state;
    }

    /** When this key can next be used: now if it can serve or is due a re-check. */
    Instant usableFrom(Instant now)
    {
        // Never in the past, whatever the state: a wait computed from it is never negative.
        if (canServeAt(now) || isRecheckDueAt(now) || until == null || until.isBefore(now))
            return now;
        return until;
    }

    /** A request has taken a quarantined key to re-check it; others wait for the next re-check. */
    KeyCondition probingUntil(Instant nextRecheck)
    {
        return new KeyCondition(KeyState.QUARANTINED, nextRecheck, lastError, strikes, true);
    }

    /** Out of rotation until {@code until} (or later, if it was already resting longer). */
    KeyCondition coolingUntil(Instant until, String error, int newStrikes)
    {
        Instant later = state == KeyState.COOLING && this.until.isAfter(until) ? this.until : until;
        return new KeyCondition(KeyState.COOLING, later, error, newStrikes, false);
    }

    KeyCondition quarantinedUntil(Instant recheck, String error)
    {
        return new KeyCondition(KeyState.QUARANTINED, recheck, error, strikes + 1, false);
    }

    /** The key answered well: strikes are forgiven and a re-check is passed. */
    KeyCondition served()
    {
        if (state == KeyState.QUARANTINED)
            return probing ? new KeyCondition(KeyState.AVAILABLE, null, lastError, 0, false) : this;
        return strikes == 0 ? this : new KeyCondition(state, until, lastError, 0, false);
    }

    /**
     * The re-check under way got an answer that says nothing about the key (502, 503, 504,
     * refused, timed out, Cerebras busy): the key stays quarantined and the next re-check
     * is at {@code nextRecheck}. Anything but a re-check is left as it is.
     */
    KeyCondition recheckInconclusive(Instant nextRecheck)
    {
        if (state != KeyState.QUARANTINED || !probing)
            return this;
        // lastError keeps the refusal that quarantined the key: that is still what is known of it.
        return new KeyCondition(KeyState.QUARANTINED, nextRecheck, lastError, strikes, false);
    }

    KeyCondition withLastError(String error)
    {
        return new KeyCondition(state, until, error, strikes, probing);
    }

    /**
     * Whether news of a failure may change this key's state. A quarantined key stays
     * quarantined on a late answer from before its quarantine; only its re-check decides.
     */
    boolean acceptsFailureNews()
    {
        return state != KeyState.QUARANTINED || probing;
    }
}
