package dev.cerebrasproxy.ops;

import java.io.IOException;

import dev.cerebrasproxy.ProxyContext;
import dev.cerebrasproxy.access.AdminAccess;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * An operations endpoint that shows more than liveness: it answers only whom the
 * webapp's {@link AdminAccess} lets in, and every other request gets its one 401.
 */
public abstract class AdminServlet extends HttpServlet
{
    private AdminAccess access;

    @Override
    public final void init()
    {
        ProxyContext context = ProxyContext.of(getServletContext());
        access = context.adminAccess();
        init(context);
    }

    /** Takes what the endpoint shows from the webapp's context. */
    abstract void init(ProxyContext context);

    @Override
    protected final void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        if (access.exchange(request, response))
            return;
        if (access.allows(request))
            answer(request, response);
        else
            access.refuse(response);
    }

    /** The answer for a request the admin access let in. */
    abstract void answer(HttpServletRequest request, HttpServletResponse response) throws IOException;
}
