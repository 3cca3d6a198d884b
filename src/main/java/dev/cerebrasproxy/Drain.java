package dev.cerebrasproxy;

import java.time.Duration;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the webapp is draining: its container was told to stop (SIGTERM, an undeploy)
 * and lets requests in flight finish, so {@code /_proxy/health/ready} answers 503 and a
 * load balancer sends new traffic elsewhere. The container does the draining itself
 * (Jetty's graceful stop, see jetty-base/start.d/graceful.ini); a servlet cannot see
 * SIGTERM, so {@link ProxyWebapp} turns this on from a JVM shutdown hook.
 */
public final class Drain
{
    private static final Logger LOG = LoggerFactory.getLogger(Drain.class);

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

    public boolean draining()
    {
        return draining;
    }

    public Duration grace()
    {
        return grace;
    }
}
