package dev.cerebrasproxy.containers;

/** The smoke suite on README's `mvn jetty:run`. */
class MavenJettyRunIT extends ContainerSmokeSuite
{
    MavenJettyRunIT()
    {
        super(new MavenJettyRun());
    }
}
