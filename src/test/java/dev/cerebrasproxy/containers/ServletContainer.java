package dev.cerebrasproxy.containers;

import java.util.Map;

/** One way users deploy the WAR (a distribution, `mvn jetty:run`), driven as they would drive it. */
interface ServletContainer
{
    /** What the test reports call it, e.g. "Tomcat 11.0.24". */
    String name();

    /**
     * Deploys the proxy on a fresh instance listening on a free loopback port and starts
     * it with these environment variables (the proxy's settings), returning once it
     * answers HTTP. The proxy webapp itself may have failed to start: that is for the test to see.
     */
    RunningProxy start(Map<String, String> environment) throws Exception;

    /** Whether it offers h2c beside HTTP/1.1 as deployed (jetty-base/ and Tomcat as README says; not `mvn jetty:run`). */
    default boolean offersH2c()
    {
        return true;
    }

    /** What the container logs once it has shut down in order (on SIGTERM), as opposed to being killed. */
    String stoppedInOrderLine();
}
