package dev.cerebrasproxy.shared;

import java.time.Duration;

import dev.cerebrasproxy.access.ClientCounters;
import dev.cerebrasproxy.config.RedisSettings;

/** {@link SharedState} through Redis: the client counts, and whether Redis answers. */
final class RedisState implements SharedState
{
    /** How long startup waits for Redis's first answer (the client's classes load then) before the replica starts degraded. */
    private static final Duration FIRST_ANSWER = Duration.ofSeconds(3);

    private final RedisLink link;
    private final RedisClientCounters counters;

    private RedisState(RedisLink link, RedisSettings settings)
    {
        this.link = link;
        this.counters = new RedisClientCounters(link, settings.prefix());
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
    public void close()
    {
        link.close();
    }
}
