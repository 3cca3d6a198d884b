package dev.cerebrasproxy;

import java.time.InstantSource;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the settings when the webapp starts and puts them, with the key pool built from
 * them, the usage ledger, the metrics and the admin access, into the servlet context for
 * {@link CerebrasProxyServlet} and the operations endpoints. Bad settings stop the
 * webapp here, with one log line that names the problem and the fix.
 */
public class KeyPoolInitializer implements ServletContextListener
{
    public static final String SETTINGS_ATTRIBUTE = ProxySettings.class.getName();
    public static final String POOL_ATTRIBUTE = KeyPool.class.getName();
    /** What each key and client used, for the status page. */
    public static final String LEDGER_ATTRIBUTE = UsageLedger.class.getName();
    /**
     * Where an embedding program (or a test) may put a {@code UnaryOperator<String>} that
     * supplies settings by name instead of the environment.
     */
    public static final String SETTINGS_SOURCE_ATTRIBUTE = SETTINGS_ATTRIBUTE + ".source";
    /**
     * Where an embedding program (or a test) may put the {@link InstantSource} the pool
     * tells time by, instead of the system clock; it then also puts a {@link TaskScheduler}
     * that measures delays on that clock under {@link #SCHEDULER_ATTRIBUTE}.
     */
    public static final String CLOCK_ATTRIBUTE = InstantSource.class.getName();
    public static final String SCHEDULER_ATTRIBUTE = TaskScheduler.class.getName();

    private static final Logger LOG = LoggerFactory.getLogger(KeyPoolInitializer.class);

    /** Reloads the pool from CEREBRAS_API_KEYS_FILE; null when the keys came from the environment. */
    private KeysFileWatcher watcher;

    @Override
    @SuppressWarnings("unchecked")
    public void contextInitialized(ServletContextEvent event)
    {
        ServletContext context = event.getServletContext();
        UnaryOperator<String> source = (UnaryOperator<String>)context.getAttribute(SETTINGS_SOURCE_ATTRIBUTE);
        ProxySettings settings;
        try
        {
            settings = source == null ? ProxySettings.fromEnvironment() : ProxySettings.from(source);
        }
        catch (InvalidSettingsException e)
        {
            LOG.error("cerebras-proxy cannot start: {}", e.getMessage());
            // The container logs this too: point at the line above rather than repeat it.
            throw new InvalidSettingsException("cerebras-proxy settings are invalid; the problem and its fix are logged just before this");
        }
        context.setAttribute(SETTINGS_ATTRIBUTE, settings);
        InstantSource clock = (InstantSource)context.getAttribute(CLOCK_ATTRIBUTE);
        KeyPool pool = new KeyPool(settings.keys(), settings.cooldowns(), clock == null ? InstantSource.system() : clock);
        context.setAttribute(POOL_ATTRIBUTE, pool);
        UsageLedger ledger = new UsageLedger();
        context.setAttribute(LEDGER_ATTRIBUTE, ledger);
        // The pool reloads in place (CEREBRAS_API_KEYS_FILE), so its snapshot is always current.
        context.setAttribute(ProxyMetrics.ATTRIBUTE, new ProxyMetrics(ledger, pool::snapshot));
        context.setAttribute(AdminAccess.ATTRIBUTE, new AdminAccess(settings.adminToken()));
        ClientTokens clients = settings.clientTokens();
        if (clients.required())
            LOG.info("cerebras-proxy: requests need a client token; {} {} ({})", clients.names().size(), clients.names().size() == 1 ? "client" : "clients", String.join(", ", clients.names()));
        else
            LOG.warn("cerebras-proxy is open: anyone who can reach it may use the pool's keys; set {} (or {}) to require a token per client", ProxySettings.CLIENT_TOKENS, ProxySettings.CLIENT_TOKENS_FILE);
        int size = settings.keys().size();
        LOG.info("cerebras-proxy ready: {} {} ({}) in front of {}", size, size == 1 ? "key" : "keys",
            settings.keys().stream().map(ApiKey::name).collect(Collectors.joining(", ")), settings.upstream());
        if (settings.keysFile() != null)
        {
            watcher = new KeysFileWatcher(settings.keysFile(), pool, settings.keysFilePoll());
            LOG.info("keys come from {} and are reloaded when it changes (checked every {} ms)", settings.keysFile(), settings.keysFilePoll().toMillis());
        }
    }

    @Override
    public void contextDestroyed(ServletContextEvent event)
    {
        // The watcher's thread would otherwise outlive the webapp and keep its class loader alive.
        if (watcher != null)
            watcher.close();
        watcher = null;
    }
}
