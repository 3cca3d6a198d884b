package dev.cerebrasproxy.pool;

import java.time.Duration;

/**
 * Runs a task later without holding a thread meanwhile. The delay is measured on the
 * same clock as the key pool's, which is why it is its own interface: tests give the
 * proxy a clock they move by hand, and this runs what falls due as they move it.
 */
@FunctionalInterface
public interface TaskScheduler
{
    void runAfter(Duration delay, Runnable task);
}
