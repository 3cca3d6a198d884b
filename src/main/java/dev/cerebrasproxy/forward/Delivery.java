package dev.cerebrasproxy.forward;

import java.io.IOException;
import java.util.Locale;

import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.RetryableRequestException;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.io.Content;

/**
 * How far one attempt's request got towards upstream, as far as the proxy can know, which
 * decides whether an attempt that got no answer may go to another key. A replay must not
 * charge twice: only a request that upstream cannot have had whole is replayed.
 *
 * <p>Jetty's own verdict ({@code Result.getRequestFailure()}) is no guide: when upstream
 * reads the request and closes at once, the HTTP client may see the close before it has
 * recorded its own write as done, and call a request failed that upstream had whole. So
 * this errs the other way: a body counts as possibly delivered from the moment the
 * sender takes its last chunk to write, and a request without a body from the moment it
 * begins on a connection. A refused connection, or one reset while the body was still
 * going out, is safe to replay; a pooled connection found closed before the request went
 * out is moved to another connection by the HTTP client itself.
 */
final class Delivery
{
    private final boolean idempotent;
    private volatile boolean begun;
    private volatile boolean lastChunkTaken;

    Delivery(String method)
    {
        // Running these twice changes nothing upstream (RFC 9110, 9.2.2).
        this.idempotent = switch (method)
        {
            case "GET", "HEAD", "OPTIONS", "PUT", "DELETE" -> true;
            default -> false;
        };
    }

    /** Watches an attempt: when it begins on a connection, and its body, if any. */
    void watch(Request upstream, Request.Content body)
    {
        upstream.onRequestBegin(request -> begun = true);
        if (body != null)
            upstream.body(new Tracked(body));
        else
            lastChunkTaken = true;
    }

    /**
     * Whether the attempt never began on a connection: the connection it waited for failed
     * (refused, or closed in its TLS handshake or h2 preface), so upstream saw nothing.
     */
    boolean notSent()
    {
        return !begun;
    }

    /**
     * Whether upstream said, over h2, that it did not process the attempt's stream: a reset
     * with REFUSED_STREAM, or a GOAWAY whose last stream is below it (RFC 9113, 8.7). Such
     * a request may go again whatever its method, and with the same key, which was asked
     * nothing. Jetty's client tells these apart only by the failure it reports: its
     * message for the reset ({@code HttpReceiverOverHTTP2.onReset}), its type for the
     * GOAWAY; {@code UpstreamRefusalTest} holds both to it.
     */
    static boolean refusedUnprocessed(Throwable failure)
    {
        return failure instanceof RetryableRequestException
            || failure instanceof IOException && REFUSED_STREAM.equals(failure.getMessage());
    }

    private static final String REFUSED_STREAM = ErrorCode.REFUSED_STREAM_ERROR.name().toLowerCase(Locale.ROOT);

    /** Whether an attempt that got no answer byte may be sent again with another key. */
    boolean replayable()
    {
        return idempotent || !begun || !lastChunkTaken;
    }

    /** The body, telling when the sender takes its last chunk. */
    private final class Tracked implements Request.Content
    {
        private final Request.Content body;

        Tracked(Request.Content body)
        {
            this.body = body;
        }

        @Override
        public Content.Chunk read()
        {
            Content.Chunk chunk = body.read();
            // A failed content answers every read with its failure, marked last: the body
            // stopped there, its last slice never went out.
            if (chunk != null && chunk.isLast() && !Content.Chunk.isFailure(chunk))
                lastChunkTaken = true;
            return chunk;
        }

        @Override
        public void demand(Runnable demandCallback)
        {
            body.demand(demandCallback);
        }

        @Override
        public void fail(Throwable failure)
        {
            body.fail(failure);
        }

        @Override
        public void fail(Throwable failure, boolean last)
        {
            body.fail(failure, last);
        }

        @Override
        public long getLength()
        {
            return body.getLength();
        }

        @Override
        public boolean rewind()
        {
            return body.rewind();
        }

        @Override
        public String getContentType()
        {
            return body.getContentType();
        }
    }
}
