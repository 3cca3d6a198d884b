package dev.cerebrasproxy;

import dev.cerebrasproxy.access.AdminAccess;
import dev.cerebrasproxy.access.Clients;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.ops.ProxyMetrics;
import dev.cerebrasproxy.ops.UsageLedger;
import dev.cerebrasproxy.pool.FairQueue;
import dev.cerebrasproxy.pool.KeyPool;
import dev.cerebrasproxy.pool.TaskScheduler;
import dev.cerebrasproxy.shared.SharedState;
import jakarta.servlet.ServletContext;

/**
 * Everything the webapp's servlets share, built once by {@link ProxyWebapp} when the
 * webapp starts and kept under one servlet-context attribute.
 *
 * @param queue the requests waiting for capacity, fair across clients
 * @param scheduler runs the timers of requests that wait for a key, on the pool's clock;
 * null when no clock was embedded, and the proxy servlet's HTTP client times them
 * @param clients who may use the pool now (the tokens file reloads) and how much of it
 * @param drain whether the container is stopping, for readiness
 * @param shared what this replica shares with the others (Redis), or keeps alone
 */
public record ProxyContext(ProxySettings settings, KeyPool pool, FairQueue queue, UsageLedger ledger, ProxyMetrics metrics, AdminAccess adminAccess, TaskScheduler scheduler, Clients clients, Drain drain, SharedState shared)
{
    static final String ATTRIBUTE = ProxyContext.class.getName();

    /**
     * The webapp's context. Without one the webapp was deployed without its listener, and
     * every servlet refuses to start rather than serve without keys or let anyone in.
     */
    public static ProxyContext of(ServletContext context)
    {
        ProxyContext proxy = (ProxyContext)context.getAttribute(ATTRIBUTE);
        if (proxy == null)
            throw new IllegalStateException("No cerebras-proxy context in the servlet context: declare " + ProxyWebapp.class.getName() + " as a listener in web.xml.");
        return proxy;
    }
}
