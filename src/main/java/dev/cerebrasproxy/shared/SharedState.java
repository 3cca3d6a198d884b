package dev.cerebrasproxy.shared;

import dev.cerebrasproxy.access.ClientCounters;
import dev.cerebrasproxy.access.InMemoryClientCounters;
import dev.cerebrasproxy.config.RedisSettings;
import dev.cerebrasproxy.pool.KeyPool;

/**
 * What this replica shares with the others ({@code PROXY_REDIS_URL}), or keeps alone. This
 * interface names no Redis type, so a proxy without {@code PROXY_REDIS_URL} never loads a
 * class of the Redis client: {@link #of} reaches {@link RedisState} only when it is set.
 */
public interface SharedState extends AutoCloseable
{
    /** Redis as the operators' pages show it. */
    enum Redis
    {
        /** Not configured: this replica counts alone. */
        OFF,
        /** Answering: the counts are shared. */
        OK,
        /** Configured but failing or slow: this replica counts from its own memory until Redis answers again. */
        DEGRADED;

        public String label()
        {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Where each client's counts live. */
    ClientCounters clientCounters();

    Redis redis();

    /** Makes the pool share what it learns (budgets, rests, quarantines and their re-checks) with the other replicas. */
    void share(KeyPool pool);

    /** Stops what this state started (Redis's connections and threads); the webapp is going away. */
    @Override
    void close();

    /** @param redis null for a replica that keeps everything in memory, as before there were replicas */
    static SharedState of(RedisSettings redis)
    {
        return redis == null ? new Alone() : RedisState.connect(redis);
    }

    /** One replica, all in memory. */
    final class Alone implements SharedState
    {
        private final ClientCounters counters = new InMemoryClientCounters();

        @Override
        public ClientCounters clientCounters()
        {
            return counters;
        }

        @Override
        public Redis redis()
        {
            return Redis.OFF;
        }

        @Override
        public void share(KeyPool pool)
        {
            // nobody to share with: the pool stays Replicas.ALONE
        }

        @Override
        public void close()
        {
            // nothing was started
        }
    }
}
