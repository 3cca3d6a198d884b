package dev.cerebrasproxy.support;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Waiting for what cannot count down a latch of ours (another process, a pool shrinking,
 * a connection closing): ask again at an interval until the answer is there or the
 * bound has passed. Never a blind sleep.
 */
public final class Poll
{
    /** A look at something that may fail to answer (a server not up yet): an exception fails the test. */
    @FunctionalInterface
    public interface Probe<T>
    {
        T get() throws Exception;
    }

    private static final Duration INTERVAL = Duration.ofMillis(5);
    private static final Duration PROCESS_INTERVAL = Duration.ofMillis(100);

    private Poll()
    {
    }

    /** @return whether the condition held within the time given */
    public static boolean until(Duration within, BooleanSupplier condition)
    {
        return until(within, INTERVAL, condition);
    }

    /** Like {@link #until(Duration, BooleanSupplier)}, for conditions that are costly to check. */
    public static boolean until(Duration within, Duration every, BooleanSupplier condition)
    {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadline > 0)
                return false;
            LockSupport.parkNanos(every.toNanos()); // the poll interval, not a wait for the event
        }
        return true;
    }

    /** The first non-null answer of {@code probe}; fails with {@code what} once {@code bound} has passed. */
    public static <T> T until(Duration bound, String what, Probe<T> probe)
    {
        Object[] answer = new Object[1];
        if (!until(bound, PROCESS_INTERVAL, () -> (answer[0] = unchecked(probe)) != null))
            throw new AssertionError("Gave up after " + bound.toSeconds() + " s waiting for " + what);
        @SuppressWarnings("unchecked")
        T found = (T)answer[0];
        return found;
    }

    public static void untilTrue(Duration bound, String what, Probe<Boolean> condition)
    {
        until(bound, what, () -> condition.get() ? Boolean.TRUE : null);
    }

    private static <T> T unchecked(Probe<T> probe)
    {
        try
        {
            return probe.get();
        }
        catch (Exception e)
        {
            throw new AssertionError(e);
        }
    }
}
