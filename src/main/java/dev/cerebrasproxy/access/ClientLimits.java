package dev.cerebrasproxy.access;

import java.util.Set;

/**
 * What one client may take of the pool, set beside its token in {@code PROXY_CLIENT_TOKENS}.
 * Each limit is {@link #UNLIMITED} when not set; 0 is a real limit (the client gets nothing
 * until it is raised). The windows are the UTC minute and the UTC day (see {@link Clients}).
 *
 * @param models the models the client may name, or null for any
 */
public record ClientLimits(long requestsPerMinute, long tokensPerMinute, long tokensPerDay, Set<String> models)
{
    public static final long UNLIMITED = -1;
    public static final ClientLimits NONE = new ClientLimits(UNLIMITED, UNLIMITED, UNLIMITED, null);

    public ClientLimits
    {
        models = models == null ? null : Set.copyOf(models);
    }

    /** Whether the client is held to anything at all: when not, its requests skip every check. */
    public boolean any()
    {
        return requestsPerMinute != UNLIMITED || tokensPerMinute != UNLIMITED || tokensPerDay != UNLIMITED || models != null;
    }

    /** Whether a token limit needs the request's estimate (and so a look at its body). */
    public boolean countsTokens()
    {
        return tokensPerMinute != UNLIMITED || tokensPerDay != UNLIMITED;
    }

    /** Whether the client may use this model (null: the request names none, which no list forbids). */
    public boolean allows(String model)
    {
        return models == null || model == null || models.contains(model);
    }
}
