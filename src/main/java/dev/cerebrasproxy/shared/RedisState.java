package dev.cerebrasproxy.shared;

import java.time.Duration;

import dev.cerebrasproxy.access.ClientCounters;
import dev.cerebrasproxy.config.RedisSettings;
import dev.cerebrasproxy.pool.KeyPool;

/** {@link SharedState} through Redis: the client counts, the key pool's news, and whether Redis answers. */
final class RedisState implements SharedState
{
    /** How long startup waits for Redis's first answer (the client's classes load then) before the replica starts degraded. */
    private static final Duration FIRST_ANSWER = Duration.ofSeconds(3);

    private final RedisLink link;
    private final RedisClientCounters counters;
    private final String prefix;
    private RedisNews news;

    private RedisState(RedisLink link, RedisSettings settings)
    {
        this.link = link;
        this.counters = new RedisClientCounters(link, settings.prefix());
        this.prefix = settings.prefix();
    }

    static SharedState connect(RedisSettings settings)
    {
        RedisLink link = new RedisLink(settings);
        link.checkAtStart(FIRST_ANSWER);
        return new RedisState(link, settings);
    }

    @Override
    public ClientCounters clientCounters()
    {
        return counters;
    }

    @Override
    public Redis redis()
    {
        return link.degraded() ? Redis.DEGRADED : Redis.OK;
    }

    @Override
    public synchronized void share(KeyPool pool)
    {
        if (news != null)
            throw new IllegalStateException("one pool per replica");
        RedisReplicas replicas = new RedisReplicas(link, prefix, pool);
        pool.share(replicas);
        news = new RedisNews(link, replicas, prefix, pool);
        news.start();
    }

    @Override
    public synchronized void close()
    {
        if (news != null)
            news.close();
        link.close();
    }
}
