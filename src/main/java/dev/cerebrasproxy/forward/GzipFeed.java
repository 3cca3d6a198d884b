package dev.cerebrasproxy.forward;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Decodes gzip as it is pushed in, chunk by chunk, handing the decoded bytes on as they
 * come: what {@link UsageScanner} needs to read the usage of an answer that passes to
 * the client compressed, without holding that answer. Memory is the inflater's window
 * and one output buffer. On anything that is not gzip it stops quietly: the client still
 * gets every byte, only the usage goes unread.
 */
final class GzipFeed
{
    private static final int FEXTRA = 4;
    private static final int FNAME = 8;
    private static final int FCOMMENT = 16;
    private static final int FHCRC = 2;
    /** A header longer than this (a huge file name or extra field) is not worth reading. */
    private static final int MAX_HEADER = 4096;
    /**
     * No completion decodes to this much; a body that does is a gzip bomb, and the bytes
     * still pass to the client as they came: only the usage goes unread past it.
     */
    static final long MAX_DECODED = 256L * 1024 * 1024;

    private final Inflater inflater = new Inflater(true);
    private final byte[] decoded = new byte[8192];
    private byte[] header = new byte[0];
    private boolean inBody;
    private long decodedTotal;
    private boolean stopped;

    /** Feeds the compressed bytes (the buffer is left as it was); decoded bytes go to {@code sink}. */
    void feed(ByteBuffer compressed, Consumer<ByteBuffer> sink)
    {
        if (stopped || !compressed.hasRemaining())
            return;
        byte[] bytes = new byte[compressed.remaining()];
        compressed.duplicate().get(bytes);
        if (!inBody)
        {
            byte[] all = Arrays.copyOf(header, header.length + bytes.length);
            System.arraycopy(bytes, 0, all, header.length, bytes.length);
            int length = headerLength(all);
            if (length == -1)
            {
                header = all;
                stopped = all.length > MAX_HEADER;
                return;
            }
            if (length < 0)
            {
                stop();
                return;
            }
            inBody = true;
            header = null;
            bytes = Arrays.copyOfRange(all, length, all.length);
        }
        inflater.setInput(bytes);
        try
        {
            while (!inflater.finished() && !inflater.needsInput())
            {
                int n = inflater.inflate(decoded);
                decodedTotal += n;
                if (decodedTotal > MAX_DECODED)
                {
                    stop();
                    return;
                }
                if (n > 0)
                    sink.accept(ByteBuffer.wrap(decoded, 0, n));
                else if (inflater.needsDictionary())
                {
                    stop();
                    return;
                }
            }
        }
        catch (DataFormatException e)
        {
            stop();
        }
        if (inflater.finished())
            stop(); // the trailer (and a rare second member) carry no usage
    }

    /** Stops decoding and frees the inflater; later bytes are ignored. */
    void stop()
    {
        stopped = true;
        inflater.end();
    }

    /** The gzip header's length, -1 if more bytes are needed to know, -2 if this is not gzip. */
    private static int headerLength(byte[] b)
    {
        if (b.length < 10)
            return b.length >= 2 && ((b[0] & 0xff) != 0x1f || (b[1] & 0xff) != 0x8b) ? -2 : -1;
        if ((b[0] & 0xff) != 0x1f || (b[1] & 0xff) != 0x8b || b[2] != 8)
            return -2;
        int flags = b[3] & 0xff;
        int at = 10;
        if ((flags & FEXTRA) != 0)
        {
            if (b.length < at + 2)
                return -1;
            at += 2 + ((b[at] & 0xff) | (b[at + 1] & 0xff) << 8);
        }
        for (int flag : new int[] {FNAME, FCOMMENT})
        {
            if ((flags & flag) != 0)
            {
                while (at < b.length && b[at] != 0)
                    at++;
                if (at >= b.length)
                    return -1;
                at++;
            }
        }
        if ((flags & FHCRC) != 0)
            at += 2;
        return at <= b.length ? at : -1;
    }
}
