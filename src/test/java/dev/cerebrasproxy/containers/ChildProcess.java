package dev.cerebrasproxy.containers;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * A program the tests start as a separate OS process (a container, Maven), with stdout
 * and stderr going to one file an operator would read. Stopping it stops everything it
 * started too (a shell script's JVM, Maven's forks), and a JVM shutdown hook stops what
 * a failed or interrupted test left running, so no port stays taken after the build.
 */
final class ChildProcess implements AutoCloseable
{
    /** Names in the tests' own environment that must not reach a container: it gets only what the test sets. */
    private static final Set<String> INHERITED_SETTINGS = Set.of("JAVA_OPTS", "JAVA_OPTIONS", "CATALINA_OPTS", "CATALINA_BASE", "CATALINA_HOME", "CATALINA_PID", "JETTY_BASE", "JETTY_HOME");
    private static final Set<ChildProcess> RUNNING = ConcurrentHashMap.newKeySet();

    static
    {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(ChildProcess::kill), "stop-child-processes"));
    }

    private final String name;
    private final Process process;
    private final Path output;

    private ChildProcess(String name, Process process, Path output)
    {
        this.name = name;
        this.process = process;
        this.output = output;
    }

    /**
     * Starts {@code command} in {@code directory} with the tests' environment minus any
     * proxy or container setting, plus {@code environment}; its output goes to {@code output}.
     */
    static ChildProcess start(String name, List<String> command, Path directory, Map<String, String> environment, Path output) throws IOException
    {
        ProcessBuilder builder = new ProcessBuilder(command)
            .directory(directory.toFile())
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            // Nothing may wait for console input that never comes.
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(key -> key.startsWith("CEREBRAS_") || key.startsWith("PROXY_") || INHERITED_SETTINGS.contains(key));
        env.putAll(environment);
        ChildProcess child = new ChildProcess(name, builder.start(), output);
        RUNNING.add(child);
        return child;
    }

    /** The processes this one started, and theirs. */
    List<ProcessHandle> descendants()
    {
        return process.descendants().collect(Collectors.toList());
    }

    boolean isAlive()
    {
        return process.isAlive();
    }

    /** Everything the process wrote to stdout and stderr so far. */
    String output()
    {
        try
        {
            return new String(Files.readAllBytes(output), StandardCharsets.UTF_8);
        }
        catch (IOException e)
        {
            return "(could not read " + output + ": " + e + ")";
        }
    }

    Path outputFile()
    {
        return output;
    }

    /**
     * Asks the process and its descendants to stop (SIGTERM: containers shut down
     * gracefully), waits, and kills whatever is still running after the grace period.
     */
    @Override
    public void close() throws InterruptedException
    {
        try
        {
            List<ProcessHandle> tree = tree();
            tree.forEach(ProcessHandle::destroy);
            if (!awaitExit(tree, 30))
            {
                tree.forEach(ProcessHandle::destroyForcibly);
                if (!awaitExit(tree, 10))
                    throw new AssertionError(name + " did not exit even when killed");
            }
        }
        finally
        {
            RUNNING.remove(this);
        }
    }

    /** SIGTERM to the process and all it started, without waiting: what `docker stop` or a rolling deploy does first. */
    void terminate()
    {
        tree().forEach(ProcessHandle::destroy);
    }

    /** Whether the process exited by itself within the bound. */
    boolean exitsWithin(java.time.Duration bound) throws InterruptedException
    {
        return process.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void kill()
    {
        tree().forEach(ProcessHandle::destroyForcibly);
    }

    /** The process and all it started, listed before any dies (an orphan is no descendant any more). */
    private List<ProcessHandle> tree()
    {
        List<ProcessHandle> tree = new ArrayList<>();
        tree.add(process.toHandle());
        process.descendants().forEach(tree::add);
        return tree;
    }

    private static boolean awaitExit(List<ProcessHandle> tree, long seconds) throws InterruptedException
    {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        for (ProcessHandle handle : tree)
        {
            try
            {
                handle.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
            catch (TimeoutException e)
            {
                return false;
            }
            catch (ExecutionException e)
            {
                throw new IllegalStateException(e);
            }
        }
        return true;
    }

    @Override
    public String toString()
    {
        return name + " (pid " + process.pid() + ")";
    }
}
