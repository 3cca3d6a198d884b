package dev.cerebrasproxy.forward;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import dev.cerebrasproxy.ProxyError;
import dev.cerebrasproxy.RetryAfter;
import dev.cerebrasproxy.pool.KeyPool;

/**
 * The 503 the proxy answers when no key of its pool can serve a request, saying when to
 * come back: a {@link RetryAfter} set to when the soonest key recovers, so the official
 * SDKs, which wait that long before they retry by themselves, come back exactly when a
 * key can serve again.
 */
final class NoKeyAvailable
{
    /**
     * The SDKs ignore a wait longer than this and retry after their own short backoff,
     * which could only meet this 503 again; past it, tell them not to retry at all.
     */
    static final Duration LONGEST_SDK_WAIT = Duration.ofSeconds(60);

    private NoKeyAvailable()
    {
    }

    /** The error and its headers (name, value, ...) for a request that found no key. */
    static Answer of(Attempts attempts, KeyPool pool)
    {
        Duration wait = pool.untilAnyKeyRecovers();
        RetryAfter retryAfter = RetryAfter.of(wait);
        ProxyError error = ProxyError.server(503, "no_key_available",
            "No API key of the proxy's pool could serve this request (" + attempts.summary() + "). Retry after " + retryAfter.seconds() + " s.");
        List<String> headers = new ArrayList<>(List.of(retryAfter.headers()));
        if (wait.compareTo(LONGEST_SDK_WAIT) > 0)
            headers.addAll(List.of("x-should-retry", "false"));
        return new Answer(error, headers.toArray(String[]::new));
    }

    record Answer(ProxyError error, String[] headers)
    {
    }
}
