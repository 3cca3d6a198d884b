package dev.cerebrasproxy.containers;

import java.util.List;

/**
 * JVM options for the containers the tests start. They live for seconds on a shared
 * 2-core machine, where C2 compiler threads and parallel GC threads only compete with
 * the build: with the quick JIT tier and the serial GC a Tomcat starts on less than half
 * the CPU. What the proxy does is the same.
 */
final class ContainerJvm
{
    static final List<String> OPTIONS = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

    private ContainerJvm()
    {
    }

    /** The options as one environment value (CATALINA_OPTS, MAVEN_OPTS), after what {@code existing} holds. */
    static String appendedTo(String existing)
    {
        String options = String.join(" ", OPTIONS);
        return existing == null || existing.isBlank() ? options : existing + " " + options;
    }
}
