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
        Duration wait = attempts.untilAnyKeyRecovers();
        if (wait == null)
            wait = pool.untilAnyKeyRecovers();
        RetryAfter retryAfter = RetryAfter.of(wait);
        ProxyError error = ProxyError.server(503, "no_key_available",
            "No API key of the proxy's pool could serve this request (" + attempts.summary() + "). Retry after " + retryAfter.seconds() + " s.");
        List<String> headers = new ArrayList<>(List.of(retryAfter.headers()));
        if (wait.compareTo(LONGEST_SDK_WAIT) > 0)
            headers.addAll(List.of("x-should-retry", "false"));
        return new Answer(error, headers.toArray(String[]::new));
    }

    /** The 503 when the queue of waiting requests is full: the same Retry-After, and why it did not wait. */
    static Answer queueFull(Attempts attempts, KeyPool pool, int capacity)
    {
        Answer answer = of(attempts, pool);
        ProxyError full = answer.error();
        return new Answer(ProxyError.server(503, "no_key_available", full.message().replace("). Retry after",
            "; " + capacity + " requests wait already, PROXY_QUEUE_MAX). Retry after")), answer.headers());
    }

    /**
     * A request estimated above the whole tokens-per-minute limit of every budget: Cerebras
     * would refuse it on every key, now and later. Cerebras's own 429 shape, and no retry.
     */
    static Answer tooLarge(long estimate, long largestLimit)
    {
        ProxyError error = new ProxyError(429, "too_many_requests_error", "token_quota_exceeded", "quota",
            "This request is estimated at " + estimate + " tokens (prompt characters / 4 + max_completion_tokens), more than the whole tokens-per-minute limit of every budget of the proxy's pool (the largest is "
                + largestLimit + "): no key can ever serve it. Lower max_completion_tokens or shorten the prompt.");
        return new Answer(error, new String[] {"x-should-retry", "false"});
    }

    record Answer(ProxyError error, String[] headers)
    {
    }
}
