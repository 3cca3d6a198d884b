package dev.cerebrasproxy.forward;

import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;

/**
 * The proxy servlet with a defect on cue: a request carrying {@code X-Test-Crash} makes
 * the step it names throw, as a bug of ours or of a library under us would.
 * {@code request}: building the upstream request (on the container's thread, the body
 * reader's, or a timer's, whichever sends the attempt); {@code header}: passing
 * upstream's response headers (on the HTTP client's thread).
 */
public class CrashingProxyServlet extends CerebrasProxyServlet
{
    static final String HEADER = "X-Test-Crash";

    @Override
    protected Request newProxyRequest(HttpServletRequest request, String rewrittenTarget)
    {
        if ("request".equals(request.getHeader(HEADER)))
            throw new IllegalStateException("injected: building the upstream request");
        return super.newProxyRequest(request, rewrittenTarget);
    }

    @Override
    protected String filterServerResponseHeader(HttpServletRequest request, Response upstream, String name, String value)
    {
        if ("header".equals(request.getHeader(HEADER)))
            throw new IllegalStateException("injected: passing a response header");
        return super.filterServerResponseHeader(request, upstream, name, value);
    }
}
