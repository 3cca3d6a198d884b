package dev.cerebrasproxy.containers;

/** The smoke suite on a Jetty distribution (jetty-home) from the repository's jetty-base/. */
class JettyDistributionIT extends ContainerSmokeSuite
{
    JettyDistributionIT()
    {
        super(new JettyDistribution());
    }
}
