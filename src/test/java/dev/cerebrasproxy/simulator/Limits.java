package dev.cerebrasproxy.simulator;

/**
 * One (organization, model) budget's limits, as Cerebras sets them. Requests are counted
 * in fixed windows (per minute, hour, day); tokens in buckets that refill continuously
 * (per minute, hour). A zero hour limit means the account has none (and gets no hour
 * headers); the minute and day limits every account has.
 *
 * @param requestsPerMinute a fixed one-minute window; Cerebras reports no header for it
 * @param requestsPerHour   a fixed one-hour window, or 0 for none
 * @param requestsPerDay    a fixed one-day window
 * @param tokensPerMinute   a bucket of this capacity refilling this many tokens a minute
 * @param tokensPerHour     a bucket of this capacity refilling this many tokens an hour, or 0 for none
 */
public record Limits(long requestsPerMinute, long requestsPerHour, long requestsPerDay, long tokensPerMinute, long tokensPerHour)
{
    public Limits
    {
        if (requestsPerMinute <= 0 || requestsPerDay <= 0 || tokensPerMinute <= 0)
            throw new IllegalArgumentException("requests per minute, requests per day and tokens per minute must be positive, not "
                + requestsPerMinute + ", " + requestsPerDay + ", " + tokensPerMinute);
        if (requestsPerHour < 0 || tokensPerHour < 0)
            throw new IllegalArgumentException("hour limits must be positive, or 0 for none");
    }

    /** Minute and day limits only, like most accounts. */
    public static Limits of(long requestsPerMinute, long tokensPerMinute, long requestsPerDay)
    {
        return new Limits(requestsPerMinute, 0, requestsPerDay, tokensPerMinute, 0);
    }

    public Limits withRequestsPerMinute(long value)
    {
        return new Limits(value, requestsPerHour, requestsPerDay, tokensPerMinute, tokensPerHour);
    }

    public Limits withRequestsPerHour(long value)
    {
        return new Limits(requestsPerMinute, value, requestsPerDay, tokensPerMinute, tokensPerHour);
    }

    public Limits withRequestsPerDay(long value)
    {
        return new Limits(requestsPerMinute, requestsPerHour, value, tokensPerMinute, tokensPerHour);
    }

    public Limits withTokensPerMinute(long value)
    {
        return new Limits(requestsPerMinute, requestsPerHour, requestsPerDay, value, tokensPerHour);
    }

    public Limits withTokensPerHour(long value)
    {
        return new Limits(requestsPerMinute, requestsPerHour, requestsPerDay, tokensPerMinute, value);
    }
}
