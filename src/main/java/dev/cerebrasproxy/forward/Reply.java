package dev.cerebrasproxy.forward;

import dev.cerebrasproxy.ProxyError;
import dev.cerebrasproxy.ResponseStamp;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a call writes to its client's response, but for the answer's content (the
 * {@link Relay}'s): the status and headers of upstream's answer, or the proxy's own
 * error, upstream's error body, the abnormal end of an answer that has begun, and the
 * async completion. The client may be gone by then, so what cannot be sent is only noted
 * at DEBUG: the call has decided its end and counts it whatever the socket does. Which
 * end, and that there is one, is {@link ProxyCall}'s to decide.
 */
final class Reply
{
    private static final Logger LOG = LoggerFactory.getLogger(Reply.class);

    private final ProxyHooks hooks;
    private final HttpServletRequest request;
    private final HttpServletResponse response;

    Reply(ProxyHooks hooks, HttpServletRequest request, HttpServletResponse response)
    {
        this.hooks = hooks;
        this.request = request;
        this.response = response;
    }

    /** Whether bytes of an answer went out already, so only an abnormal end can still tell the client. */
    boolean committed()
    {
        return response.isCommitted();
    }

    int status()
    {
        return response.getStatus();
    }

    /**
     * The status and headers of upstream's answer, as the servlet's header filter lets
     * them pass, the client's own rate-limit headers, and the proxy's.
     *
     * @param decodedLength the length of the body decoded for the client, or -1 when it passes as upstream sent it
     */
    void begin(Response upstream, boolean streaming, ClientQuota quota, int decodedLength)
    {
        response.setStatus(upstream.getStatus());
        ResponseStamp.stamp(response);
        hooks.copyResponseHeaders(request, response, upstream);
        quota.setHeadersOn(response);
        if (decodedLength >= 0)
            response.setContentLength(decodedLength);
        if (streaming)
            response.setHeader("X-Accel-Buffering", "no"); // so an nginx in front streams too
    }

    /** The proxy's own error; the call completes the request once it has counted it. */
    void error(ProxyError error, String... headers)
    {
        try
        {
            error.sendTo(response, headers);
        }
        catch (Throwable e)
        {
            LOG.debug("could not send {} to the client", error.status(), e);
        }
    }

    /** Upstream's error body as upstream sent it (redacted). */
    void json(int status, byte[] body, String... headers)
    {
        try
        {
            ProxyError.sendJson(response, status, body, headers);
        }
        catch (Throwable e)
        {
            LOG.debug("could not send {} to the client", status, e);
        }
    }

    /** Ends a response that has begun so the client can tell it is cut (no terminal chunk), and completes it. */
    void endAbnormally(int status)
    {
        try
        {
            hooks.endAbnormally(request, response, status);
        }
        catch (Throwable e)
        {
            LOG.debug("could not end the response abnormally", e);
            complete();
        }
    }

    void complete()
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
}
