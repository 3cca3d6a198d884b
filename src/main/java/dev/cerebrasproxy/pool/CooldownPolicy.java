package dev.cerebrasproxy.pool;

import java.time.Duration;

/**
 * How long a key stays out of rotation when upstream did not say. Upstream's own word
 * (a {@code Retry-After}, a rate-limit reset) always wins; these are the guesses for when
 * it gave none, and they double with each failure in a row so that a key that keeps
 * failing costs fewer and fewer upstream calls.
 *
 * @param rateLimited first rest after a 429 that named no recovery time
 * @param serverError first rest after a 500
 * @param longest cap for the doubled guesses (not for upstream's announced times)
 * @param quarantineRecheck how long a refused key (401/402/403) waits before one request
 * re-checks it
 * @param minute how long a minute of Cerebras's limits lasts: what a learnt requests-per-minute
 * limit counts over and what tokens per minute refill in; a minute, shorter only against a
 * simulator whose time runs faster
 */
public record CooldownPolicy(Duration rateLimited, Duration serverError, Duration longest, Duration quarantineRecheck, Duration minute)
{
    public static final CooldownPolicy DEFAULTS = new CooldownPolicy(
        Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(60), Duration.ofMinutes(5), Duration.ofMinutes(1));

    /** The policy with Cerebras's minute as the window requests per minute are counted over. */
    public CooldownPolicy(Duration rateLimited, Duration serverError, Duration longest, Duration quarantineRecheck)
    {
        this(rateLimited, serverError, longest, quarantineRecheck, Duration.ofMinutes(1));
    }

    /**
     * Upstream's announced times are trusted up to this: a day's window resets within a
     * day, and a garbled header must not bench a key for a year.
     */
    static final Duration LONGEST_ANNOUNCED = Duration.ofHours(25);

    /** The rest after the {@code strike}th failure in a row (1 for the first), from a first rest. */
    Duration backoff(Duration first, int strike)
    {
        int doublings = Math.min(Math.max(strike - 1, 0), 30);
        Duration rest = first.multipliedBy(1L << doublings);
        return rest.compareTo(longest) > 0 ? longest : rest;
    }

    static Duration trusted(Duration announced)
    {
        if (announced.isNegative())
            return Duration.ZERO;
        return announced.compareTo(LONGEST_ANNOUNCED) > 0 ? LONGEST_ANNOUNCED : announced;
    }

    /** Whole seconds, rounded up (none for a rest that is over): whoever waits that long finds the key back. */
    public static long secondsRoundedUp(Duration duration)
    {
        return Math.max(0, (duration.toMillis() + 999) / 1000);
    }

    /**
     * A rest as an operator reads it, in the logs and on the status page: whole seconds,
     * rounded up so "0 s" never shows for a key that still rests: "42 s", "1 min 5 s",
     * "5 min", "2 h 10 min".
     */
    public static String readable(Duration duration)
    {
        long seconds = secondsRoundedUp(duration);
        if (seconds < 60)
            return seconds + " s";
        if (seconds < 3600)
            return seconds / 60 + " min" + (seconds % 60 == 0 ? "" : " " + seconds % 60 + " s");
        return seconds / 3600 + " h" + (seconds % 3600 / 60 == 0 ? "" : " " + seconds % 3600 / 60 + " min");
    }
}
