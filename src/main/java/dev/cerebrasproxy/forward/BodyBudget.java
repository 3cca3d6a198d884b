package dev.cerebrasproxy.forward;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The memory all request bodies still arriving may hold together
 * (PROXY_MAX_PENDING_BODY_BYTES). Each body's buffer grows with the bytes that actually
 * came, and takes its growth from here first: a crowd of slow senders announcing large
 * bodies can hold no more than this, however long they take. A body read whole gives its
 * share back (it is then the call's, until the call ends).
 */
final class BodyBudget
{
    private final long max;
    private final AtomicLong held = new AtomicLong();

    BodyBudget(long max)
    {
        this.max = max;
    }

    /** Takes {@code bytes} if they fit; false, taking nothing, if they do not. */
    boolean take(long bytes)
    {
        long now;
        do
        {
            now = held.get();
            if (now + bytes > max)
                return false;
        }
        while (!held.compareAndSet(now, now + bytes));
        return true;
    }

    void giveBack(long bytes)
    {
        held.addAndGet(-bytes);
    }

    /** What bodies still arriving hold now. */
    long held()
    {
        return held.get();
    }

    long max()
    {
        return max;
    }
}
