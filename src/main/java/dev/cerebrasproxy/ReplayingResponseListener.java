package dev.cerebrasproxy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeoutException;

import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.util.Callback;

/**
 * Listens to one upstream attempt and decides, from the status line alone, what becomes
 * of it: an answer about the key (429, 500, 401, 402, 403) is read and discarded, the
 * pool learns from it, and the call is replayed with the next key; anything else
 * streams to the client as it arrives. Nothing of a discarded attempt reaches the
 * client, and once a byte has reached the client the call is never replayed.
 */
final class ReplayingResponseListener implements Response.Listener
{
    /** Enough of an error body to read its code and log its message; the rest is drained unread. */
    private static final int MAX_ERROR_BODY_BYTES = 64 * 1024;

    private enum Mode
    {
        /** Status and headers went to the client; content follows as it arrives. */
        PASS,
        /** An answer about the key: read (capped) to learn why, then replay. */
        DISCARD,
        /** Encoded in a way the client did not accept: read whole, decode, then send. */
        DECODE
    }

    private final CerebrasProxyServlet servlet;
    private final KeyPool pool;
    private final ProxiedCall call;
    private final ApiKey key;
    private Mode mode;
    private ByteArrayOutputStream held;
    /** When this attempt was sent: the listener is made just before. */
    private final long sentNanos = System.nanoTime();

    ReplayingResponseListener(CerebrasProxyServlet servlet, KeyPool pool, ProxiedCall call, ApiKey key)
    {
        this.servlet = servlet;
        this.pool = pool;
        this.call = call;
        this.key = key;
    }

    @Override
    public void onHeaders(Response response)
    {
        servlet.upstreamAnswered(key, System.nanoTime() - sentNanos);
        String encoding = response.getHeaders().get(HttpHeader.CONTENT_ENCODING);
        if (KeyFeedback.isAboutTheKey(response.getStatus()))
        {
            mode = Mode.DISCARD;
            held = new ByteArrayOutputStream();
            return;
        }
        KeyFeedback.passing(pool, key, response);
        if (!ContentCoding.accepts(call.request.getHeader("Accept-Encoding"), encoding))
        {
            mode = Mode.DECODE;
            held = new ByteArrayOutputStream();
        }
        else
        {
            mode = Mode.PASS;
            servlet.beginResponse(call, key, response, false);
        }
    }

    @Override
    public void onContent(Response response, Content.Chunk chunk, Runnable demander)
    {
        if (mode == Mode.PASS)
        {
            chunk.retain();
            servlet.writeContent(call, response, chunk.getByteBuffer(), Callback.from(chunk::release, Callback.from(demander, response::abort)));
            return;
        }
        if (held != null)
            hold(chunk.getByteBuffer(), mode == Mode.DISCARD ? MAX_ERROR_BODY_BYTES : servlet.maxBodyBytes());
        demander.run();
    }

    private void hold(ByteBuffer buffer, long cap)
    {
        int room = (int)Math.max(0, Math.min(buffer.remaining(), cap - held.size()));
        if (buffer.hasArray())
        {
            held.write(buffer.array(), buffer.arrayOffset() + buffer.position(), room);
        }
        else
        {
            byte[] copy = new byte[room];
            buffer.get(copy);
            held.write(copy, 0, room);
        }
        if (room < buffer.remaining() && mode == Mode.DECODE)
            held = null; // over the cap: reported as a failure on completion
    }

    @Override
    public void onComplete(Result result)
    {
        Response response = result.getResponse();
        if (mode == Mode.DISCARD)
        {
            // Act even if the body was cut short: the status already said it was about the key.
            UpstreamError error = UpstreamError.read(response.getHeaders().get(HttpHeader.CONTENT_ENCODING), held.toByteArray());
            call.recordFailure(response.getStatus());
            if (KeyFeedback.failed(pool, key, response, error) == KeyFeedback.Verdict.ANSWER_BUSY)
                servlet.answerBusy(call, key, error.decoded());
            else
                servlet.replay(call, key, response.getStatus(), key.redact(error.description()), error.code() == null ? null : key.redact(error.code()));
        }
        else if (result.isFailed() && mode == null && !(result.getFailure() instanceof TimeoutException))
        {
            // Refused, or closed before a response byte: upstream never answered, so the
            // request was not served and another attempt cannot charge it twice.
            call.recordUnreachable();
            servlet.replayUnanswered(call, key, result.getFailure());
        }
        else if (result.isFailed())
        {
            servlet.fail(call, key, result.getFailure());
        }
        else if (mode == Mode.DECODE)
        {
            servlet.sendDecoded(call, key, response, held == null ? null : held.toByteArray());
        }
        else
        {
            servlet.complete(call, key, response.getStatus());
        }
    }
}
