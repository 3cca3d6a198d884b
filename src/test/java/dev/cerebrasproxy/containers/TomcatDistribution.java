package dev.cerebrasproxy.containers;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An Apache Tomcat distribution running the WAR as webapps/ROOT.war, started with
 * `catalina.sh run` as users (and most Tomcat images) start it. Each run gets a
 * CATALINA_BASE of its own (Tomcat's documented way to run an instance apart from the
 * installation): the distribution's conf/ and a webapps/ holding only ROOT.war, so the
 * default ROOT and example apps are not there and the unpacked distribution stays
 * untouched.
 */
final class TomcatDistribution implements ServletContainer
{
    private final String version;
    private final Path home;

    private TomcatDistribution(String version, Path home)
    {
        this.version = version;
        this.home = home;
    }

    static TomcatDistribution tomcat10()
    {
        Path home = BuildLayout.tomcat10Home();
        return new TomcatDistribution(versionOf(home), home);
    }

    static TomcatDistribution tomcat11()
    {
        Path home = BuildLayout.tomcat11Home();
        return new TomcatDistribution(versionOf(home), home);
    }

    private static String versionOf(Path home)
    {
        return home.getFileName().toString().replace("apache-tomcat-", "");
    }

    @Override
    public String name()
    {
        return "Tomcat " + version;
    }

    @Override
    public String stoppedInOrderLine()
    {
        return "Stopping service [Catalina]";
    }

    @Override
    public RunningProxy start(Map<String, String> environment) throws Exception
    {
        Path base = BuildLayout.newWorkDir("tomcat-" + version);
        Directories.copy(home.resolve("conf"), base.resolve("conf"));
        for (String dir : List.of("webapps", "logs", "temp", "work"))
            Files.createDirectories(base.resolve(dir));
        Files.copy(BuildLayout.war(), base.resolve("webapps/ROOT.war"));
        int port = FreePort.onLoopback();
        listenOnlyOn(base.resolve("conf/server.xml"), port);

        Map<String, String> env = new HashMap<>(environment);
        env.put("JAVA_HOME", BuildLayout.javaHome().toString());
        env.put("CATALINA_HOME", home.toString());
        env.put("CATALINA_BASE", base.toString());
        env.put("CATALINA_OPTS", ContainerJvm.appendedTo(null));
        // sh, not the script itself: unpacking may not keep the executable bit.
        List<String> command = List.of("/bin/sh", home.resolve("bin/catalina.sh").toString(), "run");
        ChildProcess tomcat = ChildProcess.start(name(), command, base, env, base.resolve("console.log"));
        return RunningProxy.awaitAnswering(tomcat, port, base.resolve("logs"));
    }

    /**
     * The stock server.xml listens on 8080 on every interface and on 8005 for a shutdown
     * command. Here: the HTTP connector on loopback at a free port, bound only while it
     * runs, and no shutdown port (the test stops Tomcat with SIGTERM, which runs its
     * shutdown hook).
     */
    private static void listenOnlyOn(Path serverXml, int port) throws Exception
    {
        String shutdownPort = "<Server port=\"8005\"";
        String httpConnector = "<Connector port=\"8080\"";
        String xml = Files.readString(serverXml);
        if (!xml.contains(shutdownPort) || !xml.contains(httpConnector))
            throw new IllegalStateException(serverXml + " no longer looks like Tomcat's stock server.xml: adapt TomcatDistribution");
        // h2c beside HTTP/1.1, as README's Deploying section tells Tomcat users to enable it.
        // bindOnInit="false": a stop closes the listening socket first, so new connections are
        // refused while requests in flight finish (README: Deploying, Tomcat).
        Matcher connector = Pattern.compile("<Connector port=\"8080\"([^>]*?)/>").matcher(xml);
        if (!connector.find())
            throw new IllegalStateException(serverXml + " has no self-closed HTTP connector on 8080 any more: adapt TomcatDistribution");
        xml = xml.substring(0, connector.start()) + "<Connector port=\"" + port + "\" address=\"127.0.0.1\" bindOnInit=\"false\"" + connector.group(1)
            + "><UpgradeProtocol className=\"org.apache.coyote.http2.Http2Protocol\" /></Connector>" + xml.substring(connector.end());
        Files.writeString(serverXml, xml.replace(shutdownPort, "<Server port=\"-1\""));
    }
}
