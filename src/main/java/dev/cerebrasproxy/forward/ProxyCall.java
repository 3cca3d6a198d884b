package dev.cerebrasproxy.forward;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.cerebrasproxy.ProxyContext;
import dev.cerebrasproxy.ProxyError;
import dev.cerebrasproxy.RetryAfter;
import dev.cerebrasproxy.access.ClientTokens;
import dev.cerebrasproxy.ops.UsageLedger;
import dev.cerebrasproxy.pool.ApiKey;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client request on its way through the pool, and the owner of its whole life: it
 * ends the request exactly once, with the answer or an abnormal end, the async
 * completion, the one log line, and the one count in the metrics and the ledger. The
 * steps before are others': {@link ClientIntake} reads the body and checks the client's
 * limits, {@link Dispatch} sends each attempt with the next key (or parks the call until
 * one can serve), each attempt's {@link AttemptListener} tells what upstream did, the
 * {@link Relay} carries the answer that won, {@link Reply} writes the end, and
 * {@link ClientDepartures} notices a client that left. Jetty's proxy hooks come through
 * {@link ProxyHooks}.
 *
 * <p>One attempt is under way at a time, so the state needs no lock: the body reader,
 * the HTTP client's callbacks and the timer hand the call on to one another, and Jetty
 * orders those hand-offs. Only the end is raced for (the client leaving against the
 * answer ending), and {@link #ended} decides it once.
 */
final class ProxyCall implements ClientDepartures.Watched
{
    private static final Logger LOG = LoggerFactory.getLogger(ProxyCall.class);
    /** Where the call is kept on its request, for the header hooks that only get the request. */
    private static final String ATTRIBUTE = ProxyCall.class.getName();

    private final ProxyHooks hooks;
    private final ProxyContext context;
    private final HttpServletRequest request;
    private final String target;
    /** For log lines: read once, since the request is the container's again once the call ends. */
    private final String method;
    private final String uri;
    /** The client's name from its token, or {@link ClientTokens#ANONYMOUS} when the proxy is open. */
    private final String client;
    private final long startNanos = System.nanoTime();
    /** Writes to the client; listening from the start, so every write is non-blocking. */
    private final FlushingWriter writer;
    private final Reply reply;
    private final AtomicBoolean ended = new AtomicBoolean();
    /** The attempts, made once the body is read: the body says which budget the request draws on, and how much. */
    private volatile Dispatch dispatch;
    /** The answer going to the client, once an attempt has begun it. */
    private Relay relay;
    /** The client's connection as the kernel's socket table names it, to tell when the client has gone. */
    private final TcpTable.Connection clientConnection;
    /** The request against its client's own limits, once its body is read. */
    private ClientQuota quota;
    /** The tokens the answer's usage reported, or -1 while it reported none. */
    private long reportedTokens = -1;

    private ProxyCall(ProxyHooks hooks, ProxyContext context, HttpServletRequest request, HttpServletResponse response, Admission.Admitted admitted) throws IOException
    {
        this.hooks = hooks;
        this.context = context;
        this.request = request;
        this.target = admitted.target();
        this.method = request.getMethod();
        this.uri = request.getRequestURI();
        this.client = admitted.client();
        // Registered here, on the container's thread: registered later, from the HTTP client's
        // thread, the container hands the first write to another thread (see FlushingWriter).
        this.writer = FlushingWriter.listenOn(response.getOutputStream(), this::clientLeft);
        this.reply = new Reply(hooks, request, response);
        this.clientConnection = ClientDepartures.connectionOf(request.getLocalPort(), request.getRemoteAddr(), request.getRemotePort());
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
            new Reply(hooks, request, response).error(ProxyError.server(500, "proxy_error", "The proxy failed on this request (" + failure.getClass().getSimpleName() + ")."),
                "Connection", "close");
            async.complete();
            return;
        }
        request.setAttribute(ATTRIBUTE, call);
        async.addListener(ClientDepartures.onError(call));
        hooks.departures().watch(call);
        ClientIntake intake = new ClientIntake(call, hooks, context, request, call.client);
        call.guarded(intake::readBody);
    }

    /** The call of a request that {@link #start} took on. */
    static ProxyCall of(HttpServletRequest request)
    {
        return (ProxyCall)request.getAttribute(ATTRIBUTE);
    }

    /** The request as its log lines name it. */
    String name()
    {
        return method + " " + uri;
    }

    @Override
    public TcpTable.Connection clientConnection()
    {
        return clientConnection;
    }

    @Override
    public boolean ended()
    {
        return ended.get();
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

    /** The body is read and the client's limits checked: refused here, or on to the first attempt. */
    void checked(RequestBody body, ClientQuota checked)
    {
        quota = checked;
        if (ended.get())
        {
            // The client left while a shared store checked its limits (its line is written):
            // nothing goes upstream, and what the check reserved of its limits goes back.
            if (checked.refusal() == null)
                checked.settle(-1, false);
            return;
        }
        if (quota.refusal() != null)
        {
            context.metrics().refusedByClientLimit(client, quota.refusal().code());
            answer(quota.error(), null, quota.refusalHeaders());
            return;
        }
        dispatch = new Dispatch(this, hooks, context, request, target, client, body, quota.demand());
        dispatch.first();
    }

    /**
     * The client has gone before its answer ended (its connection closed while it waited,
     * or a write to it failed): upstream's exchange is aborted at once, so no key spends
     * more on an answer nobody reads, and the request is counted as the client's
     * departure, 499 as nginx names it, never as the status upstream had begun.
     */
    @Override
    public void clientLeft()
    {
        if (!ended.compareAndSet(false, true))
            return;
        Dispatch attempts = dispatch;
        if (attempts != null)
        {
            attempts.leaveQueue(); // a call waiting in the queue gives its place up
            attempts.abort(new IOException("the client left"));
        }
        count(499, attempts == null ? null : attempts.currentKey());
        reply.endAbnormally(499);
    }

    // What an attempt's listener reports when its answer goes to the client (begin, then
    // finished or failed) or ends the call without replay (dropped, busy); the replays are
    // the Dispatch's.

    /**
     * The attempt's answer goes to the client: its status and headers now, its content as
     * it comes, through the relay returned. The call is committed to this attempt.
     *
     * @param decodedLength the length of the body decoded for the client, or -1 when it passes as upstream sent it
     */
    Relay begin(ApiKey key, Response upstream, int decodedLength)
    {
        if (upstream.getStatus() / 100 == 2)
            dispatch.served();
        relay = new Relay(key, upstream, decodedLength >= 0, writer, context.metrics(), startNanos);
        // After the relay is made: the header filter asks it which of upstream's headers pass.
        reply.begin(upstream, relay.streaming(), quota, decodedLength);
        return relay;
    }

    /** What of upstream's response header reaches the client: its value, or null for nothing. Jetty's header filter asks. */
    String responseHeader(String name, String value)
    {
        return relay.header(name, value);
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
        if (ended.get())
            return;
        context.pool().inconclusive(key, LogText.brief(failure));
        if (reply.committed())
        {
            if (!ended.compareAndSet(false, true))
                return;
            // Bytes went out already: end the client's response abnormally so it can tell.
            LOG.info("{}: key {}: the response was cut off after it began ({})", name(), key, LogText.brief(failure));
            count(reply.status(), key);
            // After the chunk in flight, if any: what reached us before the failure is delivered.
            writer.whenIdle(() -> reply.endAbnormally(502));
            return;
        }
        if (failure instanceof AttemptListener.Undecodable undecodable)
            LOG.warn("{}: key {}: {}", name(), key, undecodable.getMessage());
        answer(UpstreamFailures.brokeOff(failure, context.settings().idleTimeout()), key);
    }

    /**
     * Upstream refused the request before it had read its body (a 4xx or 5xx while the body
     * was going out) and cut the upload. Jetty's client fails the whole exchange with the
     * upload, so the answer's body is lost unread; the client gets upstream's status, and
     * the proxy's word for it, rather than a 502 its SDK would retry with the whole body.
     * Not replayed: upstream refused the request as it was sent.
     */
    void answeredEarly(ApiKey key, int status, Throwable failure)
    {
        if (ended.get())
            return;
        if (reply.committed())
        {
            failed(key, failure);
            return;
        }
        LOG.info("{}: key {}: upstream answered {} before it read the request's body and cut the upload ({}); its body was lost with it", name(), key, status, LogText.brief(failure));
        answer(UpstreamFailures.answeredEarly(status), key);
    }

    /** Upstream had the request whole and closed without answering: it may have processed it, so no other key gets it. */
    void dropped(ApiKey key, Throwable failure)
    {
        if (ended.get())
            return; // aborted because the call ended (the client left): nothing to say
        LOG.info("{}: key {}: upstream closed the connection after it received the request, without an answer ({}); not replayed", name(), key, LogText.brief(failure));
        answer(UpstreamFailures.dropped(), key);
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
        LOG.info("{}: key {} answered 429 queue_exceeded (upstream has no capacity); the client is told to retry in {} ms", name(), key, retryAfter.millis());
        reply.json(429, upstreamBody, ClientQuota.withHeadersOf(quota, retryAfter.headers()));
        complete(429, key);
    }

    /**
     * A failure (500, or 403) that follows the request, not its keys (every key answered it
     * so, or two keys that serve other requests did): the client gets upstream's answer and
     * no key rests.
     *
     * @param why what showed it, for the log
     */
    void passOnTheRequestsFailure(int status, byte[] upstreamBody, String why)
    {
        if (!ended.compareAndSet(false, true))
            return;
        LOG.info("{}: {}; the failure is the request's: it gets upstream's answer and no key is benched", name(), why);
        reply.json(status, upstreamBody);
        complete(status, null);
    }

    /** Answers the client with the proxy's own error and ends the call. */
    void answer(ProxyError error, ApiKey key, String... headers)
    {
        if (!ended.compareAndSet(false, true))
            return;
        reply.error(error, ClientQuota.withHeadersOf(quota, headers));
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
        Dispatch attempts = dispatch;
        if (attempts != null)
            attempts.abort(failure);
        if (!ended.compareAndSet(false, true))
        {
            LOG.debug("{}: failure after the call ended", name(), failure);
            return;
        }
        int status = reply.committed() ? reply.status() : 500;
        // Its one line, at WARN with the cause, in place of the request log's.
        LOG.warn("{} {} key=- attempts={} client={} {}ms: the proxy failed on this request", name(), status, attempts == null ? 0 : attempts.count(), client,
            (System.nanoTime() - startNanos) / 1_000_000, failure);
        // What the request held (its budget's reservation, its client's) is given back as on any other end.
        if (attempts != null)
            attempts.release();
        settle(status);
        context.metrics().answered(null, client, status);
        context.queue().drain();
        if (reply.committed())
        {
            reply.endAbnormally(status);
            return;
        }
        reply.error(ProxyError.server(500, "proxy_error", "The proxy failed on this request (" + failure.getClass().getSimpleName() + "); it was not answered upstream's way."),
            "Connection", "close");
        reply.complete();
    }

    private void complete(int status, ApiKey key)
    {
        if (dispatch != null)
            dispatch.release();
        count(status, key);
        reply.complete();
        context.queue().drain();
    }

    /** The request's one log line, and its one count in the metrics and the ledger: every ending passes here once. */
    private void count(int status, ApiKey key)
    {
        settle(status);
        context.metrics().answered(key, client, status);
        hooks.requestLog().add(new RequestLog.Line(method, uri, status, key == null ? "-" : key.name(), dispatch == null ? 0 : dispatch.count(), client,
            (System.nanoTime() - startNanos) / 1_000_000, quota != null && quota.refusal() != null ? " refused=" + quota.refusal().code() : ""));
    }

    /** The call is no longer watched, and its client's quota and the ledger learn what it used. */
    private void settle(int status)
    {
        hooks.departures().forget(this);
        if (quota != null && quota.refusal() == null)
        {
            quota.settle(reportedTokens, relay != null && status / 100 == 2);
            // Only a model upstream served is named: made-up names in failed requests must not grow the table.
            context.ledger().usedModel(context.pool().now(), client, status / 100 == 2 ? quota.model() : UsageLedger.NOT_SERVED, Math.max(0, reportedTokens));
        }
    }
}
