package dev.cerebrasproxy.containers;

/** A drain on SIGTERM on Tomcat 10 (connector with bindOnInit="false", as README's Deploying says). */
class Tomcat10GracefulStopIT extends GracefulStopSuite
{
    Tomcat10GracefulStopIT()
    {
        super(TomcatDistribution.tomcat10(), false, dev.cerebrasproxy.Drain.WAITING_LINE);
    }
}
