package dev.cerebrasproxy.containers;

/** The smoke suite on Tomcat 10.1. */
class Tomcat10IT extends ContainerSmokeSuite
{
    Tomcat10IT()
    {
        super(TomcatDistribution.tomcat10());
    }
}
