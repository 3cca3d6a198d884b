package dev.cerebrasproxy.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * Where replicas share what they count ({@code PROXY_REDIS_URL}), under which key prefix,
 * and how long one Redis call may take before the replica goes on from its own memory.
 * The password is kept apart from everything that is printed: no message of this class,
 * and not {@link #toString}, shows it, since settings errors end up in container logs.
 *
 * @param user the ACL user, or null for the default user
 * @param password null when Redis needs none
 * @param database the logical database ({@code redis://host/2}), 0 when the URL names none
 */
public record RedisSettings(String host, int port, String user, String password, int database, boolean tls, String prefix, Duration timeout, UpstreamTrust trust)
{
    public static final String URL = "PROXY_REDIS_URL";
    public static final String PREFIX = "PROXY_REDIS_PREFIX";
    public static final String TIMEOUT_MS = "PROXY_REDIS_TIMEOUT_MS";
    /** For rediss://: the trust store Redis's certificate is checked with, instead of the JVM's default trust. */
    public static final String TRUST_STORE = "PROXY_REDIS_TRUST_STORE";
    public static final String TRUST_STORE_PASSWORD = "PROXY_REDIS_TRUST_STORE_PASSWORD";

    static final String DEFAULT_PREFIX = "cerebras-proxy:";
    static final long DEFAULT_TIMEOUT_MS = 100;
    private static final String FIX = ": set it to redis://[[user]:password@]host[:port][/database] (or rediss:// for TLS), or unset it to keep all state in this replica's memory.";

    /** @return null when {@code PROXY_REDIS_URL} is unset: the proxy keeps everything in memory, as a single replica. */
    static RedisSettings parse(UnaryOperator<String> source)
    {
        String value = source.apply(URL);
        if (value == null || value.isBlank())
            return null;
        URI uri;
        try
        {
            uri = new URI(value.strip());
        }
        catch (URISyntaxException e)
        {
            // The reason only: the exception's message quotes the whole URL, password and all.
            throw new InvalidSettingsException(URL + " is not a valid URL (" + e.getReason() + ")" + FIX);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("redis") && !scheme.equals("rediss"))
            throw new InvalidSettingsException(URL + " must start with redis:// or rediss://" + FIX);
        if (uri.getHost() == null)
            throw new InvalidSettingsException(URL + " names no host" + FIX);
        if (uri.getRawQuery() != null || uri.getRawFragment() != null)
            throw new InvalidSettingsException(URL + " must not carry a query or fragment" + FIX);
        String user = null;
        String password = null;
        String userInfo = uri.getRawUserInfo();
        if (userInfo != null)
        {
            int colon = userInfo.indexOf(':');
            if (colon < 0)
                throw new InvalidSettingsException(URL + "'s user info must be :password or user:password (percent-encode a ':' or '@' in either)" + FIX);
            user = colon == 0 ? null : decode(userInfo.substring(0, colon));
            password = decode(userInfo.substring(colon + 1));
            if (password.isEmpty())
                password = null;
        }
        return new RedisSettings(uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort(), user, password, database(uri.getRawPath()), scheme.equals("rediss"),
            prefix(source.apply(PREFIX)), Duration.ofMillis(ProxySettings.parsePositive(TIMEOUT_MS, source.apply(TIMEOUT_MS), DEFAULT_TIMEOUT_MS)),
            ProxySettings.parseTrust(TRUST_STORE, source.apply(TRUST_STORE), source.apply(TRUST_STORE_PASSWORD)));
    }

    private static int database(String path)
    {
        if (path == null || path.isEmpty() || path.equals("/"))
            return 0;
        try
        {
            int database = Integer.parseInt(path.substring(1));
            if (database >= 0)
                return database;
        }
        catch (NumberFormatException ignored)
        {
            // reported below
        }
        throw new InvalidSettingsException(URL + "'s path must be a database number such as /0" + FIX);
    }

    private static String prefix(String value)
    {
        if (value == null)
            return DEFAULT_PREFIX;
        if (value.isBlank() || value.chars().anyMatch(c -> c <= ' ' || c == 0x7f))
            throw new InvalidSettingsException(PREFIX + " must be non-empty and without spaces or control characters, e.g. " + DEFAULT_PREFIX + ": unset it for that default.");
        return value;
    }

    private static String decode(String raw)
    {
        // URLDecoder would read '+' as a space, which a URL's user info does not mean.
        return URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    /** Where Redis is, for log lines: never the password. */
    public String address()
    {
        return (tls ? "rediss://" : "redis://") + (user == null ? "" : user + "@") + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/" + database;
    }

    @Override
    public String toString()
    {
        return address() + (password == null ? "" : " (with a password)") + " prefix " + prefix;
    }
}
