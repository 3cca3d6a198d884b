package dev.cerebrasproxy.access;

import java.io.IOException;
import java.util.Set;
import java.util.function.BooleanSupplier;

import dev.cerebrasproxy.ProxyError;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * While the pool is open (no client tokens), only requests addressed to an
 * {@link AllowedHosts allowed host}, and from no page of another site, are answered: the
 * rest get a 403 in Cerebras's error shape before anything is read or sent upstream. This
 * keeps a web page the user happens to open from using the keys or reading the status
 * page, by DNS rebinding ({@code Host}) or by calling {@code localhost} itself
 * ({@code Origin}). With client tokens on, a request is let in by its token, whatever its
 * host. The health endpoints tell nothing secret and are always answered: orchestrators'
 * probes address a container by its IP.
 */
public final class HostCheck extends HttpFilter
{
    /** Needs no host check: liveness and readiness, nothing secret. */
    private static final Set<String> HEALTH = Set.of("/_proxy/health", "/_proxy/health/live", "/_proxy/health/ready");

    private static final Logger LOG = LoggerFactory.getLogger(HostCheck.class);

    private final AllowedHosts hosts;
    /** Asked per request: the tokens file may reload. */
    private final BooleanSupplier tokensRequired;
    /** Counts a refusal (the metrics live in ops, which builds on this package). */
    private final Runnable refused;

    /**
     * @param hosts the hosts an open pool answers to
     * @param tokensRequired whether client tokens are on now; then every host is fine
     * @param refused called for each request refused, before its answer goes out
     */
    public HostCheck(AllowedHosts hosts, BooleanSupplier tokensRequired, Runnable refused)
    {
        this.hosts = hosts;
        this.tokensRequired = tokensRequired;
        this.refused = refused;
    }

    @Override
    protected void doFilter(HttpServletRequest request, HttpServletResponse response, FilterChain chain) throws IOException, ServletException
    {
        // CONNECT names its target as the Host; the proxy refuses every CONNECT anyway, with its own 400.
        if (tokensRequired.getAsBoolean() || request.getMethod().equals("CONNECT") || HEALTH.contains(request.getRequestURI().substring(request.getContextPath().length())))
        {
            chain.doFilter(request, response);
            return;
        }
        String host = request.getHeader("Host");
        if (!hosts.allowsHostHeader(host))
        {
            refuse(request, response, "host", "is addressed to " + shown(host));
            return;
        }
        String origin = request.getHeader("Origin");
        if (!hosts.allowsOrigin(origin))
        {
            refuse(request, response, "origin", "comes from a page of " + shown(origin));
            return;
        }
        chain.doFilter(request, response);
    }

    private void refuse(HttpServletRequest request, HttpServletResponse response, String param, String what) throws IOException
    {
        // The request's one log line; the path only, never a query (it may carry a token).
        LOG.info("{} {} 403 key=- attempts=0 client={} (it {}, not allowed while the pool is open)", request.getMethod(), request.getRequestURI(), ClientTokens.UNAUTHENTICATED, what);
        refused.run();
        new ProxyError(403, "permission_denied", "host_not_allowed", param,
            "This proxy has no client tokens, so it answers only requests addressed to " + hosts
                + " and from no other site's page (against DNS rebinding), and this one " + what
                + ". Add the host name to " + AllowedHosts.SETTING + ", or set PROXY_CLIENT_TOKENS.")
            .sendTo(response, "Cache-Control", "no-store");
    }

    /** A client's header as it may appear in a log line and an error: printable, short. */
    private static String shown(String value)
    {
        if (value == null)
            return "(none)";
        String printable = value.replaceAll("[^\\x20-\\x7e]", "?");
        return "\"" + (printable.length() > 100 ? printable.substring(0, 100) + "..." : printable) + "\"";
    }
}
