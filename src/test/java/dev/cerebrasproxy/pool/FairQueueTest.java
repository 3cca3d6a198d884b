package dev.cerebrasproxy.pool;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The queue at saturation, without HTTP: bounded, fair across clients, in order within one. */
class FairQueueTest
{
    /** Capacity that frees one request at a time. */
    private final AtomicInteger free = new AtomicInteger();
    private final List<String> sent = new ArrayList<>();

    private FairQueue.Waiter waiter(String name)
    {
        return new FairQueue.Waiter()
        {
            @Override
            public boolean tryTake()
            {
                if (free.get() <= 0)
                    return false;
                free.decrementAndGet();
                return true;
            }

            @Override
            public void proceed()
            {
                sent.add(name);
            }
        };
    }

    @Test
    void capacityGoesToTheClientsInTurnSoAHeavyClientDoesNotCrowdOutTheOthers()
    {
        FairQueue queue = new FairQueue(100);
        for (int i = 0; i < 8; i++)
            queue.offer("heavy", waiter("h" + i));
        queue.offer("a", waiter("a0"));
        queue.offer("a", waiter("a1"));
        queue.offer("b", waiter("b0"));
        free.set(7);
        queue.drain();
        assertEquals(List.of("h0", "a0", "b0", "h1", "a1", "h2", "h3"), sent);
        assertEquals(4, queue.size());
        assertEquals(Map.of("heavy", 4), queue.sizes(), "clients whose lines emptied are gone");
    }

    @Test
    void aClientServedLastRoundWaitsBehindTheOthersNextTime()
    {
        FairQueue queue = new FairQueue(100);
        queue.offer("heavy", waiter("h0"));
        queue.offer("heavy", waiter("h1"));
        queue.offer("light", waiter("l0"));
        free.set(1);
        queue.drain();
        queue.offer("light", waiter("l1"));
        free.set(1);
        queue.drain();
        free.set(1);
        queue.drain();
        assertEquals(List.of("h0", "l0", "h1"), sent);
    }

    /** Capacity per kind (model) for {@link #waiterOf}. */
    private final Map<String, AtomicInteger> freeByKind = new java.util.HashMap<>();
    private final AtomicInteger offers = new AtomicInteger();

    private FairQueue.Waiter waiterOf(String kind, String name)
    {
        return new FairQueue.Waiter()
        {
            @Override
            public boolean tryTake()
            {
                offers.incrementAndGet();
                AtomicInteger left = freeByKind.computeIfAbsent(kind, k -> new AtomicInteger());
                if (left.get() <= 0)
                    return false;
                left.decrementAndGet();
                return true;
            }

            @Override
            public void proceed()
            {
                sent.add(name);
            }

            @Override
            public Object kind()
            {
                return kind;
            }
        };
    }

    /**
     * A client's head waits for a model with no room: the requests behind it for another
     * model are served meanwhile, in their order, and those of the full model keep theirs.
     */
    @Test
    void aRequestForAFullModelDoesNotHoldBackTheClientsRequestsForAnother()
    {
        FairQueue queue = new FairQueue(100);
        queue.offer("heavy", waiterOf("llama", "h-llama0"));
        queue.offer("heavy", waiterOf("qwen", "h-qwen0"));
        queue.offer("heavy", waiterOf("llama", "h-llama1"));
        queue.offer("heavy", waiterOf("qwen", "h-qwen1"));
        queue.offer("light", waiterOf("llama", "l-llama0"));
        queue.offer("light", waiterOf("qwen", "l-qwen0"));
        freeByKind.put("qwen", new AtomicInteger(3));
        queue.drain();
        assertEquals(List.of("h-qwen0", "l-qwen0", "h-qwen1"), sent);
        assertEquals(Map.of("heavy", 2, "light", 1), queue.sizes());

        freeByKind.put("llama", new AtomicInteger(2));
        queue.drain();
        assertEquals(List.of("h-qwen0", "l-qwen0", "h-qwen1", "l-llama0", "h-llama0"), sent,
            "the light client was served last round, the heavy client's llama requests keep their order");
    }

    /** A kind that could not take is not offered again in the same drain: a long line of it costs one offer, not one per waiter. */
    @Test
    void aLongLineOfAFullKindCostsOneOfferPerDrain()
    {
        FairQueue queue = new FairQueue(1000);
        for (int i = 0; i < 500; i++)
            queue.offer("heavy", waiterOf("llama", "h-llama" + i));
        queue.offer("heavy", waiterOf("qwen", "h-qwen"));
        freeByKind.put("qwen", new AtomicInteger(1));
        queue.drain();
        assertEquals(List.of("h-qwen"), sent);
        assertEquals(2, offers.get(), "one llama offer, then the qwen one; the other 499 llama waiters skipped");
    }

    @Test
    void nothingIsTakenWithoutCapacityAndTheQueueIsBounded()
    {
        FairQueue queue = new FairQueue(2);
        assertTrue(queue.offer("a", waiter("a0")));
        assertTrue(queue.offer("b", waiter("b0")));
        assertFalse(queue.offer("c", waiter("c0")), "past the bound");
        queue.drain();
        assertEquals(List.of(), sent);
        assertEquals(2, queue.size());
    }

    @Test
    void aWaiterWhoseClientLeftIsRemovedOnce()
    {
        FairQueue queue = new FairQueue(10);
        FairQueue.Waiter gone = waiter("gone");
        queue.offer("a", gone);
        queue.offer("a", waiter("a1"));
        assertTrue(queue.remove("a", gone));
        assertFalse(queue.remove("a", gone));
        free.set(5);
        queue.drain();
        assertEquals(List.of("a1"), sent);
        assertEquals(0, queue.size());
        assertEquals(Map.of(), queue.sizes());
    }

    /**
     * Threads offer, drain and withdraw at once: every waiter ends exactly once, sent or
     * withdrawn, never both, and the queue is empty at the end.
     */
    @Test
    void concurrentOffersDrainsAndDeparturesEndEachWaiterExactlyOnce() throws Exception
    {
        FairQueue queue = new FairQueue(100_000);
        AtomicInteger capacity = new AtomicInteger();
        java.util.concurrent.atomic.AtomicLong sentCount = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong withdrawn = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong twice = new java.util.concurrent.atomic.AtomicLong();
        int perThread = 5_000;
        dev.cerebrasproxy.support.Concurrently.run(6, thread ->
        {
            for (int i = 0; i < perThread; i++)
            {
                java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
                FairQueue.Waiter waiter = new FairQueue.Waiter()
                {
                    @Override
                    public boolean tryTake()
                    {
                        return capacity.getAndUpdate(c -> c > 0 ? c - 1 : c) > 0;
                    }

                    @Override
                    public void proceed()
                    {
                        if (!ended.compareAndSet(false, true))
                            twice.incrementAndGet();
                        sentCount.incrementAndGet();
                    }
                };
                String client = "c" + (i % 3);
                queue.offer(client, waiter);
                if (i % 4 == 0)
                    capacity.addAndGet(3);
                queue.drain();
                if (i % 5 == 0 && queue.remove(client, waiter))
                {
                    if (!ended.compareAndSet(false, true))
                        twice.incrementAndGet();
                    withdrawn.incrementAndGet();
                }
            }
        });
        capacity.set(Integer.MAX_VALUE);
        queue.drain();
        assertEquals(0, twice.get());
        assertEquals(6L * perThread, sentCount.get() + withdrawn.get());
        assertEquals(0, queue.size());
        assertEquals(Map.of(), queue.sizes());
    }
}
