package dev.cerebrasproxy.containers;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * README's run command, `mvn jetty:run`, in the project directory, with the Maven that
 * runs this build. Offline: the build resolved the plugin before the integration tests
 * (see the resolve-jetty-run execution in pom.xml), so this needs no network.
 */
final class MavenJettyRun implements ServletContainer
{
    @Override
    public boolean offersH2c()
    {
        return false; // the plugin's connector is HTTP/1.1 only
    }

    @Override
    public String name()
    {
        return "mvn jetty:run";
    }

    @Override
    public String stoppedInOrderLine()
    {
        return "Stopped oejs.Server@";
    }

    @Override
    public RunningProxy start(Map<String, String> environment) throws Exception
    {
        Path work = BuildLayout.newWorkDir("jetty-run");
        int port = FreePort.onLoopback();
        List<String> command = List.of(
            BuildLayout.mavenHome().resolve("bin/mvn").toString(),
            "--offline", "--batch-mode",
            "-Dmaven.repo.local=" + BuildLayout.mavenRepoLocal(),
            "jetty:run",
            // No host: README's command listens on loopback by itself (MavenJettyRunIT checks).
            "-Djetty.http.port=" + port);
        Map<String, String> env = new HashMap<>(environment);
        env.put("JAVA_HOME", BuildLayout.javaHome().toString());
        // jetty:run serves from Maven's own JVM.
        env.put("MAVEN_OPTS", ContainerJvm.appendedTo(System.getenv("MAVEN_OPTS")));
        ChildProcess maven = ChildProcess.start(name(), command, BuildLayout.projectDir(), env, work.resolve("console.log"));
        return RunningProxy.awaitAnswering(maven, port);
    }
}
