package dev.cerebrasproxy.forward;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeoutException;

import dev.cerebrasproxy.ProxyContext;
import dev.cerebrasproxy.ops.ProxyMetrics;
import dev.cerebrasproxy.pool.ApiKey;
import dev.cerebrasproxy.pool.KeyFeedback;
import dev.cerebrasproxy.pool.KeyPool;
import dev.cerebrasproxy.pool.UpstreamError;
import dev.cerebrasproxy.pool.UpstreamHeaders;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.util.Callback;

/**
 * Listens to one upstream attempt and decides, from the status line alone, what becomes
 * of it: an answer about the key (429, 500, 401, 402, 403) is read and discarded, the
 * pool learns from it, and the call replays with the next key; anything else streams to
 * the client as it arrives. Nothing of a discarded attempt reaches the client, and once
 * a byte has reached the client the call is never replayed. It tells its
 * {@link ProxyCall} what it decided; the call acts on it.
 */
final class AttemptListener implements Response.Listener
{
    /** Enough of an error body to read its code and log its message; the rest is drained unread. */
    private static final int MAX_ERROR_BODY_BYTES = 64 * 1024;

    /** An answer in a coding the client does not accept, which the proxy could not decode for it either. */
    static final class Undecodable extends IOException
    {
        private final String coding;

        Undecodable(int status, String coding, String reason)
        {
            super("upstream answered " + status + " in " + coding + " coding, which the client does not accept, and it could not be decoded (" + reason + ")", null);
            this.coding = coding;
        }

        String coding()
        {
            return coding;
        }
    }

    private enum Mode
    {
        /** Status and headers went to the client; content follows as it arrives. */
        PASS,
        /** An answer about the key: read (capped) to learn why, then replay. */
        DISCARD,
        /** Encoded in a way the client did not accept: read whole, decode, then send. */
        DECODE
    }

    private final ProxyCall call;
    /** Where the replays go: the call's attempts, one key after another. */
    private final Dispatch dispatch;
    /** How far the attempt's request got: whether it may be replayed when no answer comes. */
    private final Delivery delivery;
    private final ApiKey key;
    private final KeyPool pool;
    private final ProxyMetrics metrics;
    private final String acceptEncoding;
    private final long maxBodyBytes;
    private final ChunkDemand demand;
    /** When this attempt was sent: the listener is made just before. */
    private final long sentNanos = System.nanoTime();
    /** The same moment on the pool's clock: what this attempt's rate-limit headers are as of, at the latest. */
    private final java.time.Instant sentAt;
    private Mode mode;
    /** The answer on its way to the client, once this attempt's answer passes. */
    private Relay relay;
    private ByteArrayOutputStream held;

    /**
     * @param acceptEncoding the client's {@code Accept-Encoding}, or null
     * @param delivery watches the attempt's request on its way out
     */
    AttemptListener(ProxyCall call, Dispatch dispatch, ApiKey key, ProxyContext context, String acceptEncoding, Delivery delivery, ChunkDemand demand)
    {
        this.demand = demand;
        this.call = call;
        this.dispatch = dispatch;
        this.delivery = delivery;
        this.key = key;
        this.pool = context.pool();
        this.sentAt = pool.now();
        this.metrics = context.metrics();
        this.acceptEncoding = acceptEncoding;
        this.maxBodyBytes = context.settings().maxBodyBytes();
    }

    /** Upstream's headers as the pool reads them. */
    private static UpstreamHeaders headersOf(Response response)
    {
        return header -> response.getHeaders().forEach(field -> header.accept(field.getName(), field.getValue()));
    }

    @Override
    public void onHeaders(Response response)
    {
        call.guarded(() -> headers(response));
    }

    private void headers(Response response)
    {
        if (call.ended())
        {
            response.abort(new java.io.IOException("the call ended"));
            return;
        }
        metrics.upstreamAnswered(key, System.nanoTime() - sentNanos);
        int status = response.getStatus();
        if (KeyFeedback.isAboutTheKey(status))
        {
            // Its reservation ends once its body has said what it was about (complete): what
            // frees then is offered with what the answer taught.
            mode = Mode.DISCARD;
            held = new ByteArrayOutputStream();
            return;
        }
        // The answer's headers report the budget as upstream counts it, this request included:
        // taken before the reservation ends, since ending it offers the freed capacity to the
        // queue at once. The other way round, a waiter was sent on the report before this
        // one, about 100 tokens more than upstream had: a token 429 for every request served
        // once a qwen budget's bucket ran low in the capacity benchmark.
        KeyFeedback.passing(pool, key, dispatch.model(), sentAt, status, headersOf(response));
        dispatch.attemptAnswered();
        if (!ContentCoding.accepts(acceptEncoding, response.getHeaders().get(HttpHeader.CONTENT_ENCODING)))
        {
            mode = Mode.DECODE;
            held = new ByteArrayOutputStream();
        }
        else
        {
            mode = Mode.PASS;
            relay = call.begin(key, response, -1);
        }
    }

    @Override
    public void onContent(Response response, Content.Chunk chunk, Runnable demander)
    {
        call.guarded(() -> content(response, chunk, demander));
    }

    private void content(Response response, Content.Chunk chunk, Runnable demander)
    {
        if (mode == Mode.PASS)
        {
            chunk.retain();
            relay.content(response, chunk.getByteBuffer(), Callback.from(chunk::release, Callback.from(() -> demand.next(demander), response::abort)));
            return;
        }
        if (!hold(chunk.getByteBuffer(), mode == Mode.DISCARD ? MAX_ERROR_BODY_BYTES : maxBodyBytes))
        {
            // Past the bound: stop here rather than read on. An error body has said what it
            // had to in its first 64 KiB (what came is read on completion); an answer to decode
            // cannot be sent whole, so it fails.
            response.abort(mode == Mode.DISCARD
                ? new IOException("upstream's error body is longer than " + MAX_ERROR_BODY_BYTES + " bytes; the rest was not read")
                : new Undecodable(response.getStatus(), response.getHeaders().get(HttpHeader.CONTENT_ENCODING), "larger than " + maxBodyBytes + " bytes"));
            return;
        }
        demand.next(demander);
    }

    /** Holds what fits under the cap; false when some did not fit. */
    private boolean hold(ByteBuffer buffer, long cap)
    {
        int room = (int)Math.max(0, Math.min(buffer.remaining(), cap - held.size()));
        if (buffer.hasArray())
        {
            held.write(buffer.array(), buffer.arrayOffset() + buffer.position(), room);
        }
        else
        {
            byte[] copy = new byte[room];
            buffer.duplicate().get(copy);
            held.write(copy, 0, room);
        }
        return room == buffer.remaining();
    }

    /**
     * Upstream's answer is whole. Its request may still be going out: upstream answered
     * before it read the body and reads no more of it. Jetty's client completes an exchange
     * only once its request is done too, so a stalled upload would hold the answer back
     * from the client until the idle timeout: the rest of it is not wanted, and goes no
     * further. For an exchange whose request is done already (nearly all), this does nothing.
     */
    @Override
    public void onSuccess(Response response)
    {
        if (!HttpStatus.isInterim(response.getStatus()))
            response.getRequest().abort(UPLOAD_NOT_WANTED);
    }

    /** Shared by every exchange: no stack, and suppression off, so nothing can be added to it. */
    private static final Exception UPLOAD_NOT_WANTED = new Exception("upstream answered before it had the whole request; the rest of it was not sent", null, false, false)
    {
    };

    @Override
    public void onComplete(Result result)
    {
        call.guarded(() -> complete(result));
    }

    private void complete(Result result)
    {
        // An answer about the key teaches the pool (a 429's report and rest) before its
        // reservation ends and the queue is offered what freed, as a served answer's headers do.
        Refusal refusal = mode == Mode.DISCARD && !call.ended() ? learnFrom(result.getResponse()) : null;
        dispatch.attemptAnswered();
        // Ended meanwhile (the client left, a crash): its request and response are the
        // container's again, and what this attempt came to no longer matters.
        if (call.ended())
            return;
        Response response = result.getResponse();
        if (mode == Mode.DISCARD)
            act(refusal);
        else if (result.isFailed() && mode == null && !(result.getFailure() instanceof TimeoutException))
        {
            // No answer byte. Refused, or cut before upstream had the request whole: it cannot
            // have processed it, so another key may try. Otherwise it may have (and charged
            // for it), and a replay could run a POST twice.
            if (delivery.notSent() || Delivery.refusedUnprocessed(result.getFailure()))
                dispatch.notSent(key, result.getFailure());
            else if (delivery.replayable())
                dispatch.unanswered(key, result.getFailure());
            else
                call.dropped(key, result.getFailure());
        }
        // Its status came, its body was lost with an upload upstream cut short (it answered
        // before it read the body): the status still goes to the client.
        else if (result.getResponseFailure() != null && mode == Mode.PASS && result.getRequestFailure() != null && response.getStatus() >= 400)
            call.answeredEarly(key, response.getStatus(), result.getFailure());
        else if (result.getResponseFailure() != null)
            call.failed(key, result.getFailure());
        // The answer came whole; it stands even when upstream then cut the upload.
        else if (mode == Mode.DECODE)
            sendDecoded(response);
        else
            call.finished(key, response.getStatus());
    }

    /** What an answer about the key came to: the pool's verdict and the body it gave. */
    private record Refusal(int status, KeyFeedback.Verdict verdict, UpstreamError error, byte[] decoded)
    {
    }

    /** An answer about the key, whole or cut short: the status already said what it was about; the pool learns it here. */
    private Refusal learnFrom(Response response)
    {
        int status = response.getStatus();
        byte[] decoded = null;
        UpstreamError error;
        try
        {
            decoded = BodyRedaction.of(key, ContentCoding.decode(response.getHeaders().get(HttpHeader.CONTENT_ENCODING), held.toByteArray(), MAX_ERROR_BODY_BYTES));
            error = UpstreamError.parse(decoded);
        }
        catch (IOException e)
        {
            error = UpstreamError.undecodable(e.getMessage());
        }
        return new Refusal(status, KeyFeedback.failed(pool, key, dispatch.model(), sentAt, status, headersOf(response), error), error, decoded);
    }

    /** What becomes of the request after an answer about the key. */
    private void act(Refusal refusal)
    {
        UpstreamError error = refusal.error();
        String code = error.code() == null ? null : key.redact(error.code());
        if (refusal.verdict() == KeyFeedback.Verdict.ANSWER_BUSY)
            call.busy(key, refusal.decoded());
        else if (refusal.verdict() == KeyFeedback.Verdict.REPLAY_SUSPECT)
            dispatch.suspect(key, refusal.status(), key.redact(error.description()), code, refusal.decoded());
        else
            dispatch.aboutTheKey(key, refusal.status(), key.redact(error.description()), code);
    }

    /** The answer was in a coding the client did not accept: send it decoded. */
    private void sendDecoded(Response response)
    {
        int status = response.getStatus();
        String coding = response.getHeaders().get(HttpHeader.CONTENT_ENCODING);
        byte[] decoded;
        try
        {
            decoded = BodyRedaction.of(key, ContentCoding.decode(coding, held.toByteArray(), maxBodyBytes));
        }
        catch (IOException e)
        {
            call.failed(key, new Undecodable(status, coding, e.getMessage()));
            return;
        }
        call.begin(key, response, decoded.length).content(response, ByteBuffer.wrap(decoded), Callback.from(() -> call.finished(key, status), x -> call.failed(key, x)));
    }
}
