package dev.cerebrasproxy.forward;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;

import dev.cerebrasproxy.ProxyContext;
import dev.cerebrasproxy.ProxyError;
import jakarta.servlet.http.HttpServletRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a call does before any key is asked for: it reads the client's body (bounded, see
 * {@link RequestBodyReader}), then checks the client's own limits ({@link ClientQuota}).
 * A request refused here (a body too large, incomplete or over the shared budget, limits
 * that could not be checked) touches no key and waits behind no one. What passes goes
 * back to the call with its body and its quota ({@link ProxyCall#checked}).
 */
final class ClientIntake
{
    /** Its lines belong to the request's own, under one logger. */
    private static final Logger LOG = LoggerFactory.getLogger(ProxyCall.class);

    private final ProxyCall call;
    private final ProxyHooks hooks;
    private final ProxyContext context;
    private final HttpServletRequest request;
    private final String client;
    /** The client's body, or null for a request without one. */
    private RequestBody body;

    ClientIntake(ProxyCall call, ProxyHooks hooks, ProxyContext context, HttpServletRequest request, String client)
    {
        this.call = call;
        this.hooks = hooks;
        this.context = context;
        this.request = request;
        this.client = client;
    }

    void readBody() throws IOException
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
                call.answer(ProxyError.server(503, "proxy_overloaded", "The proxy holds as many request bodies still arriving as it may (" + budget
                    + " bytes together; see PROXY_MAX_PENDING_BODY_BYTES). Retry shortly."), null, "Connection", "close", "Retry-After", "1");
            }

            @Override
            public void bodyRead(RequestBody read)
            {
                // An h2 request that ended with its headers had none: send none either.
                body = declared || read.length() > 0 ? read : null;
                call.guarded(ClientIntake.this::withinClientLimits);
            }

            @Override
            public void bodyTooLarge(long cap)
            {
                // The unread rest of the body makes the connection unusable for another request.
                call.answer(ProxyError.invalidRequest(413, "request_too_large", "The request body is larger than this proxy accepts (" + cap + " bytes; see PROXY_MAX_BODY_BYTES)."), null,
                    "Connection", "close");
            }

            @Override
            public void bodyFailed(Throwable failure)
            {
                // A body shorter than its Content-Length, bad chunking, or a client gone: the
                // request is incomplete, so nothing goes upstream.
                call.answer(ProxyError.invalidRequest(400, "incomplete_body", "The request body could not be read whole (" + failure.getClass().getSimpleName() + "); nothing was sent upstream."), null,
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
        CompletableFuture<ClientQuota> checked = ClientQuota.check(context.clients(), client,
            RequestFacts.of(body, request.getHeader("Content-Encoding")), context.settings().defaultMaxCompletionTokens()).toCompletableFuture();
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

    private void afterClientLimits(ClientQuota quota, Throwable failure)
    {
        if (failure != null)
        {
            // The stores never fail their stage (they fall back to memory); should one, the request is not lost.
            LOG.warn("{}: the client limits could not be checked ({})", call.name(), LogText.brief(failure));
            call.answer(ProxyError.server(500, "client_limits_failed", "The proxy could not check this client's limits; nothing was sent upstream."), null);
            return;
        }
        call.checked(body, quota);
    }
}
