package dev.cerebrasproxy.containers;

/** A drain on SIGTERM on the Jetty distribution from the repository's jetty-base/ (what the Docker image runs). */
class JettyDistributionGracefulStopIT extends GracefulStopSuite
{
    JettyDistributionGracefulStopIT()
    {
        super(new JettyDistribution(), true,
            // Jetty logs it as its stop begins; the graceful stop then waits.
            "Stopped oejs.Server@");
    }
}
