package dev.cerebrasproxy.forward;

import java.io.IOException;
import java.util.Arrays;

import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;

/**
 * Reads a client's body without blocking a thread, up to a cap. An oversized body is
 * never held: past the cap the rest is read into a small scratch buffer and dropped, so
 * the client, still sending, gets its 413 instead of a reset connection (closing a socket
 * with unread input resets it, and the answer can be lost). A body that would take more
 * than {@link #MAX_DRAIN_BYTES} to drop is refused at once: a declared length that large
 * before a byte is read.
 */
final class RequestBodyReader implements ReadListener
{
    interface Outcome
    {
        void bodyRead(RequestBody body);

        void bodyTooLarge(long cap);

        void bodyFailed(Throwable failure);
    }

    private static final int INITIAL_CHUNKED_CAPACITY = 8 * 1024;
    static final long MAX_DRAIN_BYTES = 8L * 1024 * 1024;

    private final ServletInputStream input;
    private final long cap;
    private final Outcome outcome;
    private byte[] buffer;
    private int length;
    private boolean done;
    /** Past the cap: bytes are read and dropped, counted here. */
    private long dropped = -1;

    private RequestBodyReader(ServletInputStream input, long declaredLength, long cap, Outcome outcome)
    {
        this.input = input;
        this.cap = cap;
        this.outcome = outcome;
        if (declaredLength > cap)
        {
            buffer = new byte[INITIAL_CHUNKED_CAPACITY];
            dropped = 0;
        }
        else
        {
            buffer = new byte[(int)(declaredLength >= 0 ? declaredLength : Math.min(cap, INITIAL_CHUNKED_CAPACITY))];
        }
    }

    /**
     * Starts reading; exactly one of the outcome's methods is called once, on this thread
     * or a container thread.
     */
    static void read(ServletInputStream input, long declaredLength, long cap, Outcome outcome)
    {
        if (declaredLength > cap + MAX_DRAIN_BYTES)
        {
            outcome.bodyTooLarge(cap);
            return;
        }
        input.setReadListener(new RequestBodyReader(input, declaredLength, cap, outcome));
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
                    done = true;
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
                if (length >= cap)
                {
                    // Over the cap: drop what was held and the rest as it comes.
                    buffer = new byte[INITIAL_CHUNKED_CAPACITY];
                    dropped = 1;
                    continue;
                }
                buffer = Arrays.copyOf(buffer, (int)Math.min(cap, Math.max(16, 2L * buffer.length)));
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
        done = true;
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
        done = true;
        buffer = null;
        outcome.bodyFailed(failure);
    }
}
