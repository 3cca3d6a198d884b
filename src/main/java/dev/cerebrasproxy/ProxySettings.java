package dev.cerebrasproxy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

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
    public static final String MAX_BODY_BYTES = "PROXY_MAX_BODY_BYTES";
    public static final String CONNECT_TIMEOUT_MS = "PROXY_CONNECT_TIMEOUT_MS";
    public static final String IDLE_TIMEOUT_MS = "PROXY_IDLE_TIMEOUT_MS";
    public static final String RATE_LIMIT_COOLDOWN_MS = "PROXY_RATE_LIMIT_COOLDOWN_MS";
    public static final String SERVER_ERROR_COOLDOWN_MS = "PROXY_SERVER_ERROR_COOLDOWN_MS";
    public static final String MAX_COOLDOWN_MS = "PROXY_MAX_COOLDOWN_MS";
    public static final String QUARANTINE_RECHECK_MS = "PROXY_QUARANTINE_RECHECK_MS";
    public static final String WAIT_FOR_KEY_MS = "PROXY_WAIT_FOR_KEY_MS";
    public static final String BUSY_RETRY_AFTER_MS = "PROXY_BUSY_RETRY_AFTER_MS";

    static final String DEFAULT_UPSTREAM = "https://api.cerebras.ai/v1";
    static final long DEFAULT_MAX_BODY_BYTES = 32L * 1024 * 1024;
    static final long DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
    static final long DEFAULT_IDLE_TIMEOUT_MS = 120_000;
    static final long DEFAULT_WAIT_FOR_KEY_MS = 1_000;
    static final long DEFAULT_BUSY_RETRY_AFTER_MS = 1_000;
    static final long DEFAULT_KEYS_FILE_POLL_MS = 1_000;

    private final List<ApiKey> keys;
    private final Path keysFile;
    private final Duration keysFilePoll;
    private final URI upstream;
    private final long maxBodyBytes;
    private final Duration connectTimeout;
    private final Duration idleTimeout;
    private final CooldownPolicy cooldowns;
    private final Duration waitForKey;
    private final Duration busyRetryAfter;

    private ProxySettings(UnaryOperator<String> source)
    {
        this.keysFile = parseKeysFile(source.apply(API_KEYS_FILE));
        // The file wins over the variable: it is the one that can change while we run.
        this.keys = keysFile != null ? readKeysFile(keysFile) : parseKeys(source.apply(API_KEYS));
        this.keysFilePoll = millis(source, KEYS_FILE_POLL_MS, DEFAULT_KEYS_FILE_POLL_MS);
        this.upstream = parseUpstream(source.apply(UPSTREAM_URL));
        this.maxBodyBytes = parsePositive(MAX_BODY_BYTES, source.apply(MAX_BODY_BYTES), DEFAULT_MAX_BODY_BYTES);
        this.connectTimeout = millis(source, CONNECT_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS);
        this.idleTimeout = millis(source, IDLE_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS);
        this.cooldowns = parseCooldowns(source);
        this.waitForKey = Duration.ofMillis(parseNotNegative(WAIT_FOR_KEY_MS, source.apply(WAIT_FOR_KEY_MS), DEFAULT_WAIT_FOR_KEY_MS));
        this.busyRetryAfter = millis(source, BUSY_RETRY_AFTER_MS, DEFAULT_BUSY_RETRY_AFTER_MS);
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
        return new CooldownPolicy(rateLimited, serverError, longest, recheck);
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

    private static Path parseKeysFile(String value)
    {
        if (value == null || value.isBlank())
            return null;
        try
        {
            return Path.of(value.strip()).toAbsolutePath();
        }
        catch (InvalidPathException e)
        {
            throw new InvalidSettingsException(API_KEYS_FILE + " is not a valid file path (" + e.getReason() + "): set it to the path of a JSON file of name to key, or unset it.");
        }
    }

    /** Reads and checks the keys file; the messages name the file, never its content. */
    static List<ApiKey> readKeysFile(Path file)
    {
        String json;
        try
        {
            json = Files.readString(file, StandardCharsets.UTF_8);
        }
        catch (IOException | UncheckedIOException e)
        {
            throw new InvalidSettingsException(API_KEYS_FILE + " " + file + " cannot be read (" + e.getClass().getSimpleName()
                + "): make it a readable file holding a JSON object of name to key, or unset " + API_KEYS_FILE + ".");
        }
        return parseKeys(json, API_KEYS_FILE + " " + file);
    }

    static List<ApiKey> parseKeys(String json)
    {
        return parseKeys(json, API_KEYS);
    }

    /** @param origin where the JSON came from, as the messages should name it */
    static List<ApiKey> parseKeys(String json, String origin)
    {
        String example = " Set it to a JSON object of name to key, e.g. {\"key1\":\"csk-...\",\"key2\":\"csk-...\"}.";
        if (json == null || json.isBlank())
            throw new InvalidSettingsException(origin + (origin.equals(API_KEYS) ? " is not set." : " is empty.") + example);
        JsonElement parsed;
        try
        {
            parsed = JsonParser.parseString(json);
        }
        catch (JsonParseException e)
        {
            // Gson's message can quote the input, and the input holds secrets: say only where.
            throw new InvalidSettingsException(origin + " is not valid JSON." + example);
        }
        if (!parsed.isJsonObject())
            throw new InvalidSettingsException(origin + " must be a JSON object, not " + describe(parsed) + "." + example);
        JsonObject object = parsed.getAsJsonObject();
        if (object.isEmpty())
            throw new InvalidSettingsException(origin + " is an empty object: the pool needs at least one key." + example);

        List<ApiKey> keys = new ArrayList<>(object.size());
        Map<String, String> nameBySecret = new HashMap<>();
        for (Map.Entry<String, JsonElement> entry : object.entrySet())
        {
            String name = entry.getKey();
            JsonElement value = entry.getValue();
            if (name.isBlank())
                throw new InvalidSettingsException(origin + " has a key with a blank name: give every key a name, e.g. \"key1\".");
            if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString())
                throw new InvalidSettingsException(origin + " entry \"" + name + "\" must be a string, not " + describe(value) + ": put the key in quotes.");
            String secret = value.getAsString().strip();
            if (secret.isEmpty())
                throw new InvalidSettingsException(origin + " entry \"" + name + "\" is blank: set it to the key's value or remove the entry.");
            String twin = nameBySecret.putIfAbsent(secret, name);
            if (twin != null)
                throw new InvalidSettingsException(origin + " entries \"" + twin + "\" and \"" + name + "\" hold the same key: remove one, a key counts once against its rate limit.");
            keys.add(new ApiKey(name, secret));
        }
        return Collections.unmodifiableList(keys);
    }

    private static String describe(JsonElement element)
    {
        if (element.isJsonNull())
            return "null";
        if (element.isJsonArray())
            return "an array";
        if (element.isJsonObject())
            return "an object";
        if (element.getAsJsonPrimitive().isNumber())
            return "a number";
        if (element.getAsJsonPrimitive().isBoolean())
            return "a boolean";
        return "a string";
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
        return URI.create(scheme.toLowerCase() + "://" + uri.getRawAuthority() + path);
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
}
