package dev.cerebrasproxy.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;

import dev.cerebrasproxy.access.AdminToken;
import dev.cerebrasproxy.access.AllowedHosts;
import dev.cerebrasproxy.access.ClientTokens;
import dev.cerebrasproxy.pool.ApiKey;
import dev.cerebrasproxy.pool.CooldownPolicy;

/**
 * Everything the proxy is configured with, read and validated once at startup.
 * Each setting comes from an environment variable or a JVM system property of the
 * same name (the environment wins).
 */
public final class ProxySettings
{
    public static final String API_KEYS = "CEREBRAS_API_KEYS";
    public static final String API_KEYS_FILE = "CEREBRAS_API_KEYS_FILE";
    public static final String KEYS_FILE_POLL_MS = "PROXY_KEYS_FILE_POLL_MS";
    public static final String UPSTREAM_URL = "CEREBRAS_UPSTREAM_URL";
    public static final String UPSTREAM_PROTOCOL = "PROXY_UPSTREAM_PROTOCOL";
    public static final String MAX_BODY_BYTES = "PROXY_MAX_BODY_BYTES";
    public static final String MAX_PENDING_BODY_BYTES = "PROXY_MAX_PENDING_BODY_BYTES";
    public static final String CONNECT_TIMEOUT_MS = "PROXY_CONNECT_TIMEOUT_MS";
    public static final String IDLE_TIMEOUT_MS = "PROXY_IDLE_TIMEOUT_MS";
    public static final String RATE_LIMIT_COOLDOWN_MS = "PROXY_RATE_LIMIT_COOLDOWN_MS";
    public static final String SERVER_ERROR_COOLDOWN_MS = "PROXY_SERVER_ERROR_COOLDOWN_MS";
    public static final String MAX_COOLDOWN_MS = "PROXY_MAX_COOLDOWN_MS";
    public static final String QUARANTINE_RECHECK_MS = "PROXY_QUARANTINE_RECHECK_MS";
    public static final String WAIT_FOR_KEY_MS = "PROXY_WAIT_FOR_KEY_MS";
    public static final String BUSY_RETRY_AFTER_MS = "PROXY_BUSY_RETRY_AFTER_MS";
    public static final String DEFAULT_MAX_COMPLETION_TOKENS = "PROXY_DEFAULT_MAX_COMPLETION_TOKENS";
    public static final String QUEUE_MAX = "PROXY_QUEUE_MAX";
    public static final String MINUTE_MS = "PROXY_MINUTE_MS";
    public static final String TRUST_STORE = "PROXY_UPSTREAM_TRUST_STORE";
    public static final String TRUST_STORE_PASSWORD = "PROXY_UPSTREAM_TRUST_STORE_PASSWORD";
    public static final String CLIENT_TOKENS = "PROXY_CLIENT_TOKENS";
    public static final String CLIENT_TOKENS_FILE = "PROXY_CLIENT_TOKENS_FILE";
    public static final String ADMIN_TOKEN = "PROXY_ADMIN_TOKEN";
    public static final String ALLOWED_HOSTS = AllowedHosts.SETTING;
    public static final String PUBLIC = "PROXY_PUBLIC";
    public static final String DRAIN_SECONDS = "PROXY_DRAIN_SECONDS";

    static final String DEFAULT_UPSTREAM = "https://api.cerebras.ai/v1";
    static final long DEFAULT_MAX_BODY_BYTES = 32L * 1024 * 1024;
    /** Two whole largest bodies, or thousands of ordinary ones, still arriving at once. */
    static final long DEFAULT_MAX_PENDING_BODY_BYTES = 64L * 1024 * 1024;
    static final long DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
    static final long DEFAULT_IDLE_TIMEOUT_MS = 120_000;
    /**
     * What the SDKs tolerate: the Cerebras SDK's request timeout is about 60 s, the OpenAI
     * SDK's 600 s; half the shorter leaves the client time to get its answer after the wait.
     */
    static final long DEFAULT_WAIT_FOR_KEY_MS = 30_000;
    /** Cerebras holds the model's maximum against the budget when a request names none; 8192 is the smallest context of its models. */
    static final long DEFAULT_DEFAULT_MAX_COMPLETION_TOKENS = 8_192;
    /** Requests waiting for capacity at most; each holds a parked request and its body, no thread. */
    static final long DEFAULT_QUEUE_MAX = 1_000;
    static final long DEFAULT_BUSY_RETRY_AFTER_MS = 1_000;
    static final long DEFAULT_KEYS_FILE_POLL_MS = 1_000;
    static final long DEFAULT_DRAIN_SECONDS = 30;

    private final List<ApiKey> keys;
    private final Path keysFile;
    private final Duration keysFilePoll;
    private final URI upstream;
    private final UpstreamProtocol upstreamProtocol;
    private final long maxBodyBytes;
    private final long maxPendingBodyBytes;
    private final Duration connectTimeout;
    private final Duration idleTimeout;
    private final CooldownPolicy cooldowns;
    private final Duration waitForKey;
    private final Duration busyRetryAfter;
    private final long defaultMaxCompletionTokens;
    private final int queueMax;
    private final UpstreamTrust upstreamTrust;
    private final ClientTokens clientTokens;
    /** Where the client tokens come from when they reload live; null when they came from the environment. */
    private final Path clientTokensFile;
    private final AdminToken adminToken;
    private final AllowedHosts allowedHosts;
    /** Null when the replica keeps everything in its own memory. */
    private final RedisSettings redis;
    private final boolean listensPublicly;
    private final Duration drainGrace;

    private ProxySettings(UnaryOperator<String> source)
    {
        this.keysFile = parseFile(API_KEYS_FILE, source.apply(API_KEYS_FILE), "the path of a JSON file of name to key");
        // The file wins over the variable: it is the one that can change while we run.
        this.keys = keysFile != null ? readKeysFile(keysFile) : parseKeys(source.apply(API_KEYS));
        this.keysFilePoll = millis(source, KEYS_FILE_POLL_MS, DEFAULT_KEYS_FILE_POLL_MS);
        this.upstream = parseUpstream(source.apply(UPSTREAM_URL));
        this.upstreamProtocol = UpstreamProtocol.parse(UPSTREAM_PROTOCOL, source.apply(UPSTREAM_PROTOCOL));
        this.maxBodyBytes = parsePositive(MAX_BODY_BYTES, source.apply(MAX_BODY_BYTES), DEFAULT_MAX_BODY_BYTES);
        this.maxPendingBodyBytes = parsePositive(MAX_PENDING_BODY_BYTES, source.apply(MAX_PENDING_BODY_BYTES), DEFAULT_MAX_PENDING_BODY_BYTES);
        this.connectTimeout = millis(source, CONNECT_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS);
        this.idleTimeout = millis(source, IDLE_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS);
        this.cooldowns = parseCooldowns(source);
        this.waitForKey = Duration.ofMillis(parseNotNegative(WAIT_FOR_KEY_MS, source.apply(WAIT_FOR_KEY_MS), DEFAULT_WAIT_FOR_KEY_MS));
        this.busyRetryAfter = millis(source, BUSY_RETRY_AFTER_MS, DEFAULT_BUSY_RETRY_AFTER_MS);
        this.queueMax = (int)Math.min(Integer.MAX_VALUE, parsePositive(QUEUE_MAX, source.apply(QUEUE_MAX), DEFAULT_QUEUE_MAX));
        this.defaultMaxCompletionTokens = parsePositive(DEFAULT_MAX_COMPLETION_TOKENS, source.apply(DEFAULT_MAX_COMPLETION_TOKENS), DEFAULT_DEFAULT_MAX_COMPLETION_TOKENS);
        this.upstreamTrust = parseUpstreamTrust(source.apply(TRUST_STORE), source.apply(TRUST_STORE_PASSWORD));
        this.clientTokens = parseClientTokens(source);
        this.clientTokensFile = parseFile(CLIENT_TOKENS_FILE, source.apply(CLIENT_TOKENS_FILE), "the path of a JSON file of client name to token");
        this.adminToken = AdminToken.of(source.apply(ADMIN_TOKEN));
        this.allowedHosts = parseAllowedHosts(source.apply(ALLOWED_HOSTS));
        this.redis = RedisSettings.parse(source);
        this.listensPublicly = parseBoolean(PUBLIC, source.apply(PUBLIC));
        this.drainGrace = Duration.ofSeconds(parseNotNegative(DRAIN_SECONDS, source.apply(DRAIN_SECONDS), DEFAULT_DRAIN_SECONDS));
    }

    static boolean parseBoolean(String name, String value)
    {
        if (value == null || value.isBlank() || value.strip().equalsIgnoreCase("false"))
            return false;
        if (value.strip().equalsIgnoreCase("true"))
            return true;
        throw new InvalidSettingsException(name + " must be true or false, not \"" + value + "\": unset it for false.");
    }

    /** Comma-separated host names; blank entries (a trailing comma) are ignored. */
    static AllowedHosts parseAllowedHosts(String value)
    {
        if (value == null || value.isBlank())
            return AllowedHosts.LOOPBACK;
        List<String> names = new ArrayList<>();
        for (String entry : value.split(","))
        {
            if (!entry.isBlank())
                names.add(entry.strip());
        }
        try
        {
            return AllowedHosts.of(names);
        }
        catch (IllegalArgumentException e)
        {
            throw new InvalidSettingsException(ALLOWED_HOSTS + " entry " + e.getMessage() + "; separate names with commas, e.g. proxy.example.com,cerebras-proxy.");
        }
    }

    private static Duration millis(UnaryOperator<String> source, String name, long defaultMillis)
    {
        return Duration.ofMillis(parsePositive(name, source.apply(name), defaultMillis));
    }

    static CooldownPolicy parseCooldowns(UnaryOperator<String> source)
    {
        CooldownPolicy defaults = CooldownPolicy.DEFAULTS;
        Duration rateLimited = millis(source, RATE_LIMIT_COOLDOWN_MS, defaults.rateLimited().toMillis());
        Duration serverError = millis(source, SERVER_ERROR_COOLDOWN_MS, defaults.serverError().toMillis());
        Duration longest = millis(source, MAX_COOLDOWN_MS, defaults.longest().toMillis());
        Duration recheck = millis(source, QUARANTINE_RECHECK_MS, defaults.quarantineRecheck().toMillis());
        for (String name : List.of(RATE_LIMIT_COOLDOWN_MS, SERVER_ERROR_COOLDOWN_MS))
        {
            Duration first = name.equals(RATE_LIMIT_COOLDOWN_MS) ? rateLimited : serverError;
            if (first.compareTo(longest) > 0)
                throw new InvalidSettingsException(MAX_COOLDOWN_MS + " (" + longest.toMillis() + ") is shorter than " + name + " (" + first.toMillis()
                    + "): raise " + MAX_COOLDOWN_MS + " or lower " + name + ", the longest cooldown cannot be shorter than the first.");
        }
        Duration window = millis(source, MINUTE_MS, defaults.minute().toMillis());
        return new CooldownPolicy(rateLimited, serverError, longest, recheck, window);
    }

    /** Reads the process environment, then system properties. */
    public static ProxySettings fromEnvironment()
    {
        return from(name ->
        {
            String value = System.getenv(name);
            return value != null ? value : System.getProperty(name);
        });
    }

    /**
     * @param source returns a setting's raw value by name, or null when unset
     * @throws InvalidSettingsException naming the first problem found
     */
    public static ProxySettings from(UnaryOperator<String> source)
    {
        return new ProxySettings(source);
    }

    /** A readable trust store, or null to trust what the JVM trusts by default. */
    static UpstreamTrust parseUpstreamTrust(String store, String password)
    {
        return parseTrust(TRUST_STORE, store, password);
    }

    /** A readable trust store named by this setting, or null to trust what the JVM trusts by default. */
    static UpstreamTrust parseTrust(String setting, String store, String password)
    {
        if (store == null || store.isBlank())
            return null;
        Path path = Path.of(store.strip());
        if (!Files.isRegularFile(path) || !Files.isReadable(path))
            throw new InvalidSettingsException(setting + " names no readable file (" + path + "): point it at a PKCS12 or JKS trust store, or unset it to use the JVM's default trust.");
        return new UpstreamTrust(path, password);
    }

    /** The absolute path a setting names, or null when it is unset. */
    private static Path parseFile(String setting, String value, String what)
    {
        if (value == null || value.isBlank())
            return null;
        try
        {
            return Path.of(value.strip()).toAbsolutePath();
        }
        catch (InvalidPathException e)
        {
            throw new InvalidSettingsException(setting + " is not a valid file path (" + e.getReason() + "): set it to " + what + ", or unset it.");
        }
    }

    /** Reads and checks the keys file; the messages name the file, never its content. */
    static List<ApiKey> readKeysFile(Path file)
    {
        return KeyEntries.readFile(API_KEYS_FILE, file);
    }

    static List<ApiKey> parseKeys(String json)
    {
        return KeyEntries.parse(API_KEYS, json);
    }

    /**
     * The clients that may use the pool, from {@code PROXY_CLIENT_TOKENS} or the file
     * {@code PROXY_CLIENT_TOKENS_FILE} names (so tokens need not sit in the environment);
     * {@link ClientTokens#OPEN} when neither is set.
     */
    static ClientTokens parseClientTokens(UnaryOperator<String> source)
    {
        String inline = source.apply(CLIENT_TOKENS);
        Path file = parseFile(CLIENT_TOKENS_FILE, source.apply(CLIENT_TOKENS_FILE), "the path of a JSON file of client name to token");
        boolean hasInline = inline != null && !inline.isBlank();
        if (hasInline && file != null)
            throw new InvalidSettingsException(CLIENT_TOKENS + " and " + CLIENT_TOKENS_FILE + " are both set: set only one of them.");
        if (file != null)
            return readClientTokensFile(file);
        return hasInline ? ClientEntries.parse(CLIENT_TOKENS, inline) : ClientTokens.OPEN;
    }

    /** The clients of a tokens file, as at startup and at each reload. */
    static ClientTokens readClientTokensFile(Path file)
    {
        return ClientEntries.readFile(CLIENT_TOKENS_FILE, file);
    }

    static URI parseUpstream(String value)
    {
        if (value == null || value.isBlank())
            value = DEFAULT_UPSTREAM;
        String fix = ": set " + UPSTREAM_URL + " to an http(s) URL such as " + DEFAULT_UPSTREAM + ".";
        URI uri;
        try
        {
            uri = new URI(value.strip());
        }
        catch (URISyntaxException e)
        {
            throw new InvalidSettingsException(UPSTREAM_URL + " is not a valid URL (" + e.getReason() + ")" + fix);
        }
        String scheme = uri.getScheme();
        if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https")) || uri.getHost() == null)
            throw new InvalidSettingsException(UPSTREAM_URL + " must be an absolute http or https URL with a host" + fix);
        if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null)
            throw new InvalidSettingsException(UPSTREAM_URL + " must not carry a query, fragment or user info" + fix);
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        while (path.endsWith("/"))
            path = path.substring(0, path.length() - 1);
        return URI.create(scheme.toLowerCase(Locale.ROOT) + "://" + uri.getRawAuthority() + path);
    }

    static long parsePositive(String name, String value, long defaultValue)
    {
        if (value == null || value.isBlank())
            return defaultValue;
        try
        {
            long parsed = Long.parseLong(value.strip());
            if (parsed > 0)
                return parsed;
        }
        catch (NumberFormatException ignored)
        {
            // reported below, with the fix
        }
        throw new InvalidSettingsException(name + " must be a positive whole number, not \"" + value + "\": unset it to use the default " + defaultValue + ".");
    }

    static long parseNotNegative(String name, String value, long defaultValue)
    {
        if (value != null && value.strip().equals("0"))
            return 0;
        try
        {
            return parsePositive(name, value, defaultValue);
        }
        catch (InvalidSettingsException e)
        {
            throw new InvalidSettingsException(name + " must be zero or a positive whole number, not \"" + value + "\": unset it to use the default " + defaultValue + ".");
        }
    }

    public List<ApiKey> keys()
    {
        return keys;
    }

    /** The file the keys came from and are reloaded from, or null when they came from {@link #API_KEYS}. */
    public Path keysFile()
    {
        return keysFile;
    }

    /** How often the keys file is checked for changes. */
    public Duration keysFilePoll()
    {
        return keysFilePoll;
    }

    /** The upstream base, without a trailing slash: a client's {@code /x} goes to {@code upstream + "/x"}. */
    public URI upstream()
    {
        return upstream;
    }

    /** The HTTP version to speak to {@link #upstream()}. */
    public UpstreamProtocol upstreamProtocol()
    {
        return upstreamProtocol;
    }

    /** The most memory that bodies still arriving may hold together; past it new bytes are refused (503). */
    public long maxPendingBodyBytes()
    {
        return maxPendingBodyBytes;
    }

    public long maxBodyBytes()
    {
        return maxBodyBytes;
    }

    public Duration connectTimeout()
    {
        return connectTimeout;
    }

    public Duration idleTimeout()
    {
        return idleTimeout;
    }

    /** How long keys rest when upstream does not say, and when refused keys are re-checked. */
    public CooldownPolicy cooldowns()
    {
        return cooldowns;
    }

    /** How long a request may wait for a resting key to recover before it gets a 503; zero never waits. */
    public Duration waitForKey()
    {
        return waitForKey;
    }

    /** The Retry-After the client gets when Cerebras itself is out of capacity. */
    public Duration busyRetryAfter()
    {
        return busyRetryAfter;
    }

    /** How many requests may wait for capacity at once (PROXY_QUEUE_MAX); past it, a 503 at once. */
    public int queueMax()
    {
        return queueMax;
    }

    /** Tokens a request that sets no max_completion_tokens (nor max_tokens) is estimated to complete. */
    public long defaultMaxCompletionTokens()
    {
        return defaultMaxCompletionTokens;
    }

    /** The trust store for upstream's TLS certificate, or null for the JVM's default trust. */
    public UpstreamTrust upstreamTrust()
    {
        return upstreamTrust;
    }

    /** The file the client tokens come from and reload from, or null. */
    public Path clientTokensFile()
    {
        return clientTokensFile;
    }

    /** Who may use the pool; {@link ClientTokens#OPEN} when anyone may. */
    public ClientTokens clientTokens()
    {
        return clientTokens;
    }

    /** The token the operations endpoints require; {@link AdminToken#NONE} when they are open. */
    public AdminToken adminToken()
    {
        return adminToken;
    }

    /**
     * How long a stop lets requests in flight finish. Jetty reads the same variable for its
     * stop timeout (jetty-base/etc/cerebras-proxy-drain.xml, src/main/jetty/jetty-run.xml).
     */
    public Duration drainGrace()
    {
        return drainGrace;
    }

    /**
     * Whether the container listens on every interface, as the Docker image does (it sets
     * this): the webapp cannot portably see its container's connectors, and an open pool
     * deserves a louder warning there.
     */
    public boolean listensPublicly()
    {
        return listensPublicly;
    }

    /** The host names an open pool answers to besides the loopback ones (against DNS rebinding). */
    public AllowedHosts allowedHosts()
    {
        return allowedHosts;
    }

    /** Where replicas share their counts ({@code PROXY_REDIS_URL}), or null when this replica counts alone. */
    public RedisSettings redis()
    {
        return redis;
    }
}
