package dev.cerebrasproxy.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A settings file checked on a timer, for the files that reload live (keys, client
 * tokens). It polls the file's content rather than waiting for file-system events:
 * polling works the same on every file system, including Docker bind mounts and
 * Kubernetes secret volumes (which swap a symlink and send no event for the file
 * itself), and a hash of a small file costs nothing at one check a second. Comparing
 * content, not modification times, also catches two writes within one tick of a coarse
 * file-system clock. Each distinct content is handed on once, so a lasting bad file is
 * reported once.
 */
final class PolledFile implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(PolledFile.class);

    private final Path file;
    private final Runnable changed;
    private final ScheduledExecutorService executor;
    /** The content last handed on, so each version is handled once. */
    private byte[] lastSeen;

    /** Starts checking; the first check hands the content on too, in case it changed since startup read it. */
    PolledFile(Path file, Duration every, String threadName, Runnable changed)
    {
        this.file = file;
        this.changed = changed;
        this.executor = Executors.newSingleThreadScheduledExecutor(task ->
        {
            Thread thread = new Thread(task, threadName);
            thread.setDaemon(true); // never the reason a JVM stays up
            return thread;
        });
        long millis = every.toMillis();
        executor.scheduleWithFixedDelay(this::checkSafely, millis, millis, TimeUnit.MILLISECONDS);
    }

    private void checkSafely()
    {
        try
        {
            check();
        }
        catch (RuntimeException e)
        {
            // A scheduled task that throws is never run again: log and keep watching.
            LOG.warn("checking {} failed ({}); what it configures stays as it is", file, e.getClass().getSimpleName());
        }
    }

    /** Looks at the file once and runs {@code changed} if its content changed. */
    synchronized void check()
    {
        byte[] digest = digestOf(file);
        if (Arrays.equals(digest, lastSeen))
            return;
        lastSeen = digest;
        changed.run();
    }

    /** A digest of the file's bytes, or of the failure to read them, so a lasting failure is reported once. */
    private static byte[] digestOf(Path file)
    {
        try
        {
            MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
            try
            {
                return sha256.digest(Files.readAllBytes(file));
            }
            catch (IOException e)
            {
                return sha256.digest(("unreadable " + e.getClass().getName()).getBytes());
            }
        }
        catch (NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** Stops the checks and waits for one in progress to end, so no thread outlives the webapp. */
    @Override
    public void close()
    {
        executor.shutdownNow();
        try
        {
            if (!executor.awaitTermination(10, TimeUnit.SECONDS))
                LOG.warn("the check of {} did not stop within 10 s", file);
        }
        catch (InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }
}
