package dev.cerebrasproxy.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import dev.cerebrasproxy.pool.ApiKey;
import dev.cerebrasproxy.pool.KeyPool;
import dev.cerebrasproxy.pool.Reload;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads the key pool when the keys file changes ({@link PolledFile} says when). A file
 * that is unreadable or invalid is rejected with one log line per distinct content, and
 * the pool keeps serving the keys it has.
 */
public final class KeysFileWatcher implements AutoCloseable
{
    static final String THREAD_NAME = "cerebras-proxy-keys-file";
    private static final Logger LOG = LoggerFactory.getLogger(KeysFileWatcher.class);

    private final Path file;
    private final KeyPool pool;
    private final PolledFile polled;

    /** Starts watching. The first check reloads too, in case the file changed since the settings read it (a no-op otherwise). */
    public KeysFileWatcher(Path file, KeyPool pool, Duration every)
    {
        this.file = file;
        this.pool = pool;
        this.polled = new PolledFile(file, every, THREAD_NAME, this::reload);
    }

    /** Looks at the file once and reloads the pool if its content changed. */
    void check()
    {
        polled.check();
    }

    private void reload()
    {
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

    @Override
    public void close()
    {
        polled.close();
    }
}
