package dev.cerebrasproxy;

import java.time.Duration;

import dev.cerebrasproxy.pool.CooldownPolicy;

/**
 * When the proxy tells a client to come back: {@code Retry-After} in whole seconds, rounded
 * up, and {@code retry-after-ms} to the millisecond. The official SDKs wait
 * {@code retry-after-ms}, then {@code Retry-After}, before they retry by themselves.
 *
 * @param millis at least 1
 */
public record RetryAfter(long millis)
{
    /** A wait rounded up to the next millisecond, and to at least one: never "now". */
    public static RetryAfter of(Duration wait)
    {
        long millis = wait.toMillis() + (wait.toNanosPart() % 1_000_000 == 0 ? 0 : 1);
        return new RetryAfter(Math.max(1, millis));
    }

    /** Whole seconds, rounded up: a client that waits this long finds what it waited for. */
    public long seconds()
    {
        return CooldownPolicy.secondsRoundedUp(Duration.ofMillis(millis));
    }

    /** {@code Retry-After} and {@code retry-after-ms}, as name, value, name, value. */
    public String[] headers()
    {
        return new String[] {"Retry-After", Long.toString(seconds()), "retry-after-ms", Long.toString(millis)};
    }
}
