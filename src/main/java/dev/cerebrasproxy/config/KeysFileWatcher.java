package dev.cerebrasproxy.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import dev.cerebrasproxy.pool.ApiKey;
import dev.cerebrasproxy.pool.KeyPool;
import dev.cerebrasproxy.pool.Reload;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads the key pool when the keys file changes. It polls the file's content rather
 * than waiting for file-system events: polling works the same on every file system,
 * including Docker bind mounts and Kubernetes secret volumes (which swap a symlink and
 * send no event for the file itself), and a hash of a small file costs nothing at one
 * check a second. Comparing content, not modification times, also catches two writes
 * within one tick of a coarse file-system clock.
 *
 * <p>A file that is unreadable or invalid is rejected with one log line per distinct
 * content, and the pool keeps serving the keys it has.
 */
public final class KeysFileWatcher implements AutoCloseable
{
    static final String THREAD_NAME = "cerebras-proxy-keys-file";
    private static final Logger LOG = LoggerFactory.getLogger(KeysFileWatcher.class);

    private final Path file;
    private final KeyPool pool;
    private final ScheduledExecutorService executor;
    /** The content last acted on (reloaded or rejected), so each version is handled once. */
    private byte[] lastSeen;

    /** Starts watching. The first check reloads too, in case the file changed since the settings read it (a no-op otherwise). */
    public KeysFileWatcher(Path file, KeyPool pool, Duration every)
    {
        this.file = file;
        this.pool = pool;
        this.executor = Executors.newSingleThreadScheduledExecutor(task ->
        {
            Thread thread = new Thread(task, THREAD_NAME);
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
            LOG.warn("checking the keys file {} failed ({}); the pool keeps its {} keys", file, e.getClass().getSimpleName(), pool.size());
        }
    }

    /** Looks at the file once and reloads the pool if its content changed. */
    synchronized void check()
    {
        byte[] digest = digestOf(file);
        if (Arrays.equals(digest, lastSeen))
            return;
        lastSeen = digest;
        List<ApiKey> keys;
        try
        {
            keys = ProxySettings.readKeysFile(file);
        }
        catch (InvalidSettingsException e)
        {
            LOG.error("keys file rejected, the pool keeps serving its {} keys ({}): {}", pool.size(),
                pool.keys().stream().map(ApiKey::name).toList(), e.getMessage());
            return;
        }
        Reload reload = pool.reload(keys);
        if (!reload.changedNothing())
            LOG.info("keys reloaded from {}: {}", file, reload);
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
                LOG.warn("the keys file check did not stop within 10 s");
        }
        catch (InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }
}
