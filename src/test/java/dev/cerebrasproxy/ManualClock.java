package dev.cerebrasproxy;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;

/**
 * Time that moves only when a test says so, and the tasks scheduled on it: a test
 * advances the clock and the tasks that fall due run, on the test's thread. No test
 * sleeps to see what happens later.
 */
final class ManualClock implements InstantSource, TaskScheduler
{
    private record Scheduled(Instant due, Runnable task)
    {
    }

    private Instant now = Instant.parse("2026-01-01T00:00:00Z");
    private final List<Scheduled> scheduled = new ArrayList<>();

    @Override
    public synchronized Instant instant()
    {
        return now;
    }

    @Override
    public synchronized void runAfter(Duration delay, Runnable task)
    {
        scheduled.add(new Scheduled(now.plus(delay), task));
        notifyAll();
    }

    /** Moves time forward and runs the tasks that fall due, outside the clock's lock. */
    void advance(Duration step)
    {
        List<Runnable> due = new ArrayList<>();
        synchronized (this)
        {
            now = now.plus(step);
            scheduled.removeIf(s ->
            {
                if (s.due().isAfter(now))
                    return false;
                due.add(s.task());
                return true;
            });
        }
        due.forEach(Runnable::run);
    }

    /** Tasks waiting for their time. */
    synchronized int pending()
    {
        return scheduled.size();
    }

    /** Waits (bounded, on a monitor, no polling sleep) until this many tasks wait for their time. */
    synchronized void awaitPending(int count, Duration timeout) throws InterruptedException
    {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (scheduled.size() < count)
        {
            long left = deadline - System.nanoTime();
            if (left <= 0)
                throw new AssertionError("expected " + count + " scheduled tasks, have " + scheduled.size());
            wait(Math.max(1, left / 1_000_000));
        }
    }
}
