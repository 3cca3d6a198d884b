package dev.cerebrasproxy.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

/**
 * Reads a JSON object of name to secret (the keys of {@code CEREBRAS_API_KEYS}, the
 * client tokens of {@code PROXY_CLIENT_TOKENS}), from a setting or from the file a
 * setting names, with the same rules and one-line errors for both. An error names the
 * setting (and the file) and the entry, never a value: the input is full of secrets.
 */
final class NamedSecrets
{
    /**
     * What the secrets are, for the messages.
     *
     * @param noun what one value is ("key")
     * @param contents what the object maps ("name to key")
     * @param example the expected form, appended to messages about the whole value
     * @param whenEmpty what to say when the object has no entry
     * @param whenTwin what to say when two entries hold the same secret
     */
    record Kind(String noun, String contents, String example, String whenEmpty, String whenTwin)
    {
    }

    static final Kind KEYS = new Kind("key", "name to key",
        " Set it to a JSON object of name to key, e.g. {\"key1\":\"csk-...\",\"key2\":\"csk-...\"}.",
        "the pool needs at least one key.",
        "remove one, a key counts once against its rate limit.");
    static final Kind CLIENT_TOKENS = new Kind("token", "client name to token",
        " Set it to a JSON object of client name to token, e.g. {\"ci\":\"a-long-random-token\",\"alice\":\"another-one\"}.",
        "give at least one client a token, or unset it to leave the proxy open.",
        "give each client its own, so requests are told apart.");

    /** Reads the secret of one entry, or throws an {@link InvalidSettingsException} that names the entry and never a value. */
    @FunctionalInterface
    interface SecretOf
    {
        String read(String origin, String name, JsonElement value);
    }

    /** The plain form: the entry's value is the secret (a {@code noun}), as a string. */
    static SecretOf string(String noun)
    {
        return (origin, name, value) ->
        {
            if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString())
                throw new InvalidSettingsException(origin + " entry \"" + name + "\" must be a string, not " + describe(value) + ": put the " + noun + " in quotes.");
            return value.getAsString();
        };
    }

    private NamedSecrets()
    {
    }

    /**
     * Reads the file {@code setting} names; the messages call it "{@code setting} {@code file}".
     *
     * @return name to stripped secret, in the order given
     */
    static Map<String, String> readFile(String setting, Path file, Kind kind)
    {
        return readFile(setting, file, kind, string(kind.noun()));
    }

    /** {@link #readFile(String, Path, Kind)} with entries read by {@code secretOf}. */
    static Map<String, String> readFile(String setting, Path file, Kind kind, SecretOf secretOf)
    {
        String origin = setting + " " + file;
        String json;
        try
        {
            json = Files.readString(file, StandardCharsets.UTF_8);
        }
        catch (IOException | UncheckedIOException e)
        {
            throw new InvalidSettingsException(origin + " cannot be read (" + e.getClass().getSimpleName()
                + "): make it a readable file holding a JSON object of " + kind.contents() + ", or unset " + setting + ".");
        }
        if (json.isBlank())
            throw new InvalidSettingsException(origin + " is empty." + kind.example());
        return parse(origin, json, kind, secretOf);
    }

    /**
     * @param origin the setting (or setting and file) the JSON came from, as the messages name it
     * @return name to stripped secret, in the order given, no secret twice
     */
    static Map<String, String> parse(String origin, String json, Kind kind)
    {
        return parse(origin, json, kind, string(kind.noun()));
    }

    /** {@link #parse(String, String, Kind)} with each entry's secret read by {@code secretOf}. */
    static Map<String, String> parse(String origin, String json, Kind kind, SecretOf secretOf)
    {
        if (json == null || json.isBlank())
            throw new InvalidSettingsException(origin + " is not set." + kind.example());
        JsonElement parsed;
        try
        {
            parsed = JsonParser.parseString(json);
        }
        catch (JsonParseException e)
        {
            // Gson's message can quote the input, and the input holds secrets: say only where.
            throw new InvalidSettingsException(origin + " is not valid JSON." + kind.example());
        }
        if (!parsed.isJsonObject())
            throw new InvalidSettingsException(origin + " must be a JSON object, not " + describe(parsed) + "." + kind.example());
        JsonObject object = parsed.getAsJsonObject();
        if (object.isEmpty())
            throw new InvalidSettingsException(origin + " is an empty object: " + kind.whenEmpty() + kind.example());

        String noun = kind.noun();
        Map<String, String> secrets = new LinkedHashMap<>();
        Map<String, String> nameBySecret = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> entry : object.entrySet())
        {
            String name = entry.getKey();
            JsonElement value = entry.getValue();
            if (name.isBlank())
                throw new InvalidSettingsException(origin + " has a " + noun + " with a blank name: give every " + noun + " a name, e.g. \"" + noun + "1\".");
            String secret = secretOf.read(origin, name, value).strip();
            if (secret.isEmpty())
                throw new InvalidSettingsException(origin + " entry \"" + name + "\" is blank: set it to the " + noun + "'s value or remove the entry.");
            String twin = nameBySecret.putIfAbsent(secret, name);
            if (twin != null)
                throw new InvalidSettingsException(origin + " entries \"" + twin + "\" and \"" + name + "\" hold the same " + noun + ": " + kind.whenTwin());
            secrets.put(name, secret);
        }
        return Collections.unmodifiableMap(secrets);
    }

    static String describe(JsonElement element)
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
