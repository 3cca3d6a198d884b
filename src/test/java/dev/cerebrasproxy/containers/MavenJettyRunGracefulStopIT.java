package dev.cerebrasproxy.containers;

/** A drain on SIGTERM with README's `mvn jetty:run` (src/main/jetty/jetty-run.xml). */
class MavenJettyRunGracefulStopIT extends GracefulStopSuite
{
    MavenJettyRunGracefulStopIT()
    {
        super(new MavenJettyRun(), true,
            // Jetty logs it as its stop begins; the graceful stop then waits.
            "Stopped oejs.Server@");
    }
}
