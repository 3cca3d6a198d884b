package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The pool of API keys, the order in which requests use them, and what upstream has
 * said about each. It knows nothing of HTTP: callers ask for a {@link Rotation} per
 * client request and take keys from it until one serves, and tell the pool what each
 * attempt taught ({@link #rateLimited}, {@link #serverError}, {@link #quarantine}, ...).
 * The pool decides from that which keys stay in rotation, and for how long.
 *
 * <p>Every key choice, first attempt or retry, takes the next slot of one shared
 * round-robin cursor; a slot that points at a key which cannot serve now (cooling,
 * quarantined) or which this request has met already is passed over by taking the next
 * slot. The keys that can serve therefore share the load evenly, and a resting key's
 * turns spread over all of them instead of landing on its neighbour. A rotation
 * remembers which keys its request has met, so each request tries every key at most
 * once, however many other requests move the cursor meanwhile.
 *
 * <p>The keys can be replaced while requests run ({@link #reload}): the pool holds one
 * immutable {@link Generation} of keys and swaps it in one write. A rotation keeps the
 * generation it started with, so a request in flight never sees the key list change
 * under it; news about a key that has left the pool since is dropped.
 *
 * <p>Time comes from the injected clock, so tests move it instead of sleeping.
 */
public final class KeyPool
{
    /** The keys at one moment and what is known about each, never changed once built. */
    private record Generation(List<ApiKey> keys, PooledKey[] pooled)
    {
    }

    private final CooldownPolicy policy;
    private final InstantSource clock;
    private final AtomicLong cursor = new AtomicLong();
    private volatile Generation generation;

    public KeyPool(List<ApiKey> keys)
    {
        this(keys, CooldownPolicy.DEFAULTS, InstantSource.system());
    }

    public KeyPool(List<ApiKey> keys, CooldownPolicy policy, InstantSource clock)
    {
        this.policy = policy;
        this.clock = clock;
        this.generation = generationOf(keys, new PooledKey[0]);
    }

    private Generation generationOf(List<ApiKey> keys, PooledKey[] previous)
    {
        if (keys.isEmpty())
            throw new IllegalArgumentException("a key pool needs at least one key");
        PooledKey[] pooled = new PooledKey[keys.size()];
        for (int i = 0; i < pooled.length; i++)
        {
            ApiKey key = keys.get(i);
            pooled[i] = Arrays.stream(previous).filter(old -> old.key.sameAs(key)).findFirst().orElseGet(() -> new PooledKey(key, policy));
        }
        return new Generation(Arrays.stream(pooled).map(each -> each.key).toList(), pooled);
    }

    /**
     * Makes these the pool's keys from now on. A key that was in the pool already (same
     * name and same value) keeps what the pool learnt about it: a cooling key stays
     * cooling, a quarantined one quarantined. A changed value is a new key, fresh.
     * Requests in flight finish with the keys they started with.
     *
     * @return what changed, by key name
     */
    public synchronized Reload reload(List<ApiKey> keys)
    {
        Generation before = generation;
        Generation after = generationOf(keys, before.pooled());
        generation = after;
        return Reload.between(before.keys(), after.keys());
    }

    public int size()
    {
        return generation.pooled().length;
    }

    public List<ApiKey> keys()
    {
        return generation.keys();
    }

    /** The pool's time: the clock the rests are measured on. */
    public Instant now()
    {
        return clock.instant();
    }

    /** The keys one client request may use, each at most once. */
    public Rotation rotation()
    {
        return new Rotation();
    }

    /** The key answered without complaint about itself. */
    public void served(ApiKey key)
    {
        about(key, PooledKey::served);
    }

    /**
     * A 429 about this key's own limits.
     *
     * @param announced when upstream said the key recovers, or null to let the pool guess
     * @param code upstream's error code, for the key's record
     */
    public void rateLimited(ApiKey key, Duration announced, String code)
    {
        about(key, pooled -> pooled.rateLimited(now(), announced, code));
    }

    /** A 500 with this key: a short rest. */
    public void serverError(ApiKey key, String code)
    {
        about(key, pooled -> pooled.serverError(now(), code));
    }

    /** An answer said one of the key's windows has nothing left until it resets. */
    public void exhausted(ApiKey key, Duration untilReset, String window)
    {
        about(key, pooled -> pooled.exhausted(now(), untilReset, window));
    }

    /** Upstream refused the key itself (invalid, unpaid, forbidden). */
    public void quarantine(ApiKey key, String reason)
    {
        about(key, pooled -> pooled.quarantine(now(), reason));
    }

    /** Upstream had no capacity; another key would not have helped, and this one is not to blame. */
    public void busy(ApiKey key, String code)
    {
        about(key, pooled -> pooled.busy(now(), code));
    }

    /**
     * An attempt with this key got no answer that says anything about the key: upstream
     * failing (502, 503, 504), unreachable, silent past the idle timeout, or the attempt
     * aborted. Ends a re-check under way without a verdict.
     */
    public void inconclusive(ApiKey key, String what)
    {
        about(key, pooled -> pooled.inconclusive(now(), what));
    }

    /** Returns every key to rotation and forgets what upstream said, as a reload would. */
    public void reset()
    {
        for (PooledKey pooled : generation.pooled())
            pooled.reset();
    }

    /** Each key's state now, in configured order. */
    public List<KeySnapshot> snapshot()
    {
        Instant now = now();
        PooledKey[] pooled = generation.pooled();
        List<KeySnapshot> snapshot = new ArrayList<>(pooled.length);
        for (PooledKey each : pooled)
            snapshot.add(each.snapshot(now));
        return List.copyOf(snapshot);
    }

    /** How long until some key can serve: zero if one can now. */
    public Duration untilAnyKeyRecovers()
    {
        return untilRecovery(generation.pooled(), null);
    }

    private Duration untilRecovery(PooledKey[] pooled, boolean[] excluded)
    {
        Instant now = now();
        Instant soonest = null;
        for (int i = 0; i < pooled.length; i++)
        {
            if (excluded != null && excluded[i])
                continue;
            Instant from = pooled[i].condition().usableFrom(now);
            if (soonest == null || from.isBefore(soonest))
                soonest = from;
        }
        return soonest == null ? null : Duration.between(now, soonest);
    }

    /**
     * Tells the key's state what happened. News about a key that left the pool (by a
     * reload while its request was under way) is dropped: it changes nothing that serves,
     * and must not log a quarantine for a key the operator has just removed.
     */
    private void about(ApiKey key, Consumer<PooledKey> news)
    {
        for (PooledKey pooled : generation.pooled())
        {
            if (pooled.key == key)
            {
                news.accept(pooled);
                return;
            }
        }
    }

    /** Not thread-safe: one request uses it for one attempt at a time. */
    public final class Rotation
    {
        private final PooledKey[] pooled = generation.pooled();
        private final boolean[] tried = new boolean[pooled.length];
        private int triedCount;

        /**
         * @return the next key to try, or null when every key this request has not tried
         * yet is resting (see {@link #untilAnUntriedKeyRecovers()}) or none is left
         */
        public ApiKey next()
        {
            int n = tried.length;
            if (triedCount == n)
                return null;
            Instant now = now();
            int index = -1;
            for (int slot = 0; slot < n && index < 0; slot++)
            {
                int candidate = (int)Math.floorMod(cursor.getAndIncrement(), (long)n);
                if (!tried[candidate] && pooled[candidate].tryTake(now))
                    index = candidate;
            }
            // Other requests moved the cursor between our slots, so the slots may have missed a
            // key that can serve: look at each key once before saying there is none.
            int start = (int)Math.floorMod(cursor.get(), (long)n);
            for (int step = 0; step < n && index < 0; step++)
            {
                int candidate = (start + step) % n;
                if (!tried[candidate] && pooled[candidate].tryTake(now))
                    index = candidate;
            }
            if (index < 0)
                return null;
            tried[index] = true;
            triedCount++;
            return pooled[index].key;
        }

        /** Whether some key has not been tried by this request, resting or not. */
        public boolean hasUntriedKeys()
        {
            return triedCount < tried.length;
        }

        /** How long until a key this request has not tried can serve, or null if it tried them all. */
        public Duration untilAnUntriedKeyRecovers()
        {
            return hasUntriedKeys() ? untilRecovery(pooled, tried) : null;
        }

        /** What keeps each key this request has not tried from serving, as of now. */
        public List<KeyState> untriedStates()
        {
            Instant now = now();
            List<KeyState> untried = new ArrayList<>();
            for (int i = 0; i < tried.length; i++)
            {
                if (!tried[i])
                    untried.add(pooled[i].condition().stateAt(now));
            }
            return untried;
        }

        public int attempts()
        {
            return triedCount;
        }
    }
}
