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

    FlushingWriter(ServletOutputStream output, Response upstream)
    {
        this.output = output;
        this.upstream = upstream;
    }

    void write(byte[] bytes, int offset, int length, Callback callback) throws IOException
    {
        this.bytes = bytes;
        this.offset = offset;
        this.length = length;
        this.written = false;
        this.flushed = false;
        this.callback = callback;
        if (listening)
        {
            onWritePossible();
        }
        else
        {
            listening = true;
            output.setWriteListener(this); // the container calls onWritePossible
        }
    }

    @Override
    public void onWritePossible() throws IOException
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
                Callback done = callback;
                callback = null;
                bytes = null;
                done.succeeded();
                return;
            }
        }
    }

    @Override
    public void onError(Throwable failure)
    {
        Callback failed = callback;
        callback = null;
        bytes = null;
        if (failed != null)
            failed.failed(failure);
        else
            upstream.abort(failure);
    }
}
