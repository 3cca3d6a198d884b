package dev.cerebrasproxy.containers;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the Maven build put what the integration tests deploy: the WAR, the unpacked
 * distributions, the project itself. Failsafe passes these in (see pom.xml), so a test
 * started any other way fails with a clear message instead of a missing file later.
 */
final class BuildLayout
{
    private BuildLayout()
    {
    }

    static Path war()
    {
        return existing("it.war");
    }

    static Path projectDir()
    {
        return existing("it.projectDir");
    }

    /** The repository's own jetty-base/, the one the Dockerfile copies into the image. */
    static Path jettyBase()
    {
        return projectDir().resolve("jetty-base");
    }

    static Path dockerfile()
    {
        return projectDir().resolve("Dockerfile");
    }

    static Path jettyHome()
    {
        return existing("it.jettyHome");
    }

    static String jettyVersion()
    {
        return property("it.jettyVersion");
    }

    static Path tomcat10Home()
    {
        return existing("it.tomcat10Home");
    }

    static Path tomcat11Home()
    {
        return existing("it.tomcat11Home");
    }

    static Path mavenHome()
    {
        return existing("it.mavenHome");
    }

    static Path mavenRepoLocal()
    {
        return existing("it.mavenRepoLocal");
    }

    /** A directory of its own under target/ for one container run: a base, its logs. */
    static Path newWorkDir(String name) throws Exception
    {
        Path root = Path.of(property("it.workDir"));
        Files.createDirectories(root);
        return Files.createTempDirectory(root, name + "-");
    }

    /** The JDK running the tests, which the containers run on too. */
    static Path javaHome()
    {
        return Path.of(System.getProperty("java.home"));
    }

    private static Path existing(String name)
    {
        Path path = Path.of(property(name));
        if (!Files.exists(path))
            throw new IllegalStateException(name + " points to " + path + ", which does not exist: run the integration tests with `mvn verify`.");
        return path;
    }

    private static String property(String name)
    {
        String value = System.getProperty(name);
        if (value == null || value.isBlank())
            throw new IllegalStateException("System property " + name + " is not set: run the integration tests with `mvn verify` (failsafe sets it).");
        return value;
    }
}
