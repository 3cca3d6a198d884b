package dev.cerebrasproxy;

import java.time.Duration;
import java.util.function.BooleanSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the webapp is draining: its container was told to stop (SIGTERM, an undeploy)
 * and lets requests in flight finish, so {@code /_proxy/health/ready} answers 503 and a
 * load balancer sends new traffic elsewhere. Jetty drains by itself (its graceful stop,
 * see jetty-base/start.d/graceful.ini); on Tomcat the proxy servlet waits in
 * {@link #awaitWhile} before its upstream client stops. A servlet cannot see SIGTERM, so
 * {@link ProxyWebapp} turns this on from a JVM shutdown hook.
 */
public final class Drain
{
    private static final Logger LOG = LoggerFactory.getLogger(Drain.class);

    /** Logged once when a stop begins to wait for requests in flight. */
    public static final String WAITING_LINE = "cerebras-proxy: the stop waits for the requests in flight";

    /** How often a stop that waits looks again: a stop is no hot path. */
    private static final long POLL_MILLIS = 100;

    private final Duration grace;
    private volatile boolean draining;

    /** @param grace how long the container lets requests in flight finish (PROXY_DRAIN_SECONDS) */
    public Drain(Duration grace)
    {
        this.grace = grace;
    }

    /** Turns draining on; the first call logs one line, later ones nothing. */
    public void begin()
    {
        synchronized (this)
        {
            if (draining)
                return;
            draining = true;
        }
        LOG.info("cerebras-proxy draining: /_proxy/health/ready answers 503; requests in flight have up to {} s (PROXY_DRAIN_SECONDS) to finish", grace.toSeconds());
    }

    /**
     * While draining, waits as long as {@code busy} says so, up to the grace period; returns
     * at once otherwise (an undeploy or a test's stop: nothing to drain for).
     */
    public void awaitWhile(BooleanSupplier busy)
    {
        if (!draining || grace.isZero())
            return;
        long deadline = System.nanoTime() + grace.toNanos();
        boolean waited = false;
        while (busy.getAsBoolean())
        {
            if (System.nanoTime() - deadline >= 0)
            {
                LOG.warn("cerebras-proxy: requests still in flight after {} s (PROXY_DRAIN_SECONDS); stopping anyway", grace.toSeconds());
                return;
            }
            if (!waited)
                LOG.info(WAITING_LINE + " (up to {} s)", Math.max(0, (deadline - System.nanoTime()) / 1_000_000_000L));
            waited = true;
            try
            {
                Thread.sleep(POLL_MILLIS);
            }
            catch (InterruptedException e)
            {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (waited)
            LOG.info("cerebras-proxy drained: no request in flight");
    }

    public boolean draining()
    {
        return draining;
    }

    public Duration grace()
    {
        return grace;
    }
}
