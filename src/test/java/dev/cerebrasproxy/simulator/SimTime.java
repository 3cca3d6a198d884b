package dev.cerebrasproxy.simulator;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;

/**
 * The simulator's clock: simulated time runs {@code scale} times faster than its source
 * and starts at 0 when the simulator is built (its origin), so every window is counted
 * from the origin. Everything the simulator tells a client (the reset headers) is in
 * real seconds: simulated / scale. A proxy on the wall clock then sees a world that is
 * consistent, only faster: a "minute" of a simulator at scale 6 lasts 10 seconds.
 */
final class SimTime
{
    static final long MINUTE = Duration.ofMinutes(1).toNanos();
    static final long HOUR = Duration.ofHours(1).toNanos();
    static final long DAY = Duration.ofDays(1).toNanos();

    private final InstantSource source;
    private final double scale;
    private final Instant origin;

    SimTime(InstantSource source, double scale)
    {
        if (!(scale > 0) || Double.isInfinite(scale))
            throw new IllegalArgumentException("the time scale must be a positive number, not " + scale);
        this.source = source;
        this.scale = scale;
        this.origin = source.instant();
    }

    /** Simulated nanoseconds since the origin, now. */
    long now()
    {
        return at(source.instant());
    }

    /** Simulated nanoseconds since the origin at a real instant (never before the origin). */
    long at(Instant real)
    {
        long realNanos = Math.max(0, Duration.between(origin, real).toNanos());
        return Math.round(realNanos * scale);
    }

    /** A simulated duration as the real seconds a client waits for it. */
    double realSeconds(long simulatedNanos)
    {
        return simulatedNanos / scale / 1e9;
    }

    Instant origin()
    {
        return origin;
    }

    double scale()
    {
        return scale;
    }
}
