package dev.cerebrasproxy.simulator;

/**
 * Tokens per period as Cerebras counts them: a bucket of {@code capacity} that refills
 * continuously at capacity per period, full at the start. Not thread-safe: its
 * {@link Budget} guards it.
 */
final class TokenBucket
{
    /** Refills are fractions of a token: a request fits when it falls short by no more than this. */
    private static final double EPSILON = 1e-6;

    final String header;
    final long capacity;
    final long periodNanos;
    private double tokens;
    private long updatedAt;

    /** @param header the headers' suffix ({@code tokens-minute}), or null for none */
    TokenBucket(String header, long capacity, long periodNanos)
    {
        this.header = header;
        this.capacity = capacity;
        this.periodNanos = periodNanos;
        this.tokens = capacity;
    }

    private void refill(long now)
    {
        if (now <= updatedAt)
            return;
        tokens = Math.min(capacity, tokens + (now - updatedAt) * (double)capacity / periodNanos);
        updatedAt = now;
    }

    boolean fits(long amount, long now)
    {
        refill(now);
        return tokens + EPSILON >= amount;
    }

    void take(long amount, long now)
    {
        refill(now);
        tokens = Math.max(0, tokens - amount);
    }

    void giveBack(long amount, long now)
    {
        refill(now);
        tokens = Math.min(capacity, tokens + amount);
    }

    long remaining(long now)
    {
        refill(now);
        return (long)Math.floor(tokens + EPSILON);
    }

    /** Simulated nanoseconds until the bucket is full again. */
    long nanosUntilFull(long now)
    {
        refill(now);
        double missing = capacity - tokens;
        return missing <= EPSILON ? 0 : (long)Math.ceil(missing * periodNanos / capacity);
    }
}
