package dev.cerebrasproxy.pool;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The requests that wait for capacity when no budget can take them now, fair across
 * clients: one first-in-first-out line per client, and capacity that frees goes to the
 * clients' heads in turn (round-robin), so a client that sends four times as many
 * requests as the others waits in its own line instead of ahead of theirs. It holds no
 * thread: a waiter is a parked request that {@link #drain} offers capacity to, whenever
 * something may have freed it (an answer came, a rest ended, a timer fell due).
 *
 * <p>Bounded: past {@link #capacity} waiters, {@link #offer} refuses and the request is
 * answered at once. A waiter whose client has gone, or whose time is up, is taken out
 * with {@link #remove}.
 */
public final class FairQueue
{
    /** A parked request. */
    public interface Waiter
    {
        /**
         * Capacity may have freed: take a key now if one fits (quickly, without I/O: the
         * queue's lock is held). Sending the request happens in {@link #proceed}.
         *
         * @return whether the waiter took a key and leaves the queue
         */
        boolean tryTake();

        /** Sends the request with the key {@link #tryTake} took, outside the queue's lock. */
        void proceed();
    }

    private final int capacity;
    /** Client name to its line; iteration order is the round-robin order, and a served client moves to the back. */
    private final Map<String, ArrayDeque<Waiter>> lines = new LinkedHashMap<>();
    private int size;

    public FairQueue(int capacity)
    {
        this.capacity = capacity;
    }

    public int capacity()
    {
        return capacity;
    }

    /** @return false when the queue is full (the waiter was not added) */
    public synchronized boolean offer(String client, Waiter waiter)
    {
        if (size >= capacity)
            return false;
        lines.computeIfAbsent(client, c -> new ArrayDeque<>()).addLast(waiter);
        size++;
        return true;
    }

    /** Takes a waiter out (its client left, or its time is up). @return whether it was still queued */
    public synchronized boolean remove(String client, Waiter waiter)
    {
        ArrayDeque<Waiter> line = lines.get(client);
        if (line == null || !line.remove(waiter))
            return false;
        size--;
        if (line.isEmpty())
            lines.remove(client);
        return true;
    }

    public synchronized int size()
    {
        return size;
    }

    /** Waiters by client, for the status page. */
    public synchronized Map<String, Integer> sizes()
    {
        Map<String, Integer> sizes = new LinkedHashMap<>();
        lines.forEach((client, line) -> sizes.put(client, line.size()));
        return sizes;
    }

    /**
     * Offers what capacity there is to the clients in turn, one waiter of each per round,
     * until a whole round takes nothing; then sends the requests that took a key.
     */
    public void drain()
    {
        List<Waiter> started = new ArrayList<>();
        synchronized (this)
        {
            boolean tookAny = true;
            while (tookAny && size > 0)
            {
                tookAny = false;
                for (String client : new ArrayList<>(lines.keySet()))
                {
                    ArrayDeque<Waiter> line = lines.get(client);
                    // Only a line's head is offered: a client's requests keep their order.
                    if (!line.peekFirst().tryTake())
                        continue;
                    started.add(line.pollFirst());
                    size--;
                    tookAny = true;
                    // It had its turn: to the back of the order, or out if its line is empty.
                    lines.remove(client);
                    if (!line.isEmpty())
                        lines.put(client, line);
                }
            }
        }
        started.forEach(Waiter::proceed);
    }
}
