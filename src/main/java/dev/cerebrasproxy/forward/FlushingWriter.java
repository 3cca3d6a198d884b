package dev.cerebrasproxy.forward;

import java.io.IOException;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Writes upstream's chunks to the client without blocking a thread, and flushes each
 * chunk of an event stream. Without the flush, containers aggregate small writes, and
 * server-sent events would reach the client in bursts instead of as they are produced.
 *
 * <p>One chunk is in flight at a time: the next is demanded from upstream only when
 * this one's callback succeeds, which is also what bounds memory for slow clients.
 *
 * <p>The listener is registered when the call starts, on the container's thread
 * ({@link #listenOn}). Registering it later, from the HTTP client's thread that
 * delivers upstream's first chunk, made the container hand the first write over to
 * another of its threads: one more thread switch per request, which on a busy machine
 * costs more than the write itself. Registered early, a chunk is written on the thread
 * that received it whenever the client's socket can take it.
 */
final class FlushingWriter implements WriteListener
{
    private final ServletOutputStream output;
    private Response upstream;
    private byte[] bytes;
    private int offset;
    private int length;
    private boolean written;
    private boolean flushed;
    private Callback callback;
    private Runnable whenIdle;

    /** Told first when the client's connection fails: a write that fails is about the client. */
    private final Runnable clientGone;

    private FlushingWriter(ServletOutputStream output, Runnable clientGone)
    {
        this.output = output;
        this.clientGone = clientGone;
    }

    /** Puts the client's response in non-blocking mode; call from the container's thread. */
    static FlushingWriter listenOn(ServletOutputStream output, Runnable clientGone)
    {
        FlushingWriter writer = new FlushingWriter(output, clientGone);
        output.setWriteListener(writer);
        return writer;
    }

    /**
     * @param flush whether the chunk must leave now (an event stream's); other answers
     * leave as the container writes them and at the latest when the response completes,
     * which saves a flush per chunk
     */
    void write(Response upstream, byte[] bytes, int offset, int length, boolean flush, Callback callback)
    {
        synchronized (this)
        {
            this.upstream = upstream;
            this.bytes = bytes;
            this.offset = offset;
            this.length = length;
            this.written = false;
            this.flushed = !flush;
            this.callback = callback;
        }
        onWritePossible();
    }

    /**
     * Runs {@code action} once no chunk is in flight: now, or when the pending one is out.
     * An upstream that fails right after its last chunk must not cut that chunk off.
     */
    void whenIdle(Runnable action)
    {
        synchronized (this)
        {
            if (callback != null)
            {
                whenIdle = action;
                return;
            }
        }
        action.run();
    }

    /**
     * Called by this class when a chunk arrives and by the container when the socket
     * drains, possibly at once on two threads: the lock keeps each step done once.
     */
    @Override
    public void onWritePossible()
    {
        Callback done = null;
        Throwable failure = null;
        Runnable after = null;
        synchronized (this)
        {
            try
            {
                while (callback != null && output.isReady())
                {
                    if (!written)
                    {
                        written = true;
                        output.write(bytes, offset, length);
                    }
                    else if (!flushed)
                    {
                        flushed = true;
                        output.flush();
                    }
                    else
                    {
                        done = takeCallback();
                        after = takeWhenIdle();
                    }
                }
            }
            catch (Throwable x)
            {
                // The chunk's callback is taken here, once: thrown on, the failure would also
                // reach the caller of write() and the container's onError, and the chunk's
                // callback would fail twice (release the chunk twice, abort twice).
                failure = x;
                done = takeCallback();
                after = takeWhenIdle();
            }
        }
        // Outside the lock: success demands the next chunk.
        if (failure != null)
            clientGone.run();
        if (done != null)
        {
            if (failure == null)
                done.succeeded();
            else
                done.failed(failure);
        }
        if (after != null)
            after.run();
    }

    private Callback takeCallback()
    {
        Callback taken = callback;
        callback = null;
        bytes = null;
        return taken;
    }

    private Runnable takeWhenIdle()
    {
        Runnable taken = whenIdle;
        whenIdle = null;
        return taken;
    }

    @Override
    public void onError(Throwable failure)
    {
        Callback failed;
        Response attempt;
        Runnable after;
        synchronized (this)
        {
            failed = takeCallback();
            attempt = upstream;
            after = takeWhenIdle();
        }
        clientGone.run();
        if (failed != null)
            failed.failed(failure);
        else if (attempt != null)
            attempt.abort(failure);
        if (after != null)
            after.run();
    }
}
