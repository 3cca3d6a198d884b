package dev.cerebrasproxy;

import java.io.IOException;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Writes upstream's chunks to the client without blocking a thread, and flushes each
 * one. Without the flush, containers aggregate small writes, and server-sent events
 * would reach the client in bursts instead of as they are produced.
 *
 * <p>One chunk is in flight at a time: the next is demanded from upstream only when
 * this one's callback succeeds, which is also what bounds memory for slow clients.
 * Upstream's thread hands chunks in and the container's thread reports progress, so the
 * state is guarded by this object's lock; callbacks run outside it.
 */
final class FlushingWriter implements WriteListener
{
    private final ServletOutputStream output;
    private final Response upstream;
    private boolean listening;
    private byte[] bytes;
    private int offset;
    private int length;
    private boolean written;
    private boolean flushed;
    private Callback callback;
    private Runnable whenIdle;

    FlushingWriter(ServletOutputStream output, Response upstream)
    {
        this.output = output;
        this.upstream = upstream;
    }

    void write(byte[] bytes, int offset, int length, Callback callback) throws IOException
    {
        synchronized (this)
        {
            this.bytes = bytes;
            this.offset = offset;
            this.length = length;
            this.written = false;
            this.flushed = false;
            this.callback = callback;
            if (!listening)
            {
                listening = true;
                output.setWriteListener(this); // the container calls onWritePossible
                return;
            }
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

    @Override
    public void onWritePossible() throws IOException
    {
        Callback done = null;
        Runnable after;
        synchronized (this)
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
                    done = callback;
                    break;
                }
            }
            if (done == null)
                return;
            callback = null;
            bytes = null;
            after = whenIdle;
            whenIdle = null;
        }
        done.succeeded();
        if (after != null)
            after.run();
    }

    @Override
    public void onError(Throwable failure)
    {
        Callback failed;
        Runnable after;
        synchronized (this)
        {
            failed = callback;
            callback = null;
            bytes = null;
            after = whenIdle;
            whenIdle = null;
        }
        if (failed != null)
            failed.failed(failure);
        else
            upstream.abort(failure);
        if (after != null)
            after.run();
    }
}
