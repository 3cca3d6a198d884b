package dev.cerebrasproxy.forward;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.cerebrasproxy.ProxyContext;
import dev.cerebrasproxy.ProxyError;
import dev.cerebrasproxy.ResponseStamp;
import dev.cerebrasproxy.RetryAfter;
import dev.cerebrasproxy.access.ClientTokens;
import dev.cerebrasproxy.ops.UsageLedger;
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
    /** Made once the body is read: the body says which budget the request draws on, and how much. */
    private Attempts attempts;
    /** The call's place in the queue when it waits for capacity; made with the attempts. */
    private Parking parking;
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
    /** The attempt under way upstream, to abort when the call ends without it. */
    private volatile Request current;
    /** The request against its client's own limits, once its body is read. */
    private ClientQuota quota;
    /** The tokens the answer's usage reported, or -1 while it reported none. */
    private long reportedTokens = -1;

    private ProxyCall(ProxyHooks hooks, ProxyContext context, HttpServletRequest request, HttpServletResponse response, Admission.Admitted admitted) throws IOException
    {
        this.hooks = hooks;
        this.context = context;
        this.request = request;
        this.response = response;
        this.target = admitted.target();
        this.client = admitted.client();
        // Registered here, on the container's thread: registered later, from the HTTP client's
        // thread, the container hands the first write to another thread (see FlushingWriter).
        this.writer = FlushingWriter.listenOn(response.getOutputStream());
    }

    /** Takes an admitted request on, on the container's thread: its body, then its first attempt. */
    static void start(ProxyHooks hooks, ProxyContext context, HttpServletRequest request, HttpServletResponse response, Admission.Admitted admitted) throws IOException
    {
        AsyncContext async = request.startAsync();
        async.setTimeout(0); // the upstream idle timeout governs; a total would cut long streams
        ProxyCall call;
        try
        {
            call = new ProxyCall(hooks, context, request, response, admitted);
        }
        catch (Throwable failure)
        {
            // No call to end it: answer here, or the started async request would wait forever.
            LOG.warn("{} {} 500 key=- attempts=0 client={}: the proxy failed on this request", request.getMethod(), request.getRequestURI(), admitted.client(), failure);
            try
            {
                ProxyError.server(500, "proxy_error", "The proxy failed on this request (" + failure.getClass().getSimpleName() + ").").sendTo(response, "Connection", "close");
            }
            finally
            {
                async.complete();
            }
            return;
        }
        request.setAttribute(ATTRIBUTE, call);
        async.addListener(new jakarta.servlet.AsyncListener()
        {
            @Override
            public void onComplete(jakarta.servlet.AsyncEvent event)
            {
            }

            @Override
            public void onTimeout(jakarta.servlet.AsyncEvent event)
            {
            }

            @Override
            public void onError(jakarta.servlet.AsyncEvent event)
            {
                call.clientLeft();
            }

            @Override
            public void onStartAsync(jakarta.servlet.AsyncEvent event)
            {
            }
        });
        call.guarded(call::readBody);
    }

    /** Something the call does on a thread that would drop what it throws (a timer, a callback). */
    @FunctionalInterface
    interface Step
    {
        void run() throws Exception;
    }

    /**
     * Runs a step of the call; whatever it throws ends the call ({@link #crashed}) instead
     * of escaping to a thread that would log it at best and leave the client waiting.
     */
    void guarded(Step step)
    {
        try
        {
            step.run();
        }
        catch (Throwable failure)
        {
            crashed(failure);
        }
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
            withinClientLimits();
            return;
        }
        RequestBodyReader.read(request.getInputStream(), request.getContentLengthLong(), context.settings().maxBodyBytes(), hooks.bodyBudget(), new RequestBodyReader.Outcome()
        {
            @Override
            public void bodyOverBudget(long budget)
            {
                answer(ProxyError.server(503, "proxy_overloaded", "The proxy holds as many request bodies still arriving as it may (" + budget
                    + " bytes together; see PROXY_MAX_PENDING_BODY_BYTES). Retry shortly."), null, "Connection", "close", "Retry-After", "1");
            }

            @Override
            public void bodyRead(RequestBody read)
            {
                // An h2 request that ended with its headers had none: send none either.
                body = declared || read.length() > 0 ? read : null;
                guarded(ProxyCall.this::withinClientLimits);
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

    /**
     * The client's own limits, checked before the pool is asked for a key (and before any
     * queue for one): a client over its limit gets its 429 (or 403 for a model it may not
     * use) here, touches no key and waits behind no one.
     */
    private void withinClientLimits()
    {
        CompletableFuture<ClientQuota> checked = ClientQuota.check(context.clients(), client, body, request.getHeader("Content-Encoding")).toCompletableFuture();
        if (checked.isDone())
        {
            // In memory (and for clients without limits): on this thread, as before there was a store to wait on.
            afterClientLimits(checked.join(), null);
            return;
        }
        // A shared store answers on its own thread; the request goes on on the HTTP client's, so
        // that thread stays free for the store's next answer, and no thread waited meanwhile.
        checked.whenCompleteAsync(this::afterClientLimits, hooks.executor());
    }

    private void afterClientLimits(ClientQuota checked, Throwable failure)
    {
        if (failure != null)
        {
            // The stores never fail their stage (they fall back to memory); should one, the request is not lost.
            LOG.warn("{} {}: the client limits could not be checked ({})", request.getMethod(), request.getRequestURI(), brief(failure));
            answer(ProxyError.server(500, "client_limits_failed", "The proxy could not check this client's limits; nothing was sent upstream."), null);
            return;
        }
        quota = checked;
        if (quota.refusal() != null)
        {
            context.metrics().refusedByClientLimit(client, quota.refusal().code());
            answer(quota.error(), null, quota.refusalHeaders());
            return;
        }
        firstAttempt();
    }


    private void firstAttempt()
    {
        attempts = new Attempts(context.pool().rotation(
            CostEstimate.of(body, request.getHeader("Content-Encoding"), context.settings().defaultMaxCompletionTokens())));
        parking = new Parking(context.queue(), client, attempts, hooks.timers(), context.pool()::now, context.settings().waitForKey(), context.metrics(),
            key -> guarded(() -> send(key)), () -> guarded(this::giveUp));
        // With requests waiting already, a newcomer queues behind them, so the queue's fairness decides.
        if (parking.othersWait() && parking.park(attempts.untilAnUntriedKeyRecovers()))
            return;
        nextAttempt();
    }

    /** The client went away: a call waiting in the queue leaves it and ends without an answer. */
    void clientLeft()
    {
        if (parking != null && parking.leave() && ended.compareAndSet(false, true))
        {
            LOG.info("{} {}: the client left while its request waited for capacity", request.getMethod(), request.getRequestURI());
            complete(499, null);
        }
    }

    /** Upstream answered the attempt under way, or it ended without an answer. */
    void attemptAnswered()
    {
        attempts.release();
        // What the attempt held is free, and its answer may have reported more: offer it to who waits.
        context.queue().drain();
    }

    /** The model the request names, for what the pool learns from each answer; null if none. */
    String model()
    {
        return attempts.demand().model();
    }

    /** Sends the request upstream with the next key it has not tried that can serve, or waits for one, or answers that none can. */
    private void nextAttempt()
    {
        // An aborted attempt reports in after the call ended (crashed, the client left): nothing more goes upstream.
        if (ended.get())
            return;
        ApiKey key = attempts.next();
        if (key == null)
        {
            waitForKeyOrGiveUp();
            return;
        }
        send(key);
    }

    private void send(ApiKey key)
    {
        if (forwardedHeaders == null)
            forwardedHeaders = ForwardedHeaders.of(request, context.settings().clientTokens().required());
        Request upstream = hooks.newUpstreamRequest(request, target);
        upstream.headers(headers -> headers.clear().add(forwardedHeaders).put(HttpHeader.AUTHORIZATION, key.authorization()));
        upstream.idleTimeout(context.settings().idleTimeout().toMillis(), TimeUnit.MILLISECONDS);
        Delivery delivery = new Delivery(request.getMethod());
        delivery.watch(upstream, body == null ? null : body.toContent());
        current = upstream;
        upstream.send(new AttemptListener(this, key, context, request.getHeader("Accept-Encoding"), delivery));
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
        long largestLimit = attempts.limitEveryBudgetIsBelow();
        if (largestLimit > 0)
        {
            // Rests no key: the request is what cannot be served, not the keys.
            NoKeyAvailable.Answer answer = NoKeyAvailable.tooLarge(attempts.demand().estimate(), largestLimit);
            answer(answer.error(), null, answer.headers());
            return;
        }
        byte[] everyKeysAnswer = attempts.answerOfEveryKey();
        if (everyKeysAnswer != null)
        {
            passOnEveryKeysAnswer(attempts.statusOfEveryKey(), everyKeysAnswer);
            return;
        }
        if (parking.park(attempts.untilAnUntriedKeyRecovers()))
            return;
        giveUp();
    }

    /** No key can serve the call now, and it may wait no longer (or the queue is full): 503 with when to come back. */
    private void giveUp()
    {
        NoKeyAvailable.Answer answer = parking.full() && context.settings().waitForKey().compareTo(Duration.ZERO) > 0
            ? NoKeyAvailable.queueFull(attempts, context.pool(), context.queue().capacity())
            : NoKeyAvailable.of(attempts, context.pool());
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
        if (upstream.getStatus() / 100 == 2)
            blameServerErrors();
        relay = new Relay(key, upstream, decodedLength >= 0, writer, context.metrics(), startNanos);
        response.setStatus(upstream.getStatus());
        ResponseStamp.stamp(response);
        hooks.copyResponseHeaders(request, response, upstream);
        quota.setHeadersOn(response);
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

    /**
     * Asks upstream for the next chunk once the last is out, on the HTTP client's own
     * executor. Run inline, the demand ran on whichever thread completed the client's
     * write: often a container thread that the socket's drain woke, while the HTTP
     * client's thread was still unwinding the delivery of that chunk. About once in
     * 20,000 answers the two raced inside the client's content receiver and the answer
     * was lost before its first byte reached the client (the soak's one "closed before any
     * answer byte"). Handed to the client's executor, each demand starts on a thread of
     * its own, after the write that asked for it.
     */
    void demand(Runnable demander)
    {
        try
        {
            hooks.executor().execute(demander);
        }
        catch (RejectedExecutionException stopping)
        {
            demander.run(); // the client is stopping: the demand meets its end inline
        }
    }

    /** The answer reached the client whole. */
    void finished(ApiKey key, int status)
    {
        if (!ended.compareAndSet(false, true))
            return;
        UsageScanner.Usage used = relay.usage();
        if (used != null)
        {
            reportedTokens = used.promptTokens() + used.completionTokens();
            context.metrics().tokens(key, client, used.promptTokens(), used.completionTokens());
        }
        complete(status, key);
    }

    /** The attempt failed without a replayable answer: silent, cut off, undecodable. */
    void failed(ApiKey key, Throwable failure)
    {
        context.pool().inconclusive(key, brief(failure));
        if (response.isCommitted())
        {
            if (!ended.compareAndSet(false, true))
                return;
            // Bytes went out already: end the client's response abnormally so it can tell.
            LOG.info("{} {}: key {}: the response was cut off after it began ({})", request.getMethod(), request.getRequestURI(), key, brief(failure));
            count(response.getStatus(), key);
            // After the chunk in flight, if any: what reached us before the failure is delivered.
            writer.whenIdle(() -> endAbnormally(502));
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

    /** Another key served this request: the 500s before it were about their keys, which now rest. */
    private void blameServerErrors()
    {
        for (Attempts.Suspect suspect : attempts.takeSuspects())
        {
            String code = suspect.code() != null ? suspect.code() : "http_" + suspect.status();
            if (suspect.status() == 403)
                context.pool().refusedForModel(suspect.key(), attempts.demand().model(), "403 " + code);
            else
                context.pool().serverError(suspect.key(), code);
        }
    }

    /** Upstream answered 500 with this key: the next key gets the same request, and decides whom to blame. */
    void suspect(ApiKey key, int status, String reason, String code, byte[] body)
    {
        LOG.info("{} {}: key {} answered {} ({}); replaying with the next key", request.getMethod(), request.getRequestURI(), key, status, printable(reason));
        attempts.suspect(key, status, code, body);
        context.metrics().retried(key, "answered_" + status, code);
        nextAttempt();
    }

    /** Upstream's answer with this key was about the key: the next key gets the same request. */
    void aboutTheKey(ApiKey key, int status, String reason, String code)
    {
        LOG.info("{} {}: key {} answered {} ({}); replaying with the next key", request.getMethod(), request.getRequestURI(), key, status, printable(reason));
        attempts.answered(status);
        context.metrics().retried(key, "answered_" + status, code);
        nextAttempt();
    }

    /** Upstream gave no answer at all with this key (refused, or closed before a response byte): the next key gets the request. */
    void unanswered(ApiKey key, Throwable failure)
    {
        LOG.info("{} {}: no answer from upstream with key {} ({}); trying the next key", request.getMethod(), request.getRequestURI(), key, brief(failure));
        attempts.unreachable();
        context.pool().upstreamFailed(key, "unreachable");
        context.metrics().retried(key, "unreachable", null);
        nextAttempt();
    }

    /** Upstream had the request whole and closed without answering: it may have processed it, so no other key gets it. */
    void dropped(ApiKey key, Throwable failure)
    {
        LOG.info("{} {}: key {}: upstream closed the connection after it received the request, without an answer ({}); not replayed", request.getMethod(), request.getRequestURI(), key, brief(failure));
        answer(ProxyError.server(502, "upstream_dropped",
            "Upstream closed the connection after it received the request whole and before it answered. The proxy does not replay it with another key, since upstream may have processed it; retry if the request is safe to run twice."), key);
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
            ProxyError.sendJson(response, 429, upstreamBody, ClientQuota.withHeadersOf(quota, retryAfter.headers()));
        }
        catch (Throwable e)
        {
            LOG.debug("could not send 429 to the client", e);
        }
        complete(429, key);
    }

    /** Every key answered this request 500 (or 403): about the request, so it gets upstream's answer and no key rests. */
    private void passOnEveryKeysAnswer(int status, byte[] upstreamBody)
    {
        if (!ended.compareAndSet(false, true))
            return;
        LOG.info("{} {}: every key answered {}; the request gets upstream's answer and no key is benched", request.getMethod(), request.getRequestURI(), status);
        try
        {
            ProxyError.sendJson(response, status, upstreamBody);
        }
        catch (Throwable e)
        {
            LOG.debug("could not send {} to the client", status, e);
        }
        complete(status, null);
    }

    /** Answers the client with the proxy's own error and ends the call. */
    private void answer(ProxyError error, ApiKey key, String... headers)
    {
        if (!ended.compareAndSet(false, true))
            return;
        try
        {
            error.sendTo(response, ClientQuota.withHeadersOf(quota, headers));
        }
        catch (Throwable e)
        {
            LOG.debug("could not send {} to the client", error.status(), e);
        }
        complete(error.status(), key);
    }

    /**
     * A step of the call threw: a defect of the proxy, or of a container or library under
     * it. The call ends at once, in the same shape as any other end: upstream's exchange
     * aborted, the client told (a 500 in the error shape, or an abnormal end once its
     * answer has begun), and the request's one log line, at WARN with the cause.
     */
    void crashed(Throwable failure)
    {
        Request attempt = current;
        if (attempt != null)
            attempt.abort(failure);
        if (!ended.compareAndSet(false, true))
        {
            LOG.debug("{} {}: failure after the call ended", request.getMethod(), request.getRequestURI(), failure);
            return;
        }
        int status = response.isCommitted() ? response.getStatus() : 500;
        LOG.warn("{} {} {} key=- attempts={} client={} {}ms: the proxy failed on this request", request.getMethod(), request.getRequestURI(), status, attempts.count(), client,
            (System.nanoTime() - startNanos) / 1_000_000, failure);
        context.metrics().answered(null, client, status);
        if (response.isCommitted())
        {
            endAbnormally(status);
            return;
        }
        try
        {
            ProxyError.server(500, "proxy_error", "The proxy failed on this request (" + failure.getClass().getSimpleName() + "); it was not answered upstream's way.")
                .sendTo(response, "Connection", "close");
        }
        catch (Throwable e)
        {
            LOG.debug("could not send 500 to the client", e);
        }
        completeAsync();
    }

    /** Ends a response that has begun so the client can tell it is cut (no terminal chunk), and completes it. */
    private void endAbnormally(int status)
    {
        try
        {
            hooks.endAbnormally(request, response, status);
        }
        catch (Throwable e)
        {
            LOG.debug("could not end the response abnormally", e);
            completeAsync();
        }
    }

    private void complete(int status, ApiKey key)
    {
        if (attempts != null)
            attempts.release();
        count(status, key);
        completeAsync();
        context.queue().drain();
    }

    private void completeAsync()
    {
        try
        {
            if (request.isAsyncStarted())
                request.getAsyncContext().complete();
        }
        catch (IllegalStateException alreadyCompleted)
        {
            LOG.debug("the request was already complete", alreadyCompleted);
        }
    }

    /** The request's one log line, and its one count in the metrics and the ledger: every ending passes here once. */
    private void count(int status, ApiKey key)
    {
        if (quota != null && quota.refusal() == null)
        {
            quota.settle(reportedTokens, relay != null && status / 100 == 2);
            // Only a model upstream served is named: made-up names in failed requests must not grow the table.
            context.ledger().usedModel(context.pool().now(), client, status / 100 == 2 ? quota.model() : UsageLedger.NOT_SERVED, Math.max(0, reportedTokens));
        }
        context.metrics().answered(key, client, status);
        hooks.requestLog().add(new RequestLog.Line(request.getMethod(), request.getRequestURI(), status, key == null ? "-" : key.name(), attempts == null ? 0 : attempts.count(), client,
            (System.nanoTime() - startNanos) / 1_000_000, quota != null && quota.refusal() != null ? " refused=" + quota.refusal().code() : ""));
    }

    /** Upstream's words for a log line: one line of printable text, not a body of binary noise. */
    static String printable(String text)
    {
        if (text == null)
            return null;
        StringBuilder line = new StringBuilder(Math.min(text.length(), 200));
        for (int i = 0; i < text.length() && line.length() < 200; i++)
        {
            char c = text.charAt(i);
            line.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return text.length() > 200 ? line + "..." : line.toString();
    }

    /** A failure in one short line: Jetty's I/O exceptions carry a dump of the whole connection. */
    private static String brief(Throwable failure)
    {
        String message = String.valueOf(failure.getMessage());
        return failure.getClass().getSimpleName() + ": " + (message.length() > 100 ? message.substring(0, 100) + "..." : message);
    }
}
