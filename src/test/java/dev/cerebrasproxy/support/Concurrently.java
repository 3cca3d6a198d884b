package dev.cerebrasproxy.support;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** Runs one task on many threads at once, released together so they really overlap, and waits (bounded) for all. */
public final class Concurrently
{
    /** One thread's share of the work. */
    @FunctionalInterface
    public interface Task
    {
        void run(int thread) throws Exception;
    }

    private Concurrently()
    {
    }

    /** Fails with the first thread's failure, or when they have not all finished within a minute. */
    public static void run(int threads, Task task) throws Exception
    {
        run(threads, java.time.Duration.ofMinutes(1), task);
    }

    /** Fails with the first thread's failure, or when they have not all finished within {@code bound}. */
    public static void run(int threads, java.time.Duration bound, Task task) throws Exception
    {
        long deadline = System.nanoTime() + bound.toNanos();
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        try
        {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                int thread = t;
                futures.add(executor.submit(() ->
                {
                    start.await();
                    task.run(thread);
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> future : futures)
                future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
        finally
        {
            executor.shutdownNow();
        }
    }
}
