package dev.cerebrasproxy.config;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.cerebrasproxy.access.ClientLimits;
import dev.cerebrasproxy.access.ClientTokens;

/**
 * The entries of {@code PROXY_CLIENT_TOKENS} (and its file): per client either a bare
 * token, {@code "ci":"<token>"}, or an object with the token and its limits,
 * {@code "ci":{"token":"<token>","requests_per_minute":60,"tokens_per_minute":100000,
 * "tokens_per_day":2000000,"models":["llama3.1-8b"]}}; both forms in one object. A bad
 * limit names the client and the field, never a value: a token may have landed anywhere.
 */
final class ClientEntries
{
    static final String TOKEN = "token";
    static final String REQUESTS_PER_MINUTE = "requests_per_minute";
    static final String TOKENS_PER_MINUTE = "tokens_per_minute";
    static final String TOKENS_PER_DAY = "tokens_per_day";
    static final String MODELS = "models";
    private static final Set<String> FIELDS = Set.of(TOKEN, REQUESTS_PER_MINUTE, TOKENS_PER_MINUTE, TOKENS_PER_DAY, MODELS);
    /** A misplaced field name could be a token: only a name that looks like a field is repeated. */
    private static final Pattern FIELD_LIKE = Pattern.compile("[a-z_]{1,40}");
    private static final String FORM = " An entry is a token, or {\"token\":\"...\",\"requests_per_minute\":60,\"tokens_per_minute\":100000,\"tokens_per_day\":2000000,\"models\":[\"llama3.1-8b\"]} with any of the limits.";

    private final Map<String, ClientLimits> limits = new LinkedHashMap<>();

    private ClientEntries()
    {
    }

    static ClientTokens parse(String origin, String json)
    {
        ClientEntries entries = new ClientEntries();
        Map<String, String> tokens = NamedSecrets.parse(origin, json, NamedSecrets.CLIENT_TOKENS, entries::read);
        return ClientTokens.of(tokens, entries.limits);
    }

    static ClientTokens readFile(String setting, Path file)
    {
        ClientEntries entries = new ClientEntries();
        Map<String, String> tokens = NamedSecrets.readFile(setting, file, NamedSecrets.CLIENT_TOKENS, entries::read);
        return ClientTokens.of(tokens, entries.limits);
    }

    private String read(String origin, String name, JsonElement value)
    {
        if (!value.isJsonObject())
        {
            if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString())
                throw new InvalidSettingsException(origin + " entry \"" + name + "\" must be a token in quotes or an object, not " + NamedSecrets.describe(value) + "." + FORM);
            return value.getAsString();
        }
        String client = origin + " client \"" + name + "\"";
        JsonObject object = value.getAsJsonObject();
        for (String field : object.keySet())
        {
            if (!FIELDS.contains(field))
                throw new InvalidSettingsException(client + " has an unknown field" + (FIELD_LIKE.matcher(field).matches() ? " \"" + field + "\"" : " (not shown, in case it is a secret)")
                    + ": remove it or spell it as one of token, requests_per_minute, tokens_per_minute, tokens_per_day, models." + FORM);
        }
        JsonElement token = object.get(TOKEN);
        if (token == null || !token.isJsonPrimitive() || !token.getAsJsonPrimitive().isString())
            throw new InvalidSettingsException(client + " needs \"token\" as a string" + (token == null ? "" : ", not " + NamedSecrets.describe(token)) + "." + FORM);
        limits.put(name, new ClientLimits(limit(client, object, REQUESTS_PER_MINUTE), limit(client, object, TOKENS_PER_MINUTE),
            limit(client, object, TOKENS_PER_DAY), models(client, object.get(MODELS))));
        return token.getAsString();
    }

    private static long limit(String client, JsonObject object, String field)
    {
        JsonElement value = object.get(field);
        if (value == null || value.isJsonNull())
            return ClientLimits.UNLIMITED;
        String fix = ": set it to a whole number, 0 or more (e.g. \"" + field + "\":60), or remove it for no limit.";
        if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isNumber())
            throw new InvalidSettingsException(client + " has \"" + field + "\" as " + NamedSecrets.describe(value) + fix);
        BigDecimal number = value.getAsBigDecimal();
        if (number.signum() < 0)
            throw new InvalidSettingsException(client + " has a negative \"" + field + "\"" + fix);
        try
        {
            return number.longValueExact();
        }
        catch (ArithmeticException notWhole)
        {
            throw new InvalidSettingsException(client + " has \"" + field + "\" that is not a whole number (or too large)" + fix);
        }
    }

    private static Set<String> models(String client, JsonElement value)
    {
        if (value == null || value.isJsonNull())
            return null;
        String fix = ": set it to a list of model names, e.g. \"models\":[\"llama3.1-8b\",\"qwen-3-32b\"], or remove it to allow every model.";
        if (!value.isJsonArray() || value.getAsJsonArray().isEmpty())
            throw new InvalidSettingsException(client + " has \"models\" as " + (value.isJsonArray() ? "an empty list" : NamedSecrets.describe(value)) + fix);
        Set<String> models = new LinkedHashSet<>();
        for (JsonElement model : value.getAsJsonArray())
        {
            if (!model.isJsonPrimitive() || !model.getAsJsonPrimitive().isString() || model.getAsString().isBlank())
                throw new InvalidSettingsException(client + " has a \"models\" entry that is not a model name (" + NamedSecrets.describe(model) + ")" + fix);
            models.add(model.getAsString().strip());
        }
        return models;
    }
}
