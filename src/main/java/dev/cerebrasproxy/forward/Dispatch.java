package dev.cerebrasproxy.forward;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import dev.cerebrasproxy.ProxyContext;
import dev.cerebrasproxy.pool.Admission;
import dev.cerebrasproxy.pool.ApiKey;
import dev.cerebrasproxy.pool.Demand;
import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A call's attempts on their way upstream, one key after another: it takes the next key
 * the request has not tried, sends the request with it (through its
 * {@link AttemptListener}), replays on an answer about the key, parks the call in the
 * queue while no key can serve ({@link Parking}), and, when it can wait no longer, asks
 * the call to answer that none could. Which keys the 500s before a success are blamed on
 * is decided here too. The call's end (its answer, its log line) stays with
 * {@link ProxyCall}.
 */
final class Dispatch
{
    /** Its lines belong to the request's own, under one logger. */
    private static final Logger LOG = LoggerFactory.getLogger(ProxyCall.class);

    private final ProxyCall call;
    private final ProxyHooks hooks;
    private final ProxyContext context;
    private final HttpServletRequest request;
    private final String target;
    /** The client's body, or null for a request without one. */
    private final RequestBody body;
    private final Attempts attempts;
    /** The call's place in the queue when it waits for capacity. */
    private final Parking parking;
    private final ChunkDemand chunks;
    /** The client's headers as every attempt sends them, chosen at the first. */
    private HttpFields forwardedHeaders;
    /** The attempt under way upstream, to abort when the call ends without it, and its key. */
    private volatile Request current;
    private volatile ApiKey currentKey;

    /** @param demand the request's estimate ({@link RequestFacts}), the same its client's limits hold */
    Dispatch(ProxyCall call, ProxyHooks hooks, ProxyContext context, HttpServletRequest request, String target, String client, RequestBody body,
        Demand demand)
    {
        this.call = call;
        this.hooks = hooks;
        this.context = context;
        this.request = request;
        this.target = target;
        this.body = body;
        this.chunks = new ChunkDemand(hooks.executor());
        this.attempts = new Attempts(context.pool().rotation(demand));
        this.parking = new Parking(context.queue(), client, attempts, hooks.timers(), context.pool()::now, context.settings().waitForKey(), context.metrics(),
            key -> call.guarded(() -> admitThenSend(key)), () -> call.guarded(this::giveUp));
    }

    void first()
    {
        // With requests waiting already, a newcomer queues behind them, so the queue's fairness decides.
        if (parking.othersWait() && parking.park(attempts.untilAnUntriedKeyRecovers()))
            return;
        next();
    }

    int count()
    {
        return attempts.count();
    }

    /** The key of the attempt under way, or of the last one; null before the first. */
    ApiKey currentKey()
    {
        return currentKey;
    }

    /** The attempt under way, if any, ends with the call. */
    void abort(Throwable why)
    {
        Request attempt = current;
        if (attempt != null)
            attempt.abort(why);
    }

    /** The call ended while it may have been waiting: it gives its place up. */
    void leaveQueue()
    {
        parking.leave();
    }

    /** The attempt under way has its answer, or the call ended: its budget's reservation ends. */
    void release()
    {
        attempts.release();
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
    void next()
    {
        // An aborted attempt reports in after the call ended (crashed, the client left): nothing more goes upstream.
        if (call.ended())
            return;
        ApiKey key = attempts.next();
        if (key == null)
        {
            waitForKeyOrGiveUp();
            return;
        }
        admitThenSend(key);
    }

    /**
     * Sends the attempt once the replicas together admit it (one atomic check in Redis of
     * the budget's window and tokens); alone, or without Redis, at once on this thread.
     * Redis's answer comes on the link's thread and is taken up on the HTTP client's, so no
     * thread of ours waits for it; a call that ended meanwhile sends nothing.
     */
    private void admitThenSend(ApiKey key)
    {
        java.util.concurrent.CompletableFuture<Admission> admission = attempts.admission().toCompletableFuture();
        if (admission.isDone())
        {
            admitted(key, admission.getNow(Admission.GO));
            return;
        }
        admission.whenCompleteAsync((answer, failure) -> call.guarded(() -> admitted(key, answer == null ? Admission.GO : answer)), hooks.executor());
    }

    private void admitted(ApiKey key, Admission admission)
    {
        if (call.ended())
        {
            attempts.release();
            return;
        }
        if (admission.admitted())
        {
            attempts.admitted(admission);
            send(key);
            return;
        }
        LOG.debug("{}: the replicas together have no room on key {}'s budget until {}; choosing again", call.name(), key, admission.roomAt());
        attempts.refused(admission.roomAt());
        next();
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
        currentKey = key;
        upstream.send(new AttemptListener(call, this, key, context, request.getHeader("Accept-Encoding"), delivery, chunks));
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
            call.answer(UpstreamFailures.unreachable(context.pool().size()), null);
            return;
        }
        long largestLimit = attempts.limitEveryBudgetIsBelow();
        if (largestLimit > 0)
        {
            // Rests no key: the request is what cannot be served, not the keys.
            NoKeyAvailable.Answer answer = NoKeyAvailable.tooLarge(attempts.demand().estimate(), largestLimit);
            call.answer(answer.error(), null, answer.headers());
            return;
        }
        byte[] everyKeysAnswer = attempts.answerOfEveryKey();
        if (everyKeysAnswer != null)
        {
            call.passOnTheRequestsFailure(attempts.statusOfEveryKey(), everyKeysAnswer, "every key answered " + attempts.statusOfEveryKey());
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
        call.answer(answer.error(), null, answer.headers());
    }

    /** Another key served this request: the 500s before it were about their keys, which now rest. */
    void served()
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
        attempts.suspect(key, status, code, body);
        byte[] theRequests = attempts.answerOfTwoServingKeys(context.pool());
        if (theRequests != null)
        {
            // Two keys that work for others failed this request alike: no third key is spent on it.
            call.passOnTheRequestsFailure(status, theRequests, "answered " + status + " on 2 keys that serve other requests, the last key " + key
                + " (" + LogText.printable(reason) + ")");
            return;
        }
        LOG.info("{}: key {} answered {} ({}); replaying with the next key", call.name(), key, status, LogText.printable(reason));
        context.metrics().retried(key, "answered_" + status, code);
        next();
    }

    /** Upstream's answer with this key was about the key: the next key gets the same request. */
    void aboutTheKey(ApiKey key, int status, String reason, String code)
    {
        LOG.info("{}: key {} answered {} ({}); replaying with the next key", call.name(), key, status, LogText.printable(reason));
        attempts.answered(status);
        context.metrics().retried(key, "answered_" + status, code);
        next();
    }

    /**
     * The attempt's connection failed before the request went out on it, or upstream refused
     * its stream unprocessed ({@link Delivery#refusedUnprocessed}). Over h2 one failed
     * connect fails every request waiting for that connection, up to a connection's worth of
     * streams, and one GOAWAY every stream past its last: none was processed upstream, so
     * each goes again with the same key ({@link Attempts#RECONNECTS} times at most), and
     * only then to the next key.
     */
    void notSent(ApiKey key, Throwable failure)
    {
        if (call.ended())
            return;
        ApiKey same = attempts.again();
        if (same == null)
        {
            unanswered(key, failure);
            return;
        }
        LOG.info("{}: upstream did not take the request (its connection failed before the request went out, or it refused the stream unprocessed: {}); sending it again with key {}", call.name(), LogText.brief(failure), key);
        context.pool().upstreamFailed(key, "unreachable");
        context.metrics().retried(key, "not_sent", null);
        send(same);
    }

    /** Upstream gave no answer at all with this key (refused, or closed before a response byte): the next key gets the request. */
    void unanswered(ApiKey key, Throwable failure)
    {
        if (call.ended())
            return;
        LOG.info("{}: no answer from upstream with key {} ({}); trying the next key", call.name(), key, LogText.brief(failure));
        attempts.unreachable();
        context.pool().upstreamFailed(key, "unreachable");
        context.metrics().retried(key, "unreachable", null);
        next();
    }
}
