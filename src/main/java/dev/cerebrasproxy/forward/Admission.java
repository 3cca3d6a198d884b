package dev.cerebrasproxy.forward;

import java.io.IOException;

import dev.cerebrasproxy.ProxyError;
import dev.cerebrasproxy.access.ClientTokens;
import dev.cerebrasproxy.access.Clients;
import dev.cerebrasproxy.ops.ProxyMetrics;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether a client request may go upstream at all, decided before a byte of it is read:
 * no tunnel (CONNECT) and no echo (TRACE), nothing under the proxy's own
 * {@value #RESERVED_PREFIX}, a valid client token when tokens are on, and a path that
 * cannot step outside the upstream base. A refused request gets its answer here, and
 * nothing of it goes upstream.
 */
final class Admission
{
    /** The proxy's own endpoints live here; nothing under it is ever forwarded. */
    static final String RESERVED_PREFIX = "/_proxy/";

    private static final Logger LOG = LoggerFactory.getLogger(Admission.class);

    /** A request that may go upstream: where to, and for which client. */
    record Admitted(String target, String client)
    {
    }

    /** Read at each request: the tokens file reloads live. */
    private final Clients clients;
    private final UpstreamRoute route;
    private final ProxyMetrics metrics;

    Admission(Clients clients, UpstreamRoute route, ProxyMetrics metrics)
    {
        this.clients = clients;
        this.route = route;
        this.metrics = metrics;
    }

    /** @return where the request goes and for whom, or null when it was refused (and answered) */
    Admitted admit(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        String method = request.getMethod();
        if (method.equals("CONNECT"))
        {
            // A tunnel to a host of the client's choosing is exactly what must never happen.
            ProxyError.invalidRequest(400, "unsupported_method", "CONNECT is not supported: this is a reverse proxy for the Cerebras API.").sendTo(response, "Connection", "close");
            return null;
        }
        if (method.equals("TRACE"))
        {
            // Upstream would echo the request back, pool key included.
            ProxyError.invalidRequest(405, "unsupported_method", "TRACE is not supported.").sendTo(response, closeIfBody(request));
            return null;
        }
        String path = request.getRequestURI().substring(request.getContextPath().length());
        if (path.startsWith(RESERVED_PREFIX))
        {
            ProxyError.invalidRequest(404, "not_found", "Nothing under " + RESERVED_PREFIX + " goes upstream, and " + path + " is not one of the proxy's own endpoints.").sendTo(response, closeIfBody(request));
            return null;
        }
        String client = clients.tokens().clientOf(request.getHeader("Authorization"), request.getHeader("x-api-key"));
        if (client == null)
        {
            refuseClient(request, response);
            return null;
        }
        String target = route.targetOf(path, request.getQueryString());
        if (target == null)
        {
            ProxyError.invalidRequest(400, "invalid_path", "The request path must not contain dot segments or encoded slashes, dots or backslashes.").sendTo(response, closeIfBody(request));
            return null;
        }
        return new Admitted(target, client);
    }

    /** No valid client token: its request's one log line and count, and a 401 that neither echoes nor logs the token. */
    private void refuseClient(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        boolean presented = request.getHeader("Authorization") != null || request.getHeader("x-api-key") != null;
        // Counted before the answer goes out, so whoever got the 401 can already see it counted.
        LOG.info("{} {} 401 key=- attempts=0 client={} ({} client token)", request.getMethod(), request.getRequestURI(), ClientTokens.UNAUTHENTICATED, presented ? "unknown" : "no");
        metrics.answered(null, ClientTokens.UNAUTHENTICATED, 401);
        new ProxyError(401, "authentication_error", "invalid_client_token", null, presented
            ? "The client token is not one this proxy knows. Send a token from PROXY_CLIENT_TOKENS as Authorization: Bearer <token> (the SDKs' API key) or x-api-key: <token>."
            : "This proxy needs a client token: send one from PROXY_CLIENT_TOKENS as Authorization: Bearer <token> (the SDKs' API key) or x-api-key: <token>.")
            .sendTo(response, with(closeIfBody(request), "WWW-Authenticate", "Bearer"));
    }

    /**
     * Refused before its body is read: the unread body would be taken for the next request
     * on the connection, or make the container close it unannounced. {@code Connection:
     * close} tells the client not to reuse it.
     */
    static String[] closeIfBody(HttpServletRequest request)
    {
        boolean body = request.getContentLengthLong() > 0 || request.getHeader("Transfer-Encoding") != null;
        return body ? new String[] {"Connection", "close"} : new String[0];
    }

    private static String[] with(String[] headers, String... more)
    {
        String[] all = java.util.Arrays.copyOf(headers, headers.length + more.length);
        System.arraycopy(more, 0, all, headers.length, more.length);
        return all;
    }
}
