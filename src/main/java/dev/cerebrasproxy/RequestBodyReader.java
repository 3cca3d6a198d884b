package dev.cerebrasproxy;

import java.io.IOException;
import java.util.Arrays;

import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;

/**
 * Reads a client's body without blocking a thread, up to a cap. A declared
 * {@code Content-Length} over the cap is refused before a byte is read; a chunked body
 * is refused as soon as it passes the cap, so an oversized upload is never held whole.
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

    private final ServletInputStream input;
    private final long cap;
    private final Outcome outcome;
    private byte[] buffer;
    private int length;
    private boolean done;

    private RequestBodyReader(ServletInputStream input, long declaredLength, long cap, Outcome outcome)
    {
        this.input = input;
        this.cap = cap;
        this.outcome = outcome;
        this.buffer = new byte[(int)(declaredLength >= 0 ? declaredLength : Math.min(cap, INITIAL_CHUNKED_CAPACITY))];
    }

    /**
     * Starts reading; exactly one of the outcome's methods is called once, on this thread
     * or a container thread.
     */
    static void read(ServletInputStream input, long declaredLength, long cap, Outcome outcome)
    {
        if (declaredLength > cap)
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
            if (length == buffer.length)
            {
                // Full: one more byte tells the end of the body from a body that needs room.
                int next = input.read();
                if (next < 0)
                    return; // onAllDataRead follows
                if (length >= cap)
                {
                    done = true;
                    buffer = null;
                    outcome.bodyTooLarge(cap);
                    return;
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
