package dev.cerebrasproxy;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Waits for a condition by polling it, for a bounded time: never a blind sleep. */
final class Poll
{
    private static final long POLL_INTERVAL_NANOS = Duration.ofMillis(5).toNanos();

    private Poll()
    {
    }

    /** @return whether the condition held within the time given */
    static boolean until(Duration within, BooleanSupplier condition)
    {
        return until(within, Duration.ofNanos(POLL_INTERVAL_NANOS), condition);
    }

    /** Like {@link #until(Duration, BooleanSupplier)}, for conditions that are costly to check. */
    static boolean until(Duration within, Duration every, BooleanSupplier condition)
    {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() > deadline)
                return false;
            LockSupport.parkNanos(every.toNanos());
        }
        return true;
    }
}
