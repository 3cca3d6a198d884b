package dev.cerebrasproxy.pool;

import java.time.Instant;

/**
 * The other replicas of this proxy, as the pool sees them: it tells them what it learnt
 * (each call returns at once; the news travels behind the request), and asks them whose
 * turn a quarantined key's re-check is. What they learnt comes back through the pool's
 * {@code heard*} methods. A pool alone ({@link #ALONE}) tells no one and always has the
 * turn, as before there were replicas.
 *
 * <p>Organizations and models go by their configured names, keys by {@link ApiKey#digest()}:
 * never a key's value.
 */
public interface Replicas
{
    Replicas ALONE = new Replicas()
    {
    };

    /** An (organization, model) budget rests until {@code until}; a learnt requests-per-minute limit, or -1. */
    default void rested(String organization, String model, Instant until, String why, int learntRequestLimit)
    {
    }

    /** An answer sent at {@code sentAt} reported the budget's tokens per minute (-1 for what it did not say). */
    default void tokensReported(String organization, String model, Instant sentAt, long limit, long remaining)
    {
    }

    /**
     * This replica's requests in flight on the budget now hold {@code reserved} tokens;
     * {@code sent} is true when the change is a request sent (it counts in the budget's window).
     */
    default void reserved(String organization, String model, long reserved, boolean sent)
    {
    }

    /** The key is quarantined until its next re-check at {@code recheck}. */
    default void quarantined(ApiKey key, Instant recheck, String reason)
    {
    }

    /** The key passed its re-check: back in rotation. */
    default void recovered(ApiKey key)
    {
    }

    /**
     * Whether this replica re-checks the key's quarantine due at {@code due}: true (take
     * it), false (another replica has this turn), or null (not known yet: pass the key over
     * for now, ask again with the next request).
     */
    default Boolean recheckTurn(ApiKey key, Instant due)
    {
        return Boolean.TRUE;
    }
}
