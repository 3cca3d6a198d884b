package dev.cerebrasproxy;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

/**
 * Reads a setting that is a JSON object of name to secret ({@code CEREBRAS_API_KEYS},
 * {@code PROXY_CLIENT_TOKENS}) with the same rules and one-line errors for both. An error
 * names the setting and the entry, never a value: the input is full of secrets.
 */
final class NamedSecrets
{
    private NamedSecrets()
    {
    }

    /**
     * @param setting the setting's name, for messages
     * @param noun what a value is ("key", "token"), for messages
     * @param example the expected form, appended to messages about the whole value
     * @param whenEmpty what to say when the object has no entry
     * @return name to stripped secret, in the order given
     */
    static Map<String, String> parse(String setting, String json, String noun, String example, String whenEmpty)
    {
        if (json == null || json.isBlank())
            throw new InvalidSettingsException(setting + " is not set." + example);
        JsonElement parsed;
        try
        {
            parsed = JsonParser.parseString(json);
        }
        catch (JsonParseException e)
        {
            // Gson's message can quote the input, and the input holds secrets: say only where.
            throw new InvalidSettingsException(setting + " is not valid JSON." + example);
        }
        if (!parsed.isJsonObject())
            throw new InvalidSettingsException(setting + " must be a JSON object, not " + describe(parsed) + "." + example);
        JsonObject object = parsed.getAsJsonObject();
        if (object.isEmpty())
            throw new InvalidSettingsException(setting + " is an empty object: " + whenEmpty + example);

        Map<String, String> secrets = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> entry : object.entrySet())
        {
            String name = entry.getKey();
            JsonElement value = entry.getValue();
            if (name.isBlank())
                throw new InvalidSettingsException(setting + " has a " + noun + " with a blank name: give every " + noun + " a name, e.g. \"" + noun + "1\".");
            if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString())
                throw new InvalidSettingsException(setting + " entry \"" + name + "\" must be a string, not " + describe(value) + ": put the " + noun + " in quotes.");
            String secret = value.getAsString().strip();
            if (secret.isEmpty())
                throw new InvalidSettingsException(setting + " entry \"" + name + "\" is blank: set it to the " + noun + "'s value or remove the entry.");
            secrets.put(name, secret);
        }
        return Collections.unmodifiableMap(secrets);
    }

    /** The name of the entry before {@code name} that holds the same secret, or null. */
    static String twinOf(Map<String, String> secrets, String name)
    {
        String secret = secrets.get(name);
        for (Map.Entry<String, String> entry : secrets.entrySet())
        {
            if (entry.getKey().equals(name))
                return null;
            if (entry.getValue().equals(secret))
                return entry.getKey();
        }
        return null;
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
}
