package dev.cerebrasproxy.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.cerebrasproxy.pool.ApiKey;

/**
 * The entries of {@code CEREBRAS_API_KEYS} (and its file): per key either the bare key,
 * {@code "k1":"csk-..."}, or an object that also names the organization it belongs to,
 * {@code "k1":{"key":"csk-...","organization":"org-a"}}; both forms in one object. Cerebras
 * limits per organization, so keys of one organization share one budget; a key that names
 * none is its own organization (named as the key).
 */
final class KeyEntries
{
    private static final String FORM = " An entry is a key in quotes, or {\"key\":\"...\",\"organization\":\"...\"}.";

    private final Map<String, String> organizations = new LinkedHashMap<>();

    private KeyEntries()
    {
    }

    static List<ApiKey> parse(String origin, String json)
    {
        KeyEntries entries = new KeyEntries();
        return entries.keysOf(NamedSecrets.parse(origin, json, NamedSecrets.KEYS, entries::read));
    }

    static List<ApiKey> readFile(String setting, Path file)
    {
        KeyEntries entries = new KeyEntries();
        return entries.keysOf(NamedSecrets.readFile(setting, file, NamedSecrets.KEYS, entries::read));
    }

    private List<ApiKey> keysOf(Map<String, String> secrets)
    {
        List<ApiKey> keys = new ArrayList<>(secrets.size());
        secrets.forEach((name, secret) -> keys.add(new ApiKey(name, secret, organizations.getOrDefault(name, name))));
        return Collections.unmodifiableList(keys);
    }

    private String read(String origin, String name, JsonElement value)
    {
        if (!value.isJsonObject())
        {
            if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString())
                throw new InvalidSettingsException(origin + " entry \"" + name + "\" must be a string, not " + NamedSecrets.describe(value) + ": put the key in quotes." + FORM);
            return value.getAsString();
        }
        JsonObject object = value.getAsJsonObject();
        for (String field : object.keySet())
        {
            // A misplaced field name could be a key: only the known names are ever repeated.
            if (!field.equals("key") && !field.equals("organization"))
                throw new InvalidSettingsException(origin + " entry \"" + name + "\" has an unknown field (not shown, in case it is a secret): remove it." + FORM);
        }
        JsonElement key = object.get("key");
        if (key == null || !key.isJsonPrimitive() || !key.getAsJsonPrimitive().isString())
            throw new InvalidSettingsException(origin + " entry \"" + name + "\" needs \"key\" as a string" + (key == null ? "" : ", not " + NamedSecrets.describe(key)) + "." + FORM);
        JsonElement organization = object.get("organization");
        if (organization != null && !organization.isJsonNull())
        {
            if (!organization.isJsonPrimitive() || !organization.getAsJsonPrimitive().isString() || organization.getAsString().isBlank())
                throw new InvalidSettingsException(origin + " entry \"" + name + "\" has an organization that is not a non-blank string: name the organization the key belongs to, e.g. \"organization\":\"org-a\", or leave it out.");
            organizations.put(name, organization.getAsString().strip());
        }
        return key.getAsString();
    }
}
