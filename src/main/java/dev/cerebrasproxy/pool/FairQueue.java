package dev.cerebrasproxy.pool;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The requests that wait for capacity when no budget can take them now, fair across
 * clients: one first-in-first-out line per client, and capacity that frees goes to the
 * clients in turn (round-robin), so a client that sends four times as many requests as
 * the others waits in its own line instead of ahead of theirs. Within a line, requests of
 * one {@linkplain Waiter#kind kind} (model) keep their order, but a request whose model's
 * budgets are all full does not hold back the requests behind it for another model. It holds no
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

        /**
         * What capacity the waiter waits for (the model whose budgets it draws on): when one
         * waiter cannot take a key, those behind it in its client's line of the same kind are
         * not offered in that drain (they keep their order), but those of another kind are.
         * Offering only a line's head held every request of a client behind one whose model
         * had no room: in the capacity benchmark two budgets of the other model admitted
         * nothing for a whole window while their requests queued. Null: one kind.
         */
        default Object kind()
        {
            return null;
        }
    }

    private final int capacity;
    /** Marks a line of which no waiter can take in the drain under way. */
    private static final Object DONE = new Object();
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
     * Offers what capacity there is to the clients in turn, one waiter of each per round
     * (the first in its line whose kind has not failed to take in this drain), until a whole
     * round takes nothing; then sends the requests that took a key. Nothing frees during a
     * drain (an answer that does drains again), so a kind that could not take stays out of
     * the drain, which bounds it to one pass over each line per waiter taken.
     */
    public void drain()
    {
        List<Waiter> started = new ArrayList<>();
        synchronized (this)
        {
            Map<String, java.util.Set<Object>> blocked = new java.util.HashMap<>();
            boolean tookAny = true;
            while (tookAny && size > 0)
            {
                tookAny = false;
                for (String client : new ArrayList<>(lines.keySet()))
                {
                    java.util.Set<Object> full = blocked.computeIfAbsent(client, c -> new java.util.HashSet<>());
                    if (full.contains(DONE))
                        continue;
                    ArrayDeque<Waiter> line = lines.get(client);
                    Waiter took = null;
                    for (Waiter waiter : line)
                    {
                        Object kind = waiter.kind();
                        if (full.contains(kind))
                            continue;
                        if (waiter.tryTake())
                        {
                            took = waiter;
                            break;
                        }
                        full.add(kind);
                    }
                    if (took == null)
                    {
                        // Every kind in the line failed: it has nothing to take in this drain.
                        full.add(DONE);
                        continue;
                    }
                    line.remove(took);
                    started.add(took);
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
