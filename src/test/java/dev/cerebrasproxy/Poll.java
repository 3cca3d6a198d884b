package dev.cerebrasproxy;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * Waiting for another process, which cannot count down a latch of ours: ask again every
 * {@link #INTERVAL} until the answer is there or the bound has passed.
 */
final class Poll
{
    static final Duration INTERVAL = Duration.ofMillis(100);

    private Poll()
    {
    }

    /** The first non-null answer of {@code probe}; fails with {@code what} once {@code bound} has passed. */
    static <T> T until(Duration bound, String what, Supplier<T> probe) throws InterruptedException
    {
        long deadline = System.nanoTime() + bound.toNanos();
        while (true)
        {
            T answer = probe.get();
            if (answer != null)
                return answer;
            if (System.nanoTime() - deadline > 0)
                throw new AssertionError("Gave up after " + bound.toSeconds() + " s waiting for " + what);
            Thread.sleep(INTERVAL.toMillis()); // the poll interval, not a wait for the event
        }
    }

    static void untilTrue(Duration bound, String what, Supplier<Boolean> condition) throws InterruptedException
    {
        until(bound, what, () -> condition.get() ? Boolean.TRUE : null);
    }
}
