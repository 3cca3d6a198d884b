package dev.cerebrasproxy.containers;

/** The smoke suite on Tomcat 11. */
class Tomcat11IT extends ContainerSmokeSuite
{
    Tomcat11IT()
    {
        super(TomcatDistribution.tomcat11());
    }
}
