package dev.cerebrasproxy.pool;

import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The other replicas of this proxy, as the pool sees them: it tells them what it learnt
 * (each call returns at once; the news travels behind the request), and asks them whose
 * turn a quarantined key's re-check is. What they learnt comes back through
 * {@link ReplicaNews}. A pool alone ({@link #ALONE}) tells no one and always has the
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

    /**
     * Whether an attempt the pool chose may go, checked and counted against what every
     * replica sent and holds in one atomic step: the budget's requests in the last
     * {@code window} against {@code requestLimit} (its learnt limit, or -1), and its
     * reported tokens, refilled since, against every replica's holds, {@code reserved}
     * being this replica's with the attempt's estimate in it; and whether a replica rests
     * the budget. Completes with the answer (an admitted attempt counts for the others).
     * Never fails: a replica that cannot ask admits by its own view ({@link Admission#GO}).
     */
    default CompletionStage<Admission> admit(String organization, String model, Instant now, java.time.Duration window, int requestLimit, long reserved)
    {
        return ADMITTED;
    }

    /**
     * An attempt that goes without {@link #admit}'s check (its budget is far from its
     * limits): it counts in the others' window and holds all the same, behind the request.
     */
    default void sent(String organization, String model, Instant now, java.time.Duration window, long reserved)
    {
    }

    /** {@link #admit}'s answer when nothing else is asked: go. */
    CompletionStage<Admission> ADMITTED = CompletableFuture.completedFuture(Admission.GO);

    /** Upstream refused an admitted attempt with a request 429: it counts in no replica's window. */
    default void notCounted(String organization, String model, String ticket)
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
