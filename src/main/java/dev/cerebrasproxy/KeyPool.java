package dev.cerebrasproxy;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The pool of API keys and the order in which requests use them. It knows nothing of
 * HTTP: callers ask for a {@link Rotation} per client request and take keys from it
 * until one serves.
 *
 * <p>Every key choice, first attempt or retry, takes the next slot of one shared
 * round-robin cursor. Retries therefore spread over the whole pool instead of all
 * landing on the failing key's neighbour, and the keys that work share the load
 * evenly. A rotation remembers which keys its request has met, so a slot that points
 * at one of them moves on to the next key the request has not tried: each request
 * tries every key exactly once at most, however many other requests move the cursor
 * meanwhile.
 */
public final class KeyPool
{
    private final List<ApiKey> keys;
    private final AtomicLong cursor = new AtomicLong();

    public KeyPool(List<ApiKey> keys)
    {
        if (keys.isEmpty())
            throw new IllegalArgumentException("a key pool needs at least one key");
        this.keys = List.copyOf(keys);
    }

    public int size()
    {
        return keys.size();
    }

    public List<ApiKey> keys()
    {
        return keys;
    }

    /** The keys one client request may use, each at most once. */
    public Rotation rotation()
    {
        return new Rotation();
    }

    /** Not thread-safe: one request uses it for one attempt at a time. */
    public final class Rotation
    {
        private final boolean[] tried = new boolean[keys.size()];
        private int triedCount;

        /** @return the next key to try, or null when this request has tried them all */
        public ApiKey next()
        {
            int n = tried.length;
            if (triedCount == n)
                return null;
            int index = (int)Math.floorMod(cursor.getAndIncrement(), (long)n);
            while (tried[index])
                index = index + 1 == n ? 0 : index + 1;
            tried[index] = true;
            triedCount++;
            return keys.get(index);
        }

        public int attempts()
        {
            return triedCount;
        }
    }
}
