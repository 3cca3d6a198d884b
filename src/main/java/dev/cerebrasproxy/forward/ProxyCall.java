package dev.cerebrasproxy.forward;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.cerebrasproxy.ProxyContext;
import dev.cerebrasproxy.ProxyError;
import dev.cerebrasproxy.RetryAfter;
import dev.cerebrasproxy.access.ClientTokens;
import dev.cerebrasproxy.pool.ApiKey;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client request on its way through the pool, and the owner of its whole life. It
 * reads the body, sends each attempt with the next key (or waits for one), passes the
 * attempt that answers on to the client, and ends the request exactly once: the answer
 * or an abnormal end, the async completion, the one log line, and the one count in the
 * metrics and the ledger. What upstream did with an attempt is told by that attempt's
 * {@link AttemptListener}; Jetty's proxy hooks come through {@link ProxyHooks}.
 *
 * <p>One attempt is under way at a time, so the state needs no lock: the body reader,
 * the HTTP client's callbacks and the timer hand the call on to one another, and Jetty
 * orders those hand-offs.
 */
final class ProxyCall
{
    private static final Logger LOG = LoggerFactory.getLogger(ProxyCall.class);
    /** Where the call is kept on its request, for the header hooks that only get the request. */
    private static final String ATTRIBUTE = ProxyCall.class.getName();

    private final ProxyHooks hooks;
    private final ProxyContext context;
    private final HttpServletRequest request;
    private final HttpServletResponse response;
    private final String target;
    /** The client's name from its token, or {@link ClientTokens#ANONYMOUS} when the proxy is open. */
    private final String client;
    private final Attempts attempts;
    private final long startNanos = System.nanoTime();
    /** Writes to the client; listening from the start, so every write is non-blocking. */
    private final FlushingWriter writer;
    private final AtomicBoolean ended = new AtomicBoolean();
    /** The client's body, or null for a request without one. */
    private RequestBody body;
    /** The client's headers as every attempt sends them, chosen at the first. */
    private HttpFields forwardedHeaders;
    /** The answer going to the client, once an attempt has begun it. */
    private Relay relay;

    private ProxyCall(ProxyHooks hooks, ProxyContext context, HttpServletRequest request, HttpServletResponse response, Admission.Admitted admitted) throws IOException
    {
        this.hooks = hooks;
        this.context = context;
        this.request = request;
        this.response = response;
        this.target = admitted.target();
        this.client = admitted.client();
        this.attempts = new Attempts(context.pool().rotation());
        // Registered here, on the container's thread: registered later, from the HTTP client's
        // thread, the container hands the first write to another thread (see FlushingWriter).
        this.writer = FlushingWriter.listenOn(response.getOutputStream());
    }

    /** Takes an admitted request on, on the container's thread: its body, then its first attempt. */
    static void start(ProxyHooks hooks, ProxyContext context, HttpServletRequest request, HttpServletResponse response, Admission.Admitted admitted) throws IOException
    {
        AsyncContext async = request.startAsync();
        async.setTimeout(0); // the upstream idle timeout governs; a total would cut long streams
        ProxyCall call = new ProxyCall(hooks, context, request, response, admitted);
        request.setAttribute(ATTRIBUTE, call);
        call.readBody();
    }

    /** The call of a request that {@link #start} took on. */
    static ProxyCall of(HttpServletRequest request)
    {
        return (ProxyCall)request.getAttribute(ATTRIBUTE);
    }

    private void readBody() throws IOException
    {
        // A declared length (even 0) or a chunked body: upstream must see a body too.
        boolean declared = request.getContentLengthLong() >= 0 || request.getHeader("Transfer-Encoding") != null;
        // Over h2 a body needs neither header (its DATA frames carry it): read what comes.
        if (!declared && request.getProtocol().startsWith("HTTP/1."))
        {
            nextAttempt();
            return;
        }
        RequestBodyReader.read(request.getInputStream(), request.getContentLengthLong(), context.settings().maxBodyBytes(), new RequestBodyReader.Outcome()
        {
            @Override
            public void bodyRead(RequestBody read)
            {
                // An h2 request that ended with its headers had none: send none either.
                body = declared || read.length() > 0 ? read : null;
                nextAttempt();
            }

            @Override
            public void bodyTooLarge(long cap)
            {
                // The unread rest of the body makes the connection unusable for another request.
                answer(ProxyError.invalidRequest(413, "request_too_large", "The request body is larger than this proxy accepts (" + cap + " bytes; see PROXY_MAX_BODY_BYTES)."), null,
                    "Connection", "close");
            }

            @Override
            public void bodyFailed(Throwable failure)
            {
                // A body shorter than its Content-Length, bad chunking, or a client gone: the
                // request is incomplete, so nothing goes upstream.
                answer(ProxyError.invalidRequest(400, "incomplete_body", "The request body could not be read whole (" + failure.getClass().getSimpleName() + "); nothing was sent upstream."), null,
                    "Connection", "close");
            }
        });
    }

    /** Sends the request upstream with the next key it has not tried that can serve, or waits for one, or answers that none can. */
    private void nextAttempt()
    {
        ApiKey key = attempts.next();
        if (key == null)
        {
            waitForKeyOrGiveUp();
            return;
        }
        if (forwardedHeaders == null)
            forwardedHeaders = ForwardedHeaders.of(request, context.settings().clientTokens().required());
        Request upstream = hooks.newUpstreamRequest(request, target);
        upstream.headers(headers -> headers.clear().add(forwardedHeaders).put(HttpHeader.AUTHORIZATION, key.authorization()));
        upstream.idleTimeout(context.settings().idleTimeout().toMillis(), TimeUnit.MILLISECONDS);
        if (body != null)
            upstream.body(body.toContent());
        upstream.send(new AttemptListener(this, key, context, request.getHeader("Accept-Encoding")));
    }

    /**
     * No key can serve now. If one this call has not tried recovers within the grace
     * (PROXY_WAIT_FOR_KEY_MS), the call waits for it on a timer, holding no thread;
     * otherwise the client learns at once, without an upstream call, when to come back.
     */
    private void waitForKeyOrGiveUp()
    {
        if (attempts.upstreamIsDown())
        {
            answer(ProxyError.server(502, "upstream_unreachable",
                "The proxy could not get an answer from upstream with any of its " + context.pool().size() + " keys (connection refused or closed before a response)."), null);
            return;
        }
        Duration wait = attempts.untilAnUntriedKeyRecovers();
        if (wait != null && attempts.mayWait(context.pool().now(), wait, context.settings().waitForKey()))
        {
            hooks.timers().runAfter(wait, this::nextAttempt);
            return;
        }
        NoKeyAvailable.Answer answer = NoKeyAvailable.of(attempts, context.pool());
        answer(answer.error(), null, answer.headers());
    }

    // What an attempt's listener reports: the first three when its answer goes to the client,
    // the others when it does not. Each attempt ends in exactly one of finished, failed,
    // aboutTheKey, unanswered and busy.

    /**
     * The attempt's answer goes to the client: its status and headers now, its content as
     * it comes. The call is committed to this attempt.
     *
     * @param decodedLength the length of the body decoded for the client, or -1 when it passes as upstream sent it
     */
    void begin(ApiKey key, Response upstream, int decodedLength)
    {
        relay = new Relay(key, upstream, decodedLength >= 0, writer, context.metrics(), startNanos);
        response.setStatus(upstream.getStatus());
        hooks.copyResponseHeaders(request, response, upstream);
        if (decodedLength >= 0)
            response.setContentLength(decodedLength);
        if (relay.streaming())
            response.setHeader("X-Accel-Buffering", "no"); // so an nginx in front streams too
    }

    /** What of upstream's response header reaches the client: its value, or null for nothing. Jetty's header filter asks. */
    String responseHeader(String name, String value)
    {
        return relay.header(name, value);
    }

    /** Some of the answer's content, to the client; {@code callback} completes when it is out. */
    void content(Response upstream, ByteBuffer content, Callback callback)
    {
        relay.content(upstream, content, callback);
    }

    /** The answer reached the client whole. */
    void finished(ApiKey key, int status)
    {
        if (!ended.compareAndSet(false, true))
            return;
        UsageScanner.Usage used = relay.usage();
        if (used != null)
            context.metrics().tokens(key, client, used.promptTokens(), used.completionTokens());
        complete(status, key);
    }

    /** The attempt failed without a replayable answer: silent, cut off, undecodable. */
    void failed(ApiKey key, Throwable failure)
    {
        if (response.isCommitted())
        {
            if (!ended.compareAndSet(false, true))
                return;
            // Bytes went out already: end the client's response abnormally so it can tell.
            LOG.info("{} {}: key {}: the response was cut off after it began ({})", request.getMethod(), request.getRequestURI(), key, brief(failure));
            count(response.getStatus(), key);
            // After the chunk in flight, if any: what reached us before the failure is delivered.
            writer.whenIdle(() -> hooks.endAbnormally(request, response, 502));
            return;
        }
        if (failure instanceof TimeoutException)
        {
            answer(ProxyError.server(504, "upstream_timeout", "Upstream sent nothing for " + context.settings().idleTimeout().toMillis() + " ms (PROXY_IDLE_TIMEOUT_MS)."), key);
        }
        else if (failure instanceof AttemptListener.Undecodable undecodable)
        {
            LOG.warn("{} {}: key {}: {}", request.getMethod(), request.getRequestURI(), key, undecodable.getMessage());
            answer(ProxyError.server(502, "upstream_bad_encoding", "Upstream answered in " + undecodable.coding() + " coding, which the client does not accept, and the proxy could not decode it."), key);
        }
        else
        {
            answer(ProxyError.server(502, "upstream_failed", "Upstream's answer broke off before any of it reached the client (" + failure.getClass().getSimpleName() + ")."), key);
        }
    }

    /** Upstream's answer with this key was about the key: the next key gets the same request. */
    void aboutTheKey(ApiKey key, int status, String reason, String code)
    {
        LOG.info("{} {}: key {} answered {} ({}); replaying with the next key", request.getMethod(), request.getRequestURI(), key, status, reason);
        attempts.answered(status);
        context.metrics().retried(key, "answered_" + status, code);
        nextAttempt();
    }

    /** Upstream gave no answer at all with this key (refused, or closed before a response byte): the next key gets the request. */
    void unanswered(ApiKey key, Throwable failure)
    {
        LOG.info("{} {}: no answer from upstream with key {} ({}); trying the next key", request.getMethod(), request.getRequestURI(), key, brief(failure));
        attempts.unreachable();
        context.metrics().retried(key, "unreachable", null);
        nextAttempt();
    }

    /**
     * Cerebras is out of capacity (a 429 with code queue_exceeded): every key would hear
     * the same, so the client gets upstream's answer with a short Retry-After instead.
     */
    void busy(ApiKey key, byte[] upstreamBody)
    {
        if (!ended.compareAndSet(false, true))
            return;
        RetryAfter retryAfter = RetryAfter.of(context.settings().busyRetryAfter());
        LOG.info("{} {}: key {} answered 429 queue_exceeded (upstream has no capacity); the client is told to retry in {} ms", request.getMethod(), request.getRequestURI(), key, retryAfter.millis());
        try
        {
            ProxyError.sendJson(response, 429, upstreamBody, retryAfter.headers());
        }
        catch (IOException e)
        {
            LOG.debug("could not send 429 to the client", e);
        }
        complete(429, key);
    }

    /** Answers the client with the proxy's own error and ends the call. */
    private void answer(ProxyError error, ApiKey key, String... headers)
    {
        if (!ended.compareAndSet(false, true))
            return;
        try
        {
            error.sendTo(response, headers);
        }
        catch (IOException e)
        {
            LOG.debug("could not send {} to the client", error.status(), e);
        }
        complete(error.status(), key);
    }

    private void complete(int status, ApiKey key)
    {
        count(status, key);
        request.getAsyncContext().complete();
    }

    /** The request's one log line, and its one count in the metrics and the ledger: every ending passes here once. */
    private void count(int status, ApiKey key)
    {
        context.metrics().answered(key, client, status);
        if (LOG.isInfoEnabled())
            LOG.info("{} {} {} key={} attempts={} client={} {}ms", request.getMethod(), request.getRequestURI(), status, key == null ? "-" : key.name(), attempts.count(), client,
                (System.nanoTime() - startNanos) / 1_000_000);
    }

    /** A failure in one short line: Jetty's I/O exceptions carry a dump of the whole connection. */
    private static String brief(Throwable failure)
    {
        String message = String.valueOf(failure.getMessage());
        return failure.getClass().getSimpleName() + ": " + (message.length() > 100 ? message.substring(0, 100) + "..." : message);
    }
}
