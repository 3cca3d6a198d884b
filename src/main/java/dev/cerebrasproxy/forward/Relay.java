package dev.cerebrasproxy.forward;

import java.nio.ByteBuffer;

import dev.cerebrasproxy.access.Clients;
import dev.cerebrasproxy.ops.ProxyMetrics;
import dev.cerebrasproxy.pool.ApiKey;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.util.Callback;

/**
 * The answer of the attempt that won, on its way to the client: which of upstream's
 * headers pass, and each chunk of content handed to the client's {@link FlushingWriter}
 * as it arrives, never held. On the side it reads the answer's token usage
 * ({@link UsageScanner}) and times a stream's first event. The next chunk is asked of
 * upstream only once the last is out (see {@link ChunkDemand}).
 */
final class Relay
{
    private final ApiKey key;
    /** Whether the body is sent decoded, so upstream's coding headers no longer apply. */
    private final boolean decoded;
    private final boolean streaming;
    /** Reads the answer's token usage as it passes, or null when the answer cannot report any. */
    private final UsageScanner usage;
    private final FlushingWriter writer;
    private final ProxyMetrics metrics;
    private final long requestStartNanos;
    private boolean firstEventSeen;

    Relay(ApiKey key, Response upstream, boolean decoded, FlushingWriter writer, ProxyMetrics metrics, long requestStartNanos)
    {
        this.key = key;
        this.decoded = decoded;
        this.writer = writer;
        this.metrics = metrics;
        this.requestStartNanos = requestStartNanos;
        String contentType = upstream.getHeaders().get(HttpHeader.CONTENT_TYPE);
        streaming = contentType != null && contentType.regionMatches(true, 0, "text/event-stream", 0, 17);
        // Only a successful completion (JSON or a stream) reports usage.
        boolean json = contentType != null && contentType.regionMatches(true, 0, "application/json", 0, 16);
        usage = upstream.getStatus() / 100 == 2 && (json || streaming)
            ? UsageScanner.forCoding(decoded ? null : upstream.getHeaders().get(HttpHeader.CONTENT_ENCODING))
            : null;
    }

    /** Whether the answer is an event stream. */
    boolean streaming()
    {
        return streaming;
    }

    /** What of upstream's response header reaches the client: its value, or null for nothing. */
    String header(String name, String value)
    {
        if (decoded && (HttpHeader.CONTENT_ENCODING.is(name) || HttpHeader.CONTENT_LENGTH.is(name)))
            return null;
        // The response has its own (ResponseStamp): a second Date makes clients that merge
        // repeated headers (the Vercel AI SDK) see an unparsable one.
        if (HttpHeader.DATE.is(name) || HttpHeader.SERVER.is(name))
            return null;
        // These are the proxy's word about the client's own limits, never upstream's.
        if (name.regionMatches(true, 0, Clients.HEADER_PREFIX, 0, Clients.HEADER_PREFIX.length()))
            return null;
        // An upstream that echoes the key in a header must not hand it to the client.
        return key.appearsIn(value) ? null : value;
    }

    /** Some of the answer's content, to the client; {@code callback} completes when it is out. */
    void content(Response upstream, ByteBuffer content, Callback callback)
    {
        try
        {
            if (usage != null)
                usage.scan(content); // a copy of the tail only: the bytes go on unheld
            if (streaming && !firstEventSeen && content.hasRemaining())
            {
                firstEventSeen = true;
                metrics.firstEvent(key, System.nanoTime() - requestStartNanos);
            }
            int length = content.remaining();
            if (content.hasArray())
            {
                writer.write(upstream, content.array(), content.arrayOffset() + content.position(), length, streaming, callback);
                return;
            }
            // Rare: the client reads into heap buffers (see CerebrasProxyServlet).
            byte[] bytes = new byte[length];
            content.get(bytes);
            writer.write(upstream, bytes, 0, length, streaming, callback);
        }
        catch (Throwable x)
        {
            callback.failed(x);
        }
    }

    /** The tokens the answer used, once it is whole, or null if it did not say. */
    UsageScanner.Usage usage()
    {
        return usage == null ? null : usage.usage();
    }
}
