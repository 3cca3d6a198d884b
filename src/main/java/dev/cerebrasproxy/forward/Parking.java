package dev.cerebrasproxy.forward;

import java.time.Duration;
import java.time.InstantSource;
import java.util.function.Consumer;

import dev.cerebrasproxy.ops.ProxyMetrics;
import dev.cerebrasproxy.pool.ApiKey;
import dev.cerebrasproxy.pool.FairQueue;
import dev.cerebrasproxy.pool.TaskScheduler;

/**
 * One call's place in the {@link FairQueue} while no budget can take it: parked, holding
 * no thread, until capacity frees (an answer elsewhere drains the queue), a timer set for
 * when its keys recover falls due, its time is up (it gives up), or its client leaves.
 * Exactly one of those ends a wait: the queue's {@link FairQueue#remove} (or its taking
 * the waiter) decides which, under the queue's lock.
 */
final class Parking implements FairQueue.Waiter
{
    /**
     * The shortest timer: a pool that keeps saying "now" without a key to take (a re-check
     * taken by another request) cannot spin a request on the timer thread; with the wait's
     * deadline this bounds the wake-ups of one wait to PROXY_WAIT_FOR_KEY_MS / this.
     */
    static final Duration SHORTEST_TIMER = Duration.ofMillis(10);

    private final FairQueue queue;
    private final String client;
    private final Attempts attempts;
    private final TaskScheduler timers;
    private final InstantSource clock;
    private final Duration grace;
    private final ProxyMetrics metrics;
    private final Consumer<ApiKey> send;
    private final Runnable giveUp;
    /** Under the queue's lock. */
    private boolean queued;
    private ApiKey taken;
    private long since;

    /**
     * @param send sends the call with the key it took once capacity freed
     * @param giveUp answers the call when it can wait no longer
     */
    Parking(FairQueue queue, String client, Attempts attempts, TaskScheduler timers, InstantSource clock, Duration grace, ProxyMetrics metrics,
        Consumer<ApiKey> send, Runnable giveUp)
    {
        this.queue = queue;
        this.client = client;
        this.attempts = attempts;
        this.timers = timers;
        this.clock = clock;
        this.grace = grace;
        this.metrics = metrics;
        this.send = send;
        this.giveUp = giveUp;
    }

    /**
     * Parks the call if its keys recover within its grace and the queue has room.
     *
     * @return false when it may not wait (the caller answers it now); {@code full} tells why
     */
    boolean park(Duration wait)
    {
        synchronized (queue)
        {
            if (wait == null || !attempts.mayWait(clock.instant(), wait, grace))
                return false;
            if (!queue.offer(client, this))
            {
                metrics.waited("full", 0);
                return false;
            }
            queued = true;
            since = System.nanoTime();
            timers.runAfter(timerFor(wait), this::timerDue);
        }
        // Capacity may be there already (another request just left it), and the queue decides who takes it.
        queue.drain();
        return true;
    }

    boolean full()
    {
        return queue.size() >= queue.capacity();
    }

    /** Whether requests wait already: a newcomer joins them rather than jump ahead. */
    boolean othersWait()
    {
        return queue.size() > 0;
    }

    private static Duration timerFor(Duration wait)
    {
        return wait.compareTo(SHORTEST_TIMER) < 0 ? SHORTEST_TIMER : wait;
    }

    @Override
    public boolean tryTake()
    {
        ApiKey key = attempts.next();
        if (key == null)
            return false;
        taken = key;
        queued = false;
        return true;
    }

    /** Its model: requests for another model go past it when its model's budgets are full. */
    @Override
    public Object kind()
    {
        return attempts.demand().model();
    }

    @Override
    public void proceed()
    {
        metrics.waited("sent", System.nanoTime() - since);
        send.accept(taken);
    }

    /** The wait's timer: offer capacity; still without a key, wait again within the grace or give up. */
    private void timerDue()
    {
        queue.drain();
        synchronized (queue)
        {
            if (!queued)
                return;
            Duration wait = attempts.untilAnUntriedKeyRecovers();
            if (wait != null && attempts.mayWait(clock.instant(), wait, grace))
            {
                timers.runAfter(timerFor(wait), this::timerDue);
                return;
            }
            queue.remove(client, this);
            queued = false;
        }
        metrics.waited("gave_up", System.nanoTime() - since);
        giveUp.run();
    }

    /** The client went: leave the queue. @return whether the call was still waiting (and is now out) */
    boolean leave()
    {
        synchronized (queue)
        {
            if (!queued || !queue.remove(client, this))
                return false;
            queued = false;
        }
        metrics.waited("left", System.nanoTime() - since);
        return true;
    }
}
