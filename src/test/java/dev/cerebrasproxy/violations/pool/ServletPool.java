package dev.cerebrasproxy.violations.pool;

import dev.cerebrasproxy.violations.forward.Forwarder;
import jakarta.servlet.http.HttpServletRequest;

/** Breaks the layout on purpose (see LayoutTest): a pool class that reads a servlet request and uses forwarding. */
public class ServletPool
{
    public HttpServletRequest request;
    public Forwarder forwarder;
}
