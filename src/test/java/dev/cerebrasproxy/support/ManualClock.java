package dev.cerebrasproxy.support;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;

import dev.cerebrasproxy.pool.TaskScheduler;

/**
 * Time that moves only when a test says so, and the tasks scheduled on it: a test
 * advances the clock and the tasks that fall due run, on the test's thread. No test
 * sleeps to see what happens later.
 */
public final class ManualClock implements InstantSource, TaskScheduler
{
    private record Scheduled(Instant due, Runnable task)
    {
    }

    private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

    private Instant now = START;
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
    public void advance(Duration step)
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

    /** Back to where it started, with nothing scheduled: a test begins on a clean clock. */
    public synchronized void reset()
    {
        now = START;
        scheduled.clear();
    }

    /** Tasks waiting for their time. */
    public synchronized int pending()
    {
        return scheduled.size();
    }

    /** Waits (bounded, on a monitor, no polling sleep) until this many tasks wait for their time. */
    public synchronized void awaitPending(int count, Duration timeout) throws InterruptedException
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
