package dev.cerebrasproxy;

import java.time.InstantSource;
import java.util.EnumSet;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

import dev.cerebrasproxy.access.AdminAccess;
import dev.cerebrasproxy.access.ClientTokens;
import dev.cerebrasproxy.access.Clients;
import dev.cerebrasproxy.access.HostCheck;
import dev.cerebrasproxy.config.InvalidSettingsException;
import dev.cerebrasproxy.config.KeysFileWatcher;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.config.TokensFileWatcher;
import dev.cerebrasproxy.ops.ProxyMetrics;
import dev.cerebrasproxy.ops.UsageLedger;
import dev.cerebrasproxy.pool.ApiKey;
import dev.cerebrasproxy.pool.FairQueue;
import dev.cerebrasproxy.pool.KeyPool;
import dev.cerebrasproxy.pool.TaskScheduler;
import dev.cerebrasproxy.shared.SharedState;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.FilterRegistration;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The webapp's start and stop (its listener in web.xml). At start it reads the settings
 * and builds what every servlet shares, the {@link ProxyContext}: the key pool, the usage
 * ledger, the metrics, the admin access. Bad settings stop the webapp here, with one log
 * line that names the problem and the fix. At stop it stops the threads the webapp starts
 * of its own: the keys and tokens file watchers, and with PROXY_REDIS_URL Redis's link.
 *
 * <p>A program that embeds the webapp (or a test) may put an {@link Embedding} under
 * {@link #EMBEDDING_ATTRIBUTE} before the webapp starts: the one way in besides the
 * environment.
 */
public class ProxyWebapp implements ServletContextListener
{
    /** Where an {@link Embedding} is read from, if one was put there before the webapp started. */
    public static final String EMBEDDING_ATTRIBUTE = Embedding.class.getName();

    /**
     * What an embedding program gives the webapp instead of the environment and the system
     * clock. Each may be null for the default.
     *
     * @param settings supplies settings by name instead of the environment
     * @param clock what the pool tells time by
     * @param scheduler runs the timers of requests that wait for a key; it must measure
     * delays on {@code clock}, so the two come together
     */
    public record Embedding(UnaryOperator<String> settings, InstantSource clock, TaskScheduler scheduler)
    {
        public Embedding
        {
            if ((clock == null) != (scheduler == null))
                throw new IllegalArgumentException("an embedded clock needs a scheduler on that clock, and the other way round");
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(ProxyWebapp.class);

    /** Reloads the pool from CEREBRAS_API_KEYS_FILE; null when the keys came from the environment. */
    private KeysFileWatcher watcher;
    /** Reloads the clients from PROXY_CLIENT_TOKENS_FILE; null when they came from the environment (or there are none). */
    private TokensFileWatcher tokensWatcher;
    /** Redis's connections and threads when PROXY_REDIS_URL is set; closed with the webapp. */
    private SharedState shared;
    private Drain drain;
    private Thread shutdownHook;

    @Override
    public void contextInitialized(ServletContextEvent event)
    {
        ServletContext context = event.getServletContext();
        Embedding embedding = (Embedding)context.getAttribute(EMBEDDING_ATTRIBUTE);
        if (embedding == null)
            embedding = new Embedding(null, null, null);
        ProxySettings settings;
        try
        {
            settings = embedding.settings() == null ? ProxySettings.fromEnvironment() : ProxySettings.from(embedding.settings());
        }
        catch (InvalidSettingsException e)
        {
            LOG.error("cerebras-proxy cannot start: {}", e.getMessage());
            // The container logs this too: point at the line above rather than repeat it.
            throw new InvalidSettingsException("cerebras-proxy settings are invalid; the problem and its fix are logged just before this");
        }
        InstantSource clock = embedding.clock() == null ? InstantSource.system() : embedding.clock();
        KeyPool pool = new KeyPool(settings.keys(), settings.cooldowns(), clock);
        drain = new Drain(settings.drainGrace());
        UsageLedger ledger = new UsageLedger();
        // The pool reloads in place (CEREBRAS_API_KEYS_FILE), so its snapshot is always current.
        FairQueue queue = new FairQueue(settings.queueMax());
        ProxyMetrics metrics = new ProxyMetrics(ledger, pool::snapshot, queue, pool::budgets, pool::now);
        // Each client's counts live here, by name: in memory, or in Redis with PROXY_REDIS_URL.
        try
        {
            shared = SharedState.of(settings.redis());
        }
        catch (InvalidSettingsException e)
        {
            // A trust store that names a file but cannot be opened is found only here.
            LOG.error("cerebras-proxy cannot start: {}", e.getMessage());
            throw new InvalidSettingsException("cerebras-proxy settings are invalid; the problem and its fix are logged just before this");
        }
        shared.share(pool);
        Clients clientsNow = new Clients(settings.clientTokens(), shared.clientCounters(), clock);
        context.setAttribute(ProxyContext.ATTRIBUTE,
            new ProxyContext(settings, pool, queue, ledger, metrics, new AdminAccess(settings.adminToken()), embedding.scheduler(), clientsNow, drain, shared));
        // SIGTERM reaches no servlet: the JVM's shutdown hooks run, the container's among them.
        // Ours only turns readiness off, at once, while the container drains.
        shutdownHook = new Thread(drain::begin, "cerebras-proxy-drain");
        Runtime.getRuntime().addShutdownHook(shutdownHook);

        ClientTokens clients = settings.clientTokens();
        // Before every servlet and every other filter: a refused host reaches nothing.
        FilterRegistration.Dynamic hostCheck = context.addFilter("host-check", new HostCheck(settings.allowedHosts(), () -> clientsNow.tokens().required(),
            () -> metrics.answered(null, ClientTokens.UNAUTHENTICATED, 403)));
        hostCheck.setAsyncSupported(true);
        hostCheck.addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), false, "/*");
        if (clients.required())
            LOG.info("cerebras-proxy: requests need a client token; {} {} ({}), {} with limits of their own", clients.names().size(), clients.names().size() == 1 ? "client" : "clients",
                String.join(", ", clients.names()), clients.names().stream().filter(name -> clients.limitsOf(name).any()).count());
        else
            LOG.warn("cerebras-proxy is open{}: anyone who can reach it may use the pool's keys; set {} (or {}) to require a token per client. Meanwhile it answers only requests addressed to {} ({})",
                settings.listensPublicly() ? " and listens on all interfaces (" + ProxySettings.PUBLIC + "=true, as the Docker image sets)" : "",
                ProxySettings.CLIENT_TOKENS, ProxySettings.CLIENT_TOKENS_FILE, settings.allowedHosts(), ProxySettings.ALLOWED_HOSTS);
        int size = settings.keys().size();
        LOG.info("cerebras-proxy ready: {} {} ({}) in front of {}", size, size == 1 ? "key" : "keys",
            settings.keys().stream().map(ApiKey::name).collect(Collectors.joining(", ")), settings.upstream());
        if (settings.keysFile() != null)
        {
            watcher = new KeysFileWatcher(settings.keysFile(), pool, settings.keysFilePoll());
            LOG.info("keys come from {} and are reloaded when it changes (checked every {} ms)", settings.keysFile(), settings.keysFilePoll().toMillis());
        }
        if (settings.clientTokensFile() != null)
        {
            tokensWatcher = new TokensFileWatcher(settings.clientTokensFile(), clientsNow, settings.keysFilePoll());
            LOG.info("client tokens come from {} and are reloaded when it changes (checked every {} ms)", settings.clientTokensFile(), settings.keysFilePoll().toMillis());
        }
    }

    @Override
    public void contextDestroyed(ServletContextEvent event)
    {
        if (drain != null)
            drain.begin();
        if (shutdownHook != null)
        {
            try
            {
                // A hook left behind would hold this webapp's class loader until the JVM exits.
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            }
            catch (IllegalStateException shuttingDown)
            {
                // the JVM is exiting: the hook has run or is running
            }
            shutdownHook = null;
        }
        // The watcher's thread would otherwise outlive the webapp and keep its class loader alive.
        if (watcher != null)
            watcher.close();
        watcher = null;
        if (tokensWatcher != null)
            tokensWatcher.close();
        tokensWatcher = null;
        // Redis's threads and connections would outlive the webapp, and its class loader with them.
        if (shared != null)
            shared.close();
        shared = null;
        event.getServletContext().removeAttribute(ProxyContext.ATTRIBUTE);
    }
}
