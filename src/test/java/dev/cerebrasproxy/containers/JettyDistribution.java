package dev.cerebrasproxy.containers;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Jetty 12 distribution (jetty-home, as in the official Docker image) started from the
 * repository's own jetty-base/ with the WAR as webapps/ROOT.war: what the Dockerfile
 * builds and what README's "Deploying" tells users to do.
 */
final class JettyDistribution implements ServletContainer
{
    /** Where the WAR goes inside the base; the Dockerfile must put it there too (DockerfileIT). */
    static final String WAR_IN_BASE = "webapps/ROOT.war";

    @Override
    public String name()
    {
        return "Jetty " + BuildLayout.jettyVersion() + " distribution";
    }

    @Override
    public String stoppedInOrderLine()
    {
        return "Stopped oejs.Server@";
    }

    @Override
    public RunningProxy start(Map<String, String> environment) throws Exception
    {
        Path base = BuildLayout.newWorkDir("jetty-base");
        Directories.copy(BuildLayout.jettyBase(), base);
        Files.copy(BuildLayout.war(), base.resolve(WAR_IN_BASE), StandardCopyOption.REPLACE_EXISTING);
        // Jetty unpacks the WAR into $JETTY_BASE/work when it exists, instead of /tmp.
        Files.createDirectories(base.resolve("work"));

        int port = FreePort.onLoopback();
        List<String> command = new ArrayList<>();
        command.add(BuildLayout.javaHome().resolve("bin/java").toString());
        command.addAll(ContainerJvm.OPTIONS);
        command.addAll(List.of("-jar", BuildLayout.jettyHome().resolve("start.jar").toString(),
            "jetty.http.host=127.0.0.1",
            "jetty.http.port=" + port));
        Map<String, String> env = new HashMap<>(environment);
        env.put("JAVA_HOME", BuildLayout.javaHome().toString());
        // The base is the working directory, as with `cd jetty-base && java -jar $JETTY_HOME/start.jar`.
        ChildProcess jetty = ChildProcess.start(name(), command, base, env, base.resolve("console.log"));
        return RunningProxy.awaitAnswering(jetty, port);
    }
}
