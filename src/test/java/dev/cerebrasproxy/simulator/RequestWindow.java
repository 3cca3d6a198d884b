package dev.cerebrasproxy.simulator;

/**
 * Requests per period, counted in fixed windows from the simulator's origin: window k
 * is [k·period, (k+1)·period) and admits {@code limit} requests; the count starts again
 * at 0 when the next window begins. Not thread-safe: its {@link Budget} guards it.
 */
final class RequestWindow
{
    final String header;
    final String name;
    final long limit;
    final long periodNanos;
    private long index;
    private long count;

    /**
     * @param header the headers' suffix ({@code requests-day}), or null when Cerebras sends none
     * @param name   how the 429 message names it ("minute")
     */
    RequestWindow(String header, String name, long limit, long periodNanos)
    {
        this.header = header;
        this.name = name;
        this.limit = limit;
        this.periodNanos = periodNanos;
    }

    private void roll(long now)
    {
        long current = Math.floorDiv(now, periodNanos);
        if (current != index)
        {
            index = current;
            count = 0;
        }
    }

    boolean full(long now)
    {
        roll(now);
        return count >= limit;
    }

    void count(long now)
    {
        roll(now);
        count++;
    }

    long remaining(long now)
    {
        roll(now);
        return Math.max(0, limit - count);
    }

    long nanosUntilReset(long now)
    {
        roll(now);
        return (index + 1) * periodNanos - now;
    }

    /** How many windows [from, to) touches: the most of them a request can be counted in. */
    long windowsTouched(long from, long to)
    {
        if (to <= from)
            return 0;
        return Math.floorDiv(to - 1, periodNanos) - Math.floorDiv(from, periodNanos) + 1;
    }
}
