package dev.cerebrasproxy.forward;

import java.io.IOException;
import java.util.Arrays;

import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;

/**
 * Reads a client's body without blocking a thread, up to a cap. The buffer grows with the
 * bytes that actually arrive, never ahead of them: a declared {@code Content-Length} is
 * only a promise, and eight sockets announcing 32 MiB and sending one byte each held
 * 288 MiB while the buffers were sized by it. The growth is taken from the
 * {@link BodyBudget} shared by all bodies still arriving; past it the body is refused.
 *
 * <p>An oversized body is never held: past the cap the rest is read into a small scratch
 * buffer and dropped, so the client, still sending, gets its 413 instead of a reset
 * connection (closing a socket with unread input resets it, and the answer can be lost).
 * A body that would take more than {@link #MAX_DRAIN_BYTES} to drop is refused at once: a
 * declared length that large before a byte is read.
 */
final class RequestBodyReader implements ReadListener
{
    interface Outcome
    {
        void bodyRead(RequestBody body);

        void bodyTooLarge(long cap);

        /** The bodies still arriving hold all the memory they may: this one cannot grow. */
        void bodyOverBudget(long budget);

        void bodyFailed(Throwable failure);
    }

    static final int INITIAL_CAPACITY = 8 * 1024;
    static final long MAX_DRAIN_BYTES = 8L * 1024 * 1024;

    private final ServletInputStream input;
    private final long cap;
    /** The most the buffer may need: the declared length, or the cap for a chunked body. */
    private final long limit;
    private final BodyBudget budget;
    private final Outcome outcome;
    private byte[] buffer;
    private int length;
    private boolean done;
    /** Past the cap: bytes are read and dropped, counted here. */
    private long dropped = -1;
    /** What this body took from the budget, given back when it ends. */
    private long taken;

    private RequestBodyReader(ServletInputStream input, long declaredLength, long cap, BodyBudget budget, Outcome outcome)
    {
        this.input = input;
        this.cap = cap;
        this.budget = budget;
        this.outcome = outcome;
        this.limit = declaredLength >= 0 ? Math.min(declaredLength, cap) : cap;
        if (declaredLength > cap)
            dropped = 0;
    }

    /**
     * Starts reading; exactly one of the outcome's methods is called once, on this thread
     * or a container thread.
     */
    static void read(ServletInputStream input, long declaredLength, long cap, BodyBudget budget, Outcome outcome)
    {
        if (declaredLength > cap + MAX_DRAIN_BYTES)
        {
            outcome.bodyTooLarge(cap);
            return;
        }
        RequestBodyReader reader = new RequestBodyReader(input, declaredLength, cap, budget, outcome);
        if (!reader.grow((int)Math.min(reader.dropped >= 0 ? INITIAL_CAPACITY : reader.limit, INITIAL_CAPACITY)))
            return;
        input.setReadListener(reader);
    }

    /** A buffer of {@code capacity} bytes holding what was read, if the budget has room; else the body is refused. */
    private boolean grow(int capacity)
    {
        int current = buffer == null ? 0 : buffer.length;
        if (!budget.take(capacity - current))
        {
            end();
            outcome.bodyOverBudget(budget.max());
            return false;
        }
        taken += capacity - current;
        buffer = buffer == null ? new byte[capacity] : Arrays.copyOf(buffer, capacity);
        return true;
    }

    /** Done with this body: what it took goes back to the budget. */
    private void end()
    {
        done = true;
        budget.giveBack(taken);
        taken = 0;
    }

    @Override
    public void onDataAvailable() throws IOException
    {
        while (!done && input.isReady())
        {
            if (dropped >= 0)
            {
                int read = input.read(buffer);
                if (read < 0)
                    return; // onAllDataRead answers 413
                dropped += read;
                if (dropped > MAX_DRAIN_BYTES)
                {
                    end();
                    buffer = null;
                    outcome.bodyTooLarge(cap);
                }
                continue;
            }
            if (length == buffer.length)
            {
                // Full: one more byte tells the end of the body from a body that needs room.
                int next = input.read();
                if (next < 0)
                    return; // onAllDataRead follows
                if (length >= limit)
                {
                    // Over the cap (a chunked body, or more than declared): drop what was held and the rest as it comes.
                    dropped = 1;
                    continue;
                }
                if (!grow((int)Math.min(limit, Math.max(16, 2L * buffer.length))))
                    return;
                buffer[length++] = (byte)next;
                continue;
            }
            int read = input.read(buffer, length, buffer.length - length);
            if (read < 0)
                return; // onAllDataRead follows
            length += read;
        }
    }

    @Override
    public void onAllDataRead()
    {
        if (done)
            return;
        end();
        if (dropped >= 0)
        {
            buffer = null;
            outcome.bodyTooLarge(cap);
            return;
        }
        outcome.bodyRead(new RequestBody(buffer, length));
    }

    @Override
    public void onError(Throwable failure)
    {
        if (done)
            return;
        end();
        buffer = null;
        outcome.bodyFailed(failure);
    }
}
