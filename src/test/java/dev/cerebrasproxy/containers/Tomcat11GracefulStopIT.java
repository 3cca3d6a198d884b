package dev.cerebrasproxy.containers;

/** A drain on SIGTERM on Tomcat 11 (connector with bindOnInit="false", as README's Deploying says). */
class Tomcat11GracefulStopIT extends GracefulStopSuite
{
    Tomcat11GracefulStopIT()
    {
        super(TomcatDistribution.tomcat11(), false, dev.cerebrasproxy.Drain.WAITING_LINE);
    }
}
