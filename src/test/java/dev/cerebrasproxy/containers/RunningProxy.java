package dev.cerebrasproxy.containers;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.Poll;

/**
 * A container process serving the proxy on a loopback port, and everything it logs: its
 * console and any log files it writes (Tomcat's logs/). Closing it stops the process and
 * waits until the port is free again.
 */
final class RunningProxy implements AutoCloseable
{
    /** Generous for a loaded 2-core CI machine; only ever reached when something is wrong. */
    static final Duration STARTUP_BOUND = Duration.ofSeconds(120);

    private final ChildProcess process;
    private final int port;
    private final List<Path> logDirectories;

    private RunningProxy(ChildProcess process, int port, List<Path> logDirectories)
    {
        this.process = process;
        this.port = port;
        this.logDirectories = logDirectories;
    }

    /** Waits until the container answers HTTP on {@code port}; stops it if it never does. */
    static RunningProxy awaitAnswering(ChildProcess process, int port, Path... logDirectories) throws Exception
    {
        RunningProxy proxy = new RunningProxy(process, port, List.of(logDirectories));
        try
        {
            Poll.untilTrue(STARTUP_BOUND, process + " to answer HTTP on port " + port, proxy::answers);
            return proxy;
        }
        catch (Throwable failure)
        {
            String log = proxy.log();
            proxy.close();
            throw new AssertionError(failure.getMessage() + "; its log:\n" + log, failure);
        }
    }

    /** Any HTTP answer will do: the server is up, whether or not the webapp started. */
    private boolean answers()
    {
        if (!process.isAlive())
            throw new AssertionError(process + " exited before it answered");
        try
        {
            Http.send(HttpRequest.newBuilder(uri("/")).timeout(Duration.ofSeconds(5)).GET().build());
            return true;
        }
        catch (Exception notYet)
        {
            return false;
        }
    }

    URI uri(String pathAndQuery)
    {
        return URI.create("http://127.0.0.1:" + port + pathAndQuery);
    }

    int port()
    {
        return port;
    }

    /** All the container wrote: its console, then its log files. */
    String log()
    {
        StringBuilder log = new StringBuilder(process.output());
        for (Path directory : logDirectories)
        {
            try (Stream<Path> files = Files.walk(directory))
            {
                for (Path file : files.filter(Files::isRegularFile).sorted().collect(Collectors.toList()))
                    log.append("\n--- ").append(file.getFileName()).append(" ---\n").append(new String(Files.readAllBytes(file), StandardCharsets.UTF_8));
            }
            catch (IOException e)
            {
                log.append("\n(could not read ").append(directory).append(": ").append(e).append(")");
            }
        }
        return log.toString();
    }

    /** How many times the log holds {@code text} so far. */
    int countInLog(String text)
    {
        String log = log();
        int count = 0;
        for (int at = log.indexOf(text); at >= 0; at = log.indexOf(text, at + text.length()))
            count++;
        return count;
    }

    HttpResponse<String> post(String path, String json) throws Exception
    {
        return Http.post(uri(path), json);
    }

    /** Sends SIGTERM and returns at once; {@link #close} still waits for the exit. */
    void terminate()
    {
        process.terminate();
    }

    boolean exitsWithin(Duration bound) throws InterruptedException
    {
        return process.exitsWithin(bound);
    }

    @Override
    public void close() throws Exception
    {
        process.close();
        Poll.untilTrue(Duration.ofSeconds(10), "port " + port + " to be free after " + process + " stopped", () -> FreePort.isFree(port));
    }

    @Override
    public String toString()
    {
        return process + " on port " + port;
    }
}
