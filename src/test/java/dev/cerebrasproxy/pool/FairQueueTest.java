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
}
