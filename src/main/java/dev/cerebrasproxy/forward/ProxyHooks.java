package dev.cerebrasproxy.forward;

import java.util.concurrent.Executor;

import dev.cerebrasproxy.pool.TaskScheduler;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;

/**
 * What a {@link ProxyCall} needs from its servlet: Jetty's proxy hooks (protected there,
 * so subclasses of the servlet can still change them) and the timer its waits run on.
 */
interface ProxyHooks
{
    /** An upstream request to {@code target} with the client's headers, as Jetty's proxy copies them. */
    Request newUpstreamRequest(HttpServletRequest request, String target);

    /** Upstream's response headers onto the client's response, through the servlet's header filter. */
    void copyResponseHeaders(HttpServletRequest request, HttpServletResponse response, Response upstream);

    /** Ends the client's response abnormally (after bytes went out, so it can tell) and completes it. */
    void endAbnormally(HttpServletRequest request, HttpServletResponse response, int status);

    /** Runs the timers of calls that wait for a key, on the pool's clock. */
    TaskScheduler timers();

    /**
     * The HTTP client's executor: where a call goes on after waiting for something off its
     * thread (a shared store's answer).
     */
    Executor executor();

    /** Where each request's one log line goes (written off the request's thread). */
    RequestLog requestLog();

    /** Watches the calls in flight for clients that left. */
    ClientDepartures departures();

    /** The memory that all bodies still arriving share. */
    BodyBudget bodyBudget();
}
