package dev.cerebrasproxy.config;

import java.nio.file.Path;
import java.time.Duration;

import dev.cerebrasproxy.access.ClientTokens;
import dev.cerebrasproxy.access.Clients;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads the clients (tokens and limits) when {@code PROXY_CLIENT_TOKENS_FILE} changes,
 * like the keys file. Counts are kept by client name, so a client the new file keeps
 * keeps its counts, under its new limits. A file that is unreadable or invalid is
 * rejected with one log line per distinct content, naming no token; the clients stay as
 * they were.
 */
public final class TokensFileWatcher implements AutoCloseable
{
    public static final String THREAD_NAME = "cerebras-proxy-tokens-file";
    private static final Logger LOG = LoggerFactory.getLogger(TokensFileWatcher.class);

    private final Path file;
    private final Clients clients;
    private final PolledFile polled;
    private boolean checkedOnce;

    public TokensFileWatcher(Path file, Clients clients, Duration every)
    {
        this.file = file;
        this.clients = clients;
        this.polled = new PolledFile(file, every, THREAD_NAME, this::reload);
    }

    void check()
    {
        polled.check();
    }

    private void reload()
    {
        ClientTokens next;
        try
        {
            next = ProxySettings.readClientTokensFile(file);
        }
        catch (InvalidSettingsException e)
        {
            LOG.error("client tokens file rejected, the proxy keeps its {} clients ({}): {}", clients.tokens().names().size(), clients.tokens().names(), e.getMessage());
            return;
        }
        // The first check reads what startup read, most likely: say nothing of it.
        if (checkedOnce)
            LOG.info("client tokens reloaded from {}: {} clients ({})", file, next.names().size(), String.join(", ", next.names()));
        clients.reload(next);
        checkedOnce = true;
    }

    @Override
    public void close()
    {
        polled.close();
    }
}
